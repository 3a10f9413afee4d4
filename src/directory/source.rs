//! Reading the HR export: a CSV file, a JSON Lines file, or a `postgres:`
//! query. Readers only turn the source into rows of optional text per field;
//! [`super::validate`] decides what a row means.
//!
//! Anything that stops a source from being read whole (an unreadable file,
//! bytes that are not UTF-8, a record with the wrong number of fields, a
//! broken JSON line, a failing query) is a [`SourceError`]: the run aborts
//! before any change, because a half-read directory looks like mass leaving.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use sqlx::PgPool;

/// The fields of a person, as named in the source (unless remapped by `directory.columns`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    EmployeeId,
    Account,
    Name,
    Email,
    Mobile,
    Tel,
    AvatarUrl,
    Department,
    DepartmentId,
    Role,
    Status,
    InitialPassword,
}

impl Field {
    pub const ALL: [Field; 12] = [
        Field::EmployeeId,
        Field::Account,
        Field::Name,
        Field::Email,
        Field::Mobile,
        Field::Tel,
        Field::AvatarUrl,
        Field::Department,
        Field::DepartmentId,
        Field::Role,
        Field::Status,
        Field::InitialPassword,
    ];
    pub const NAMES: [&'static str; 12] = [
        "employee_id",
        "account",
        "name",
        "email",
        "mobile",
        "tel",
        "avatar_url",
        "department",
        "department_id",
        "role",
        "status",
        "initial_password",
    ];
    /// Without these a row means nothing, so a source lacking one is unreadable.
    pub const REQUIRED: [Field; 3] = [Field::EmployeeId, Field::Account, Field::Name];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn parse(name: &str) -> Option<Field> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Self::ALL[i])
    }
}

/// One record of the source: its line (CSV, JSON Lines) or row number
/// (query), and each field's trimmed text, `None` when empty or absent.
#[derive(Clone, Default)]
pub struct RawRow {
    pub line: u64,
    values: [Option<String>; 12],
}

impl RawRow {
    pub fn new(line: u64) -> Self {
        RawRow {
            line,
            values: Default::default(),
        }
    }

    pub fn get(&self, field: Field) -> Option<&str> {
        self.values[field as usize].as_deref()
    }

    pub fn set(&mut self, field: Field, value: &str) {
        let value = value.trim();
        self.values[field as usize] = (!value.is_empty()).then(|| value.to_string());
    }

    fn take(&mut self, field: Field) -> Option<String> {
        self.values[field as usize].take()
    }

    /// The initial password, moved out so it is held in one place only.
    pub fn take_password(&mut self) -> Option<String> {
        self.take(Field::InitialPassword)
    }
}

/// Rows can carry an initial password: never print them whole.
impl std::fmt::Debug for RawRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRow")
            .field("line", &self.line)
            .field("employee_id", &self.get(Field::EmployeeId))
            .finish_non_exhaustive()
    }
}

/// Where `directory.source` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    Csv(PathBuf),
    JsonLines(PathBuf),
    Postgres(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(
        "directory.source is not set: point it at a CSV or JSON Lines file, or postgres:<query>"
    )]
    NotConfigured,
    #[error("directory.source: {0}")]
    BadSpec(String),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} line {line}: not UTF-8 text; re-export the file as UTF-8")]
    NotUtf8 { path: PathBuf, line: u64 },
    #[error("{path} is UTF-16 text (Excel's \"Unicode Text\"); save it as \"CSV UTF-8\" instead")]
    Utf16 { path: PathBuf },
    #[error("{path}: the header is separated by {separator:?}, not commas; export it as comma-separated CSV")]
    Separator { path: PathBuf, separator: char },
    #[error("{path}: {count} columns are headed {header:?} (field {field}); keep one")]
    DuplicateColumn {
        path: PathBuf,
        field: &'static str,
        header: String,
        count: usize,
    },
    #[error("{path} line {line}: the header row again; were two exports pasted together?")]
    RepeatedHeader { path: PathBuf, line: u64 },
    #[error(
        "{path}: no {field} column (looked for header {header:?}); map it in [directory.columns]"
    )]
    MissingColumn {
        path: PathBuf,
        field: &'static str,
        header: String,
    },
    #[error("{path} line {line}: {found} fields where the header has {expected}; the file is truncated or malformed")]
    FieldCount {
        path: PathBuf,
        line: u64,
        expected: usize,
        found: usize,
    },
    #[error("{path} line {line}: {message}")]
    Malformed {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("the directory.source query failed: {0}")]
    Query(#[source] crate::store::StoreError),
    #[error("the directory.source query: row {row}: {message}")]
    QueryRow { row: u64, message: String },
}

impl SourceSpec {
    pub fn parse(text: &str) -> Result<SourceSpec, SourceError> {
        let text = text.trim();
        if let Some(query) = text.strip_prefix("postgres:") {
            let query = query.trim().trim_end_matches(';').trim();
            if query.is_empty() {
                return Err(SourceError::BadSpec("postgres: needs a SQL query".into()));
            }
            return Ok(SourceSpec::Postgres(query.to_string()));
        }
        if text.is_empty() {
            return Err(SourceError::NotConfigured);
        }
        let path = PathBuf::from(text);
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        Ok(match extension.as_deref() {
            Some("jsonl" | "ndjson") => SourceSpec::JsonLines(path),
            _ => SourceSpec::Csv(path),
        })
    }
}

/// Header (or JSON key) for each field, after `directory.columns`.
pub fn header_names(columns: &BTreeMap<String, String>) -> Vec<(Field, String)> {
    Field::ALL
        .iter()
        .map(|&f| {
            let header = columns
                .get(f.name())
                .cloned()
                .unwrap_or_else(|| f.name().to_string());
            (f, header)
        })
        .collect()
}

/// Reads the whole source or fails.
pub async fn read(
    source: Option<&str>,
    columns: &BTreeMap<String, String>,
    pool: &PgPool,
) -> Result<Vec<RawRow>, SourceError> {
    let spec = SourceSpec::parse(source.ok_or(SourceError::NotConfigured)?)?;
    let headers = header_names(columns);
    match spec {
        SourceSpec::Postgres(query) => {
            let rows = crate::store::directory::source_rows(pool, &query)
                .await
                .map_err(SourceError::Query)?;
            rows.into_iter()
                .enumerate()
                .map(|(i, value)| {
                    let row = i as u64 + 1;
                    match value {
                        Value::Object(map) => object_row(row, &map, &headers)
                            .map_err(|message| SourceError::QueryRow { row, message }),
                        _ => Err(SourceError::QueryRow {
                            row,
                            message: "not a row".into(),
                        }),
                    }
                })
                .collect()
        }
        SourceSpec::Csv(path) => {
            tokio::task::spawn_blocking(move || read_file(&path, &headers, parse_csv))
                .await
                .map_err(|e| SourceError::BadSpec(format!("reader stopped: {e}")))?
        }
        SourceSpec::JsonLines(path) => {
            tokio::task::spawn_blocking(move || read_file(&path, &headers, parse_json_lines))
                .await
                .map_err(|e| SourceError::BadSpec(format!("reader stopped: {e}")))?
        }
    }
}

type Parser = fn(&Path, &[u8], &[(Field, String)]) -> Result<Vec<RawRow>, SourceError>;

fn read_file(
    path: &Path,
    headers: &[(Field, String)],
    parse: Parser,
) -> Result<Vec<RawRow>, SourceError> {
    let bytes = std::fs::read(path).map_err(|source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(SourceError::Utf16 {
            path: path.to_path_buf(),
        });
    }
    // Excel and many HR tools write a UTF-8 byte order mark.
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    parse(path, body, headers)
}

/// CSV with a header row; CRLF or LF line ends, RFC 4180 quoting.
pub fn parse_csv(
    path: &Path,
    body: &[u8],
    headers: &[(Field, String)],
) -> Result<Vec<RawRow>, SourceError> {
    // Nothing at all is an empty export (refused as such), not a file
    // without the employee_id column.
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(body);
    let csv_error = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        SourceError::Malformed {
            path: path.to_path_buf(),
            line,
            message: e.to_string(),
        }
    };
    let header_record = reader.byte_headers().map_err(csv_error)?.clone();
    let header_text: Vec<String> = header_record
        .iter()
        .map(|h| {
            std::str::from_utf8(h)
                .map(|s| s.trim().to_lowercase())
                .map_err(|_| SourceError::NotUtf8 {
                    path: path.to_path_buf(),
                    line: 1,
                })
        })
        .collect::<Result<_, _>>()?;
    let index = column_index(path, &header_text, headers)?;
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut lines = LineCounter::default();
    while reader.read_byte_record(&mut record).map_err(csv_error)? {
        let line = lines.line_at(body, record.position().map_or(0, |p| p.byte()));
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim_ascii().is_empty()) {
            continue;
        }
        if is_header(&record, &header_text) {
            return Err(SourceError::RepeatedHeader {
                path: path.to_path_buf(),
                line,
            });
        }
        if record.len() != header_record.len() {
            return Err(SourceError::FieldCount {
                path: path.to_path_buf(),
                line,
                expected: header_record.len(),
                found: record.len(),
            });
        }
        let mut row = RawRow::new(line);
        for &(field, column) in &index {
            let bytes = record.get(column).unwrap_or_default();
            let text = std::str::from_utf8(bytes).map_err(|_| SourceError::NotUtf8 {
                path: path.to_path_buf(),
                line,
            })?;
            row.set(field, text);
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Line numbers from byte offsets. The CSV reader's own line count lags:
/// it counts a record's terminator only when it reads the next record.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    newlines: u64,
}

impl LineCounter {
    /// The line of the record whose bytes start at `offset` (past any
    /// terminator left over from the previous record).
    fn line_at(&mut self, body: &[u8], offset: u64) -> u64 {
        let mut start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(body.len());
        while start < body.len() && matches!(body[start], b'\r' | b'\n') {
            start += 1;
        }
        let start = start.max(self.offset);
        self.newlines += body[self.offset..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.offset = start;
        self.newlines + 1
    }
}

fn is_header(record: &csv::ByteRecord, header_text: &[String]) -> bool {
    record.len() == header_text.len()
        && record.iter().zip(header_text).all(|(field, header)| {
            std::str::from_utf8(field).is_ok_and(|f| f.trim().to_lowercase() == *header)
        })
}

/// Column position of each field present; the required ones must be, and
/// no field may have two columns (which one would HR mean?).
fn column_index(
    path: &Path,
    header_text: &[String],
    headers: &[(Field, String)],
) -> Result<Vec<(Field, usize)>, SourceError> {
    let mut index = Vec::new();
    for (field, header) in headers {
        let wanted = header.trim().to_lowercase();
        let positions: Vec<usize> = (0..header_text.len())
            .filter(|&i| header_text[i] == wanted)
            .collect();
        match positions[..] {
            [i] => index.push((*field, i)),
            [] if Field::REQUIRED.contains(field) => {
                return Err(missing_column(path, header_text, *field, header))
            }
            [] => {}
            _ => {
                return Err(SourceError::DuplicateColumn {
                    path: path.to_path_buf(),
                    field: field.name(),
                    header: header.clone(),
                    count: positions.len(),
                })
            }
        }
    }
    let ignored: Vec<&str> = (0..header_text.len())
        .filter(|i| !index.iter().any(|(_, c)| c == i))
        .map(|i| header_text[i].as_str())
        .collect();
    if !ignored.is_empty() {
        // Exports carry extra columns (cost centre, hire date); a misspelt
        // field header also lands here, so say which ones were not read.
        tracing::warn!(columns = ?ignored, "directory source: columns that are no field are ignored");
    }
    Ok(index)
}

/// A one-column header holding `;` or tabs is a CSV written with another
/// separator: say so instead of "no employee_id column".
fn missing_column(path: &Path, header_text: &[String], field: Field, header: &str) -> SourceError {
    let separator = match header_text {
        [only] => [';', '\t', '|'].into_iter().find(|c| only.contains(*c)),
        _ => None,
    };
    match separator {
        Some(separator) => SourceError::Separator {
            path: path.to_path_buf(),
            separator,
        },
        None => SourceError::MissingColumn {
            path: path.to_path_buf(),
            field: field.name(),
            header: header.to_string(),
        },
    }
}

/// One JSON object per line; blank lines are skipped.
pub fn parse_json_lines(
    path: &Path,
    body: &[u8],
    headers: &[(Field, String)],
) -> Result<Vec<RawRow>, SourceError> {
    let mut rows = Vec::new();
    for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
        let line = i as u64 + 1;
        let text = std::str::from_utf8(raw).map_err(|_| SourceError::NotUtf8 {
            path: path.to_path_buf(),
            line,
        })?;
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let malformed = |message: String| SourceError::Malformed {
            path: path.to_path_buf(),
            line,
            message,
        };
        let map: Map<String, Value> =
            serde_json::from_str(text).map_err(|e| malformed(format!("not a JSON object: {e}")))?;
        rows.push(object_row(line, &map, headers).map_err(malformed)?);
    }
    Ok(rows)
}

/// A JSON object (a JSON Lines record or a query row) as a row.
fn object_row(
    line: u64,
    map: &Map<String, Value>,
    headers: &[(Field, String)],
) -> Result<RawRow, String> {
    let mut row = RawRow::new(line);
    for (field, key) in headers {
        match map.get(key.as_str()) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => row.set(*field, s),
            Some(Value::Number(n)) => row.set(*field, &n.to_string()),
            Some(Value::Bool(b)) => row.set(*field, &b.to_string()),
            Some(_) => {
                return Err(format!(
                    "{key}: expected text, found a JSON array or object"
                ))
            }
        }
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers() -> Vec<(Field, String)> {
        header_names(&BTreeMap::new())
    }

    #[test]
    fn csv_accepts_crlf_quotes_and_reports_lines() {
        let body = b"employee_id,account,name,department\r\nE1,a1,\"Zhang, San\",R / B\r\nE2,a2,\"two\nlines\",\r\nE3,a3,c,\r\n";
        let rows = parse_csv(Path::new("x.csv"), body, &headers()).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].get(Field::Name), Some("Zhang, San"));
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[2].line, 5);
        assert_eq!(rows[1].get(Field::Department), None);
    }

    #[test]
    fn csv_errors_name_the_line() {
        let e = parse_csv(
            Path::new("x.csv"),
            b"employee_id,account,name\nE1,a,b\nE2,\xff,c\n",
            &headers(),
        )
        .unwrap_err();
        assert!(matches!(e, SourceError::NotUtf8 { line: 3, .. }), "{e}");
        let e = parse_csv(
            Path::new("x.csv"),
            b"employee_id,account,name\nE1,a,b\nE2,a",
            &headers(),
        )
        .unwrap_err();
        assert!(matches!(e, SourceError::FieldCount { line: 3, .. }), "{e}");
        let e = parse_csv(Path::new("x.csv"), b"employee_id,name\nE1,b\n", &headers()).unwrap_err();
        assert!(e.to_string().contains("account"), "{e}");
    }

    #[test]
    fn csv_file_level_problems_are_named() {
        let parse = |body: &[u8]| parse_csv(Path::new("x.csv"), body, &headers());
        assert!(parse(b"").unwrap().is_empty());
        assert!(parse(b" \r\n").unwrap().is_empty());
        let e = parse(b"employee_id;account;name\nE1;a;b\n").unwrap_err();
        assert!(
            matches!(e, SourceError::Separator { separator: ';', .. }),
            "{e}"
        );
        let e = parse(b"employee_id,account,name,Email,email\nE1,a,b,c,d\n").unwrap_err();
        assert!(
            matches!(
                e,
                SourceError::DuplicateColumn {
                    field: "email",
                    count: 2,
                    ..
                }
            ),
            "{e}"
        );
        let e = parse(b"employee_id,account,name\nE1,a,b\nemployee_id,account,name\n").unwrap_err();
        assert!(
            matches!(e, SourceError::RepeatedHeader { line: 3, .. }),
            "{e}"
        );
        let rows = parse(b"employee_id,account,name,hire_date\nE1,a,b,2020-01-01\n").unwrap();
        assert_eq!(rows.len(), 1);
    }

    #[test]
    fn specs() {
        assert_eq!(
            SourceSpec::parse("postgres: select 1;").unwrap(),
            SourceSpec::Postgres("select 1".into())
        );
        assert!(matches!(
            SourceSpec::parse("a.jsonl").unwrap(),
            SourceSpec::JsonLines(_)
        ));
        assert!(matches!(
            SourceSpec::parse("a.csv").unwrap(),
            SourceSpec::Csv(_)
        ));
        assert!(SourceSpec::parse("postgres:").is_err());
    }
}
