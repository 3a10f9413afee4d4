//! `[directory]` configuration.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::keys::{account_key, IdCase};
use super::model::Role;
use super::source::{Field, SourceSpec};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySettings {
    /// A CSV or JSON Lines file, or `postgres:` followed by a SQL query.
    pub source: Option<String>,
    /// How the source and departments files are encoded: `auto` (UTF-8,
    /// with or without a BOM, else GB18030; the log says which), `utf-8`
    /// or `gb18030`.
    pub encoding: super::source::Encoding,
    /// The sheet of an Excel source (`.xlsx`, `.xls`); the first when unset.
    pub sheet: Option<String>,
    /// The department tree as a CSV file with `id`, `parent_id` and `name`
    /// columns, so that every department has its HR id (see docs/directory.md).
    pub departments_source: Option<String>,
    /// A source with fewer valid rows aborts the run before any change.
    pub min_rows: usize,
    /// Deletes above this are staged, not executed, without --allow-mass-delete.
    /// Default: the larger of 10 and 5% of the directory.
    pub max_deletes: Option<usize>,
    /// Leavers are deleted this many days after they first appear inactive.
    pub delete_grace_days: u32,
    /// Role of people whose `role` is empty: admin, scheduler, user, dept_admin or finance.
    pub default_role: Option<String>,
    /// Field name -> header name in the source, for exports with other headers.
    pub columns: BTreeMap<String, String>,
    /// Push departments and users into CloudRoom.
    pub cloudroom: bool,
    /// Push users into Aliyun CVC (needs aliyun.group_id and aliyun.group_name).
    pub aliyun: bool,
    /// CloudRoom calls in flight at once; the shared per-secretId limiter
    /// still decides the pace.
    pub concurrency: usize,
    /// People `directory verify` reads back with GetUser.
    pub verify_sample: usize,
    /// How employee ids compare: `insensitive` (E10001 is e10001, the
    /// default) or `keep`. Both trim and apply Unicode NFKC.
    pub employee_id_case: IdCase,
    /// CloudRoom accounts confsync never updates or deletes, whatever the
    /// export says (the enterprise's admin account, service accounts).
    pub protected_accounts: Vec<String>,
}

impl Default for DirectorySettings {
    fn default() -> Self {
        DirectorySettings {
            source: None,
            encoding: super::source::Encoding::Auto,
            sheet: None,
            min_rows: 1,
            departments_source: None,
            max_deletes: None,
            delete_grace_days: 0,
            default_role: None,
            columns: BTreeMap::new(),
            cloudroom: true,
            aliyun: true,
            concurrency: 8,
            verify_sample: 50,
            employee_id_case: IdCase::Insensitive,
            protected_accounts: Vec::new(),
        }
    }
}

impl DirectorySettings {
    /// How the source and departments files are read.
    pub fn reading(&self) -> super::source::Reading {
        super::source::Reading {
            encoding: self.encoding,
            sheet: self.sheet.clone(),
        }
    }

    /// The role of people whose `role` is empty: CloudRoom's own default
    /// (meeting scheduler) unless configured.
    pub fn default_role(&self) -> Role {
        self.default_role
            .as_deref()
            .and_then(Role::parse)
            .unwrap_or(Role::Scheduler)
    }

    /// Whether confsync must leave this account alone.
    pub fn is_protected(&self, account: &str) -> bool {
        let key = account_key(account);
        self.protected_accounts
            .iter()
            .any(|p| account_key(p) == key)
    }

    /// Deletes allowed without --allow-mass-delete in a directory of
    /// `directory_size` people.
    pub fn max_deletes(&self, directory_size: usize) -> usize {
        self.max_deletes
            .unwrap_or_else(|| (directory_size / 20).max(10))
    }
}

/// Adds a problem for every bad `directory.*` value.
pub fn validate(settings: &DirectorySettings, problem: &mut dyn FnMut(&str, String)) {
    if let Some(source) = &settings.source {
        if let Err(e) = SourceSpec::parse(source) {
            problem("directory.source", e.to_string());
        }
    }
    if let Some(role) = &settings.default_role {
        if Role::parse(role).is_none() {
            problem(
                "directory.default_role",
                format!(
                    "unknown role {role:?}; use one of {}",
                    Role::NAMES.join(", ")
                ),
            );
        }
    }
    for (field, header) in &settings.columns {
        if Field::parse(field).is_none() {
            problem(
                "directory.columns",
                format!(
                    "unknown field {field:?} (mapped to header {header:?}); fields are {}",
                    Field::NAMES.join(", ")
                ),
            );
        }
        if header.trim().is_empty() {
            problem(
                "directory.columns",
                format!("field {field:?} maps to an empty header"),
            );
        }
    }
    if settings
        .protected_accounts
        .iter()
        .any(|a| a.trim().is_empty())
    {
        problem(
            "directory.protected_accounts",
            "an entry is empty; list CloudRoom accounts".into(),
        );
    }
    if settings.concurrency == 0 {
        problem("directory.concurrency", "must be at least 1".into());
    }
    if settings.delete_grace_days > 3650 {
        problem(
            "directory.delete_grace_days",
            "must be at most 3650 (ten years)".into(),
        );
    }
}
