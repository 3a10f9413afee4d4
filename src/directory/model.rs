//! The desired state: valid people, the department tree their paths make,
//! and exactly the fields each target receives (whose sha256 decides
//! whether a target gets a call at all).

use std::collections::{BTreeMap, HashSet};

use secrecy::SecretString;
use serde::Serialize;
use serde_json::{json, Value};

use super::validate::RowProblem;
use crate::aliyun::UserInfo;

/// Separates department path segments in the source: `研发中心 / 后端组`.
pub const PATH_SEPARATOR: &str = " / ";

/// CloudRoom's parentId of a top-level department and departmentId of the company root.
pub const CLOUDROOM_ROOT_ID: i64 = 1;

/// CloudRoom roleType 1 to 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin = 1,
    Scheduler = 2,
    User = 3,
    DeptAdmin = 4,
    Finance = 5,
}

impl Role {
    pub const NAMES: [&'static str; 5] = ["admin", "scheduler", "user", "dept_admin", "finance"];

    pub fn parse(text: &str) -> Option<Role> {
        match text.trim().to_ascii_lowercase().as_str() {
            "admin" => Some(Role::Admin),
            "scheduler" => Some(Role::Scheduler),
            "user" => Some(Role::User),
            "dept_admin" => Some(Role::DeptAdmin),
            "finance" => Some(Role::Finance),
            _ => None,
        }
    }

    pub fn role_type(self) -> i32 {
        self as i32
    }
}

/// One valid row of the HR export.
pub struct Person {
    pub line: u64,
    /// The person's id as confsync records it: the stored spelling when HR
    /// changed only its case or width (`keys::adopt_stored_ids`).
    pub employee_id: String,
    /// The id as tonight's export writes it, when it differs.
    pub hr_employee_id: Option<String>,
    pub account: String,
    pub name: String,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub tel: Option<String>,
    pub avatar_url: Option<String>,
    /// Department key; `None` is the company root.
    pub department: Option<String>,
    pub role: Role,
    pub active: bool,
    /// From the source; never stored, logged or printed.
    pub initial_password: Option<SecretString>,
}

impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Person")
            .field("line", &self.line)
            .field("employee_id", &self.employee_id)
            .field("account", &self.account)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// A department of the HR tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    /// HR `department_id` when the source gives one, else the path.
    pub key: String,
    pub name: String,
    pub parent_key: Option<String>,
    pub path: String,
    /// 0 for a top-level department.
    pub depth: usize,
}

impl Department {
    /// Exactly what CloudRoom receives, with the parent by HR key (its
    /// CloudRoom id is only known once it exists).
    pub fn cloudroom_fields(&self) -> Value {
        json!({ "name": self.name, "parent": self.parent_key })
    }
}

/// Everything the HR export says, after validation.
#[derive(Debug, Default)]
pub struct Desired {
    pub people: Vec<Person>,
    pub departments: BTreeMap<String, Department>,
    pub problems: Vec<RowProblem>,
    /// Employee ids of rows with problems: neither changed nor deleted.
    pub held: HashSet<String>,
    /// Account keys (`keys::account_key`) that rows with problems name: no
    /// account a row still names is ever deleted.
    pub held_accounts: HashSet<String>,
    /// Bad rows without a usable employee_id: nobody can be told apart from
    /// a leaver, so no user is deleted this run.
    pub unkeyed_problems: usize,
    pub rows_read: usize,
}

/// The Aliyun group every user belongs to (`aliyun.group_id`, `aliyun.group_name`).
#[derive(Debug, Clone)]
pub struct AliyunGroup {
    pub id: String,
    pub name: String,
}

impl Person {
    /// Exactly what CloudRoom receives (besides the password), the
    /// department by HR key: a department rename then changes no user.
    pub fn cloudroom_fields(&self) -> Value {
        json!({
            "account": self.account,
            "name": self.name,
            "mobile": self.mobile,
            "email": self.email,
            "department": self.department,
            "roleType": self.role.role_type(),
        })
    }

    /// The CVC user. userId is the employee_id, not the account: the HR key
    /// never changes, while accounts (logins, often e-mail addresses) get
    /// renamed, and a changed userId would make CVC a second user.
    pub fn aliyun_user(
        &self,
        group: &AliyunGroup,
        departments: &BTreeMap<String, Department>,
    ) -> UserInfo {
        let department = self.department.as_ref().and_then(|k| departments.get(k));
        UserInfo {
            user_id: self.employee_id.clone(),
            user_name: self.name.clone(),
            group_id: group.id.clone(),
            group_name: group.name.clone(),
            user_avatar_url: self.avatar_url.clone(),
            depart_id: department.map(|d| d.key.clone()),
            depart_name: department.map(|d| d.name.clone()),
            user_email: self.email.clone(),
            user_tel: self.tel.clone(),
            user_mobile: self.mobile.clone(),
        }
    }
}

/// The JSON a CVC user is hashed and stored as.
pub fn aliyun_fields(user: &UserInfo) -> Value {
    serde_json::to_value(user).unwrap_or(Value::Null)
}

/// sha256 over a target's fields.
pub fn hash(fields: &Value) -> Vec<u8> {
    crate::store::content_hash(fields)
}

/// The fields whose values differ, as `(field, old, new)` text.
pub fn field_diffs(old: Option<&Value>, new: &Value) -> Vec<(String, String, String)> {
    let (Some(Value::Object(old)), Value::Object(new)) = (old, new) else {
        return Vec::new();
    };
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let before = old.get(k).unwrap_or(&Value::Null);
            let after = new.get(k).unwrap_or(&Value::Null);
            (before != after).then(|| (k.clone(), show(before), show(after)))
        })
        .collect()
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "(none)".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
