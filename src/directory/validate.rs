//! Row validation: every bad row is reported with its line, field and
//! reason, and the good rows carry on. A bad row's person is held: neither
//! updated nor deleted, since the row cannot say what HR meant.

use std::collections::{BTreeMap, HashMap, HashSet};

use secrecy::SecretString;
use serde::Serialize;

use super::keys::{account_key, person_key, IdCase};
use super::model::{Department, Desired, Person, Role, PATH_SEPARATOR};
use super::source::{Field, RawRow};

/// CloudRoom refuses nicknames longer than this (code 22232, 昵称不能大于30个字符).
pub const MAX_NAME_CHARS: usize = 30;

/// CloudRoom sets no rule for account passwords; an HR-given initial
/// password shorter than this is guessable by anyone who knows the account.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// One problem of one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    pub line: u64,
    pub field: &'static str,
    pub reason: String,
    /// In a spreadsheet: the sheet, row and column (`line` is the row).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<String>,
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (line, field, reason) = (self.line, self.field, &self.reason);
        match &self.cell {
            Some(cell) => write!(f, "{cell}, field {field}: {reason}"),
            None => write!(f, "line {line}, field {field}: {reason}"),
        }
    }
}

/// Checks every row and builds the desired state from the good ones.
pub fn validate(rows: Vec<RawRow>, default_role: Role, case: IdCase) -> Desired {
    let mut desired = Desired {
        rows_read: rows.len(),
        ..Desired::default()
    };
    let mut seen = Seen {
        case,
        ..Seen::default()
    };
    let mut tree = Tree::default();
    for mut row in rows {
        let password = row.take_password();
        let mut problems = check_row(&row);
        check_password(&row, password.as_deref(), &mut problems);
        let parsed = parse_row(&row, default_role, &mut problems);
        // An id with an invisible character is not the id of anyone stored:
        // such a row counts as one without an id, which holds leaver deletes.
        let id = row
            .get(Field::EmployeeId)
            .filter(|id| invisible_char(id).is_none())
            .map(str::to_string);
        seen.check(&row, id.as_deref(), &mut problems);
        let department = match (problems.is_empty(), &parsed) {
            (true, Some(p)) => tree.place(
                &row,
                p.path.as_deref(),
                p.department_id.as_deref(),
                &mut problems,
            ),
            _ => None,
        };
        seen.remember(&row, id.as_deref());
        match (problems.is_empty(), parsed) {
            (true, Some(p)) => desired.people.push(person(&row, p, department, password)),
            _ => {
                match id {
                    Some(id) => {
                        desired.held.insert(id);
                    }
                    None => desired.unkeyed_problems += 1,
                }
                if let Some(account) = row.get(Field::Account) {
                    desired.held_accounts.insert(account_key(account));
                }
                desired.problems.extend(problems);
            }
        }
    }
    for person in &mut desired.people {
        if let Some(new) = person.department.as_ref().and_then(|k| tree.renamed.get(k)) {
            person.department = Some(new.clone());
        }
    }
    desired.departments = tree.departments;
    desired
}

/// The first line of each employee id and account, by their keys.
#[derive(Default)]
struct Seen {
    case: IdCase,
    ids: HashMap<String, u64>,
    accounts: HashMap<String, u64>,
}

impl Seen {
    /// A problem for an id or an account an earlier line already has.
    fn check(&self, row: &RawRow, id: Option<&str>, problems: &mut Vec<RowProblem>) {
        if let Some(first) = id.and_then(|id| self.ids.get(&person_key(id, self.case))) {
            let reason = format!("duplicate of line {first}");
            problems.push(problem(row, Field::EmployeeId, reason));
        }
        let account = row.get(Field::Account).map(account_key);
        if let Some(first) = account.and_then(|a| self.accounts.get(&a)) {
            let reason = format!("already used by line {first}");
            problems.push(problem(row, Field::Account, reason));
        }
    }

    fn remember(&mut self, row: &RawRow, id: Option<&str>) {
        if let Some(id) = id {
            self.ids
                .entry(person_key(id, self.case))
                .or_insert(row.line);
        }
        if let Some(account) = row.get(Field::Account) {
            self.accounts
                .entry(account_key(account))
                .or_insert(row.line);
        }
    }
}

fn problem(row: &RawRow, field: Field, reason: impl Into<String>) -> RowProblem {
    RowProblem {
        line: row.line,
        field: field.name(),
        reason: reason.into(),
        cell: row.cell(field),
    }
}

/// Field-by-field checks that need no other row.
fn check_row(row: &RawRow) -> Vec<RowProblem> {
    let mut problems = Vec::new();
    for &field in required_fields(row) {
        if row.get(field).is_none() {
            problems.push(problem(row, field, "missing (required)"));
        }
    }
    for field in Field::ALL {
        if let Some(c) = row.get(field).and_then(invisible_char) {
            problems.push(problem(
                row,
                field,
                format!("contains the invisible character U+{:04X}", u32::from(c)),
            ));
        }
    }
    for (field, check) in FORMATS {
        if let Some(reason) = row.get(field).and_then(check) {
            problems.push(problem(row, field, reason));
        }
    }
    problems
}

/// The format of single fields: a reason when the value is not acceptable.
type FormatCheck = fn(&str) -> Option<String>;

const FORMATS: [(Field, FormatCheck); 6] = [
    (Field::Account, |account| {
        let bad = account
            .chars()
            .any(|c| c.is_whitespace() || c == '/' || c.is_control());
        bad.then(|| format!("{account:?} contains a space, a slash or a control character"))
    }),
    (Field::Name, |name| {
        let chars = name.chars().count();
        (chars > MAX_NAME_CHARS)
            .then(|| format!("{chars} characters; CloudRoom accepts at most {MAX_NAME_CHARS}"))
    }),
    (Field::Email, |email| {
        (!is_email(email)).then(|| format!("{email:?} is not an e-mail address"))
    }),
    (Field::Mobile, |mobile| {
        (!is_phone(mobile, 6, 15)).then(|| {
            format!("{mobile:?} is not a mobile number (6 to 15 digits, optional leading +)")
        })
    }),
    (Field::Tel, |tel| {
        (!is_tel(tel)).then(|| format!("{tel:?} is not a telephone number"))
    }),
    (Field::AvatarUrl, |url| {
        let http = url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        (!http).then(|| format!("{url:?} is not an http(s) URL"))
    }),
];

/// A leaver is deleted by employee_id, from what confsync stored when it
/// pushed them: exports often blank a leaver's login, and holding the row
/// for it would keep the account alive.
fn required_fields(row: &RawRow) -> &'static [Field] {
    let leaver = row
        .get(Field::Status)
        .is_some_and(|s| s.eq_ignore_ascii_case("inactive"));
    if leaver {
        &[Field::EmployeeId]
    } else {
        &Field::REQUIRED
    }
}

/// Control characters (a quoted field's line break, a tab) and invisible
/// ones (zero-width space, a byte order mark from pasted exports) make a
/// value that looks like another and breaks keys and CloudRoom's display.
fn invisible_char(text: &str) -> Option<char> {
    text.chars().find(|&c| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
    })
}

/// The reasons never quote the password: problems are printed and logged.
fn check_password(row: &RawRow, password: Option<&str>, problems: &mut Vec<RowProblem>) {
    let Some(password) = password else {
        return;
    };
    if password.chars().count() < MIN_PASSWORD_CHARS {
        problems.push(problem(
            row,
            Field::InitialPassword,
            format!("shorter than {MIN_PASSWORD_CHARS} characters (value not shown)"),
        ));
    }
    if invisible_char(password).is_some() {
        problems.push(problem(
            row,
            Field::InitialPassword,
            "contains a control or invisible character (value not shown)",
        ));
    }
}

/// What a row means once its fields are known to be well-formed.
struct Parsed {
    role: Role,
    active: bool,
    path: Option<String>,
    department_id: Option<String>,
}

fn parse_row(row: &RawRow, default_role: Role, problems: &mut Vec<RowProblem>) -> Option<Parsed> {
    let role = match row.get(Field::Role) {
        None => Some(default_role),
        Some(text) => Role::parse(text).or_else(|| {
            problems.push(problem(
                row,
                Field::Role,
                format!(
                    "unknown role {text:?}; use one of {}",
                    Role::NAMES.join(", ")
                ),
            ));
            None
        }),
    };
    let active = match row
        .get(Field::Status)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("active") => Some(true),
        Some("inactive") => Some(false),
        Some(other) => {
            problems.push(problem(
                row,
                Field::Status,
                format!("unknown status {other:?}; use active or inactive"),
            ));
            None
        }
    };
    let path = match row.get(Field::Department) {
        None => None,
        Some(text) => {
            let segments: Vec<&str> = text.split(PATH_SEPARATOR.trim()).map(str::trim).collect();
            if segments.iter().any(|s| s.is_empty()) {
                problems.push(problem(
                    row,
                    Field::Department,
                    format!("{text:?} has an empty segment"),
                ));
            }
            Some(segments.join(PATH_SEPARATOR))
        }
    };
    let department_id = row.get(Field::DepartmentId).map(str::to_string);
    if department_id.is_some() && path.is_none() {
        problems.push(problem(
            row,
            Field::DepartmentId,
            "given without a department path",
        ));
    }
    Some(Parsed {
        role: role?,
        active: active?,
        path,
        department_id,
    })
}

fn person(
    row: &RawRow,
    parsed: Parsed,
    department: Option<String>,
    password: Option<String>,
) -> Person {
    let text = |f: Field| row.get(f).map(str::to_string);
    Person {
        line: row.line,
        employee_id: text(Field::EmployeeId).unwrap_or_default(),
        hr_employee_id: None,
        account: text(Field::Account).unwrap_or_default(),
        name: text(Field::Name).unwrap_or_default(),
        email: text(Field::Email),
        mobile: text(Field::Mobile).map(|m| m.replace([' ', '-'], "")),
        tel: text(Field::Tel),
        avatar_url: text(Field::AvatarUrl),
        department,
        role: parsed.role,
        active: parsed.active,
        initial_password: password.map(SecretString::from),
    }
}

/// The department tree, built as rows arrive, refusing rows that
/// contradict earlier ones about which id a path has.
#[derive(Default)]
struct Tree {
    departments: BTreeMap<String, Department>,
    /// Path -> (key, line that fixed it).
    key_of_path: HashMap<String, (String, u64)>,
    /// HR department_id -> (path, line that fixed it).
    path_of_id: HashMap<String, (String, u64)>,
    keys: HashSet<String>,
    /// Path keys replaced by an HR id after people were placed under them.
    renamed: HashMap<String, String>,
}

impl Tree {
    /// The row's department key, creating its path's departments.
    fn place(
        &mut self,
        row: &RawRow,
        path: Option<&str>,
        department_id: Option<&str>,
        problems: &mut Vec<RowProblem>,
    ) -> Option<String> {
        let path = path?;
        if let Some(id) = department_id {
            if let Some((other, line)) = self.path_of_id.get(id) {
                if other != path {
                    problems.push(problem(
                        row,
                        Field::DepartmentId,
                        format!("{id:?} is {other:?} on line {line}, not {path:?}"),
                    ));
                    return None;
                }
            }
        }
        if let Some((key, line)) = self.key_of_path.get(path) {
            match department_id {
                Some(id) if id != key && self.path_of_id.contains_key(key) => {
                    problems.push(problem(
                        row,
                        Field::DepartmentId,
                        format!("{path:?} has department_id {key:?} on line {line}"),
                    ));
                    return None;
                }
                Some(id) if id != key => {
                    // The path was first seen without an id: the id now names it.
                    self.rekey(path, id, row.line);
                }
                _ => {}
            }
        } else if let Some(id) = department_id {
            self.key_of_path
                .insert(path.to_string(), (id.to_string(), row.line));
            self.path_of_id
                .insert(id.to_string(), (path.to_string(), row.line));
        }
        self.add_path(path, row.line);
        self.key_of_path.get(path).map(|(k, _)| k.clone())
    }

    /// Adds `path` and its ancestors (each keyed by its path unless an id names it).
    fn add_path(&mut self, path: &str, line: u64) {
        let segments: Vec<&str> = path.split(PATH_SEPARATOR).collect();
        let mut parent_key: Option<String> = None;
        for depth in 0..segments.len() {
            let prefix = segments[..=depth].join(PATH_SEPARATOR);
            let key = self
                .key_of_path
                .entry(prefix.clone())
                .or_insert_with(|| (prefix.clone(), line))
                .0
                .clone();
            if self.keys.insert(key.clone()) {
                self.departments.insert(
                    key.clone(),
                    Department {
                        key: key.clone(),
                        name: segments[depth].to_string(),
                        parent_key: parent_key.clone(),
                        path: prefix,
                        depth,
                    },
                );
            }
            parent_key = Some(key);
        }
    }

    /// A path first keyed by itself gets the HR id a later row gives it.
    fn rekey(&mut self, path: &str, id: &str, line: u64) {
        let old = path.to_string();
        self.key_of_path.insert(old.clone(), (id.to_string(), line));
        self.path_of_id.insert(id.to_string(), (old.clone(), line));
        if let Some(mut dept) = self.departments.remove(&old) {
            self.keys.remove(&old);
            dept.key = id.to_string();
            self.keys.insert(id.to_string());
            self.departments.insert(id.to_string(), dept);
        }
        for dept in self.departments.values_mut() {
            if dept.parent_key.as_deref() == Some(old.as_str()) {
                dept.parent_key = Some(id.to_string());
            }
        }
        self.renamed.insert(old, id.to_string());
    }
}

/// A plain `local@domain.tld` address, as CloudRoom and CVC send mail to:
/// no display name (`Zhang <z@x.com>`), no `mailto:`, no empty dot-separated
/// parts. Non-ASCII letters are allowed (internationalised addresses).
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let local_ok = local.split('.').all(|part| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c))
    });
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

/// Digits with an optional leading `+`; spaces and dashes are ignored.
fn is_phone(text: &str, min: usize, max: usize) -> bool {
    let compact: String = text.chars().filter(|c| *c != ' ' && *c != '-').collect();
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    (min..=max).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit())
}

/// Desk phones carry area codes and extensions: `010-12345678-8001`, `(0755) 1234 5678`.
fn is_tel(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    (3..=20).contains(&digits)
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()#,".contains(c) || c == 'x' || c == 'X')
}

#[cfg(test)]
mod tests;
