//! Environment variables: `CONFSYNC_<SECTION>__<KEY>`, with the keys whose
//! values are strings kept as the exact text.

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

use super::tenants::untenanted;
use super::ENV_PREFIX;

/// Keys whose values are strings even when they look like numbers.
/// Figment parses environment values, so `CONFSYNC_CLOUDROOM__SECRET_ID=012345`
/// would otherwise become the integer 12345 and lose its leading zero.
pub(super) const STRING_KEYS: &[&str] = &[
    "database.url",
    "database.password",
    "database.password_file",
    "cloudroom.base_url",
    "cloudroom.secret_id",
    "cloudroom.secret_key",
    "cloudroom.secret_key_file",
    "cloudroom.timezone",
    "cloudroom.tenant",
    "cloudroom.history_start",
    "cloudroom.history_lookback",
    "cloudroom.recordings_lookback",
    "aliyun.endpoint",
    "aliyun.region_id",
    "aliyun.access_key_id",
    "aliyun.access_key_secret",
    "aliyun.access_key_secret_file",
    "archive.location",
    "archive.access_key_id",
    "archive.secret_access_key",
    "archive.secret_access_key_file",
    "archive.delete_from_cloudroom_after",
    "aliyun.group_id",
    "aliyun.group_name",
    "aliyun.meetings_source",
    "aliyun.attendance_window",
    "logging.level",
    "logging.format",
    "directory.source",
    "directory.departments_source",
    "directory.default_role",
    "directory.employee_id_case",
    "directory.encoding",
    "directory.sheet",
    "schedule.timezone",
    "schedule.conferences",
    "schedule.history",
    "schedule.recordings",
    "schedule.details",
    "schedule.reconcile",
    "schedule.directory",
    "schedule.attendance",
    "schedule.archive",
    "http.listen",
    "tenants_dir",
    "platform.secret_id",
    "platform.secret_key",
    "platform.secret_key_file",
    "company.comp_guid",
    "company.comp_name",
    "company.admin",
    "company.admin_name",
    "company.admin_password_file",
];

/// Tables whose every entry is a string (`directory.columns.employee_id = "0012"`).
const STRING_TABLES: &[&str] = &["directory.columns.", "archive.options."];

/// Whether the value at `key` is a string, whatever it looks like.
pub(super) fn is_string_key(key: &str) -> bool {
    let key = untenanted(key);
    STRING_KEYS.contains(&key) || STRING_TABLES.iter().any(|table| key.starts_with(table))
}

/// Environment variables as plain strings for [`is_string_key`]; when `all` is set
/// (tests), every variable is offered, numbers parsed like figment does.
pub(super) struct RawEnv {
    values: Vec<(String, String)>,
    all: bool,
}

impl RawEnv {
    pub(super) fn new(vars: Vec<(String, String)>, all: bool) -> Self {
        let values = vars
            .into_iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(ENV_PREFIX)?;
                if rest == "CONFIG" {
                    return None;
                }
                Some((rest.to_ascii_lowercase().replace("__", "."), v))
            })
            .collect();
        RawEnv { values, all }
    }
}

impl Provider for RawEnv {
    fn metadata(&self) -> Metadata {
        Metadata::named("environment variable(s)")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut root = Dict::new();
        for (key, raw) in &self.values {
            let value = if is_string_key(key) {
                Value::from(raw.clone())
            } else if self.all {
                raw.parse::<Value>()
                    .unwrap_or_else(|_| Value::from(raw.clone()))
            } else {
                continue;
            };
            insert_path(&mut root, key, value);
        }
        Ok(Profile::Default.collect(root))
    }
}

fn insert_path(dict: &mut Dict, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            dict.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let entry = dict
                .entry(head.to_string())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}
