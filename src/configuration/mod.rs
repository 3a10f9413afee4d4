//! Layered configuration: built-in defaults, then a TOML file, then
//! `CONFSYNC_<SECTION>__<KEY>` environment variables (later wins).
//!
//! Secrets are held in [`SecretString`] so that neither `Debug` nor
//! `config show` can print them.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

mod check;

pub use crate::aliyun::AliyunSettings;
pub use crate::cloudroom::CloudRoomSettings;
pub use crate::setting::{parse_duration, ConfigProblem};
pub use check::missing_credentials;

use crate::archive::settings::ArchiveSettings;
use crate::daemon::settings::{HealthSettings, HttpSettings, ScheduleSettings};
pub use crate::db::DatabaseSettings;
use crate::directory::settings::DirectorySettings;

pub const DEFAULT_CONFIG_PATH: &str = "/etc/confsync/confsync.toml";
pub const ENV_PREFIX: &str = "CONFSYNC_";

/// Keys whose values are strings even when they look like numbers.
/// Figment parses environment values, so `CONFSYNC_CLOUDROOM__SECRET_ID=012345`
/// would otherwise become the integer 12345 and lose its leading zero.
const STRING_KEYS: &[&str] = &[
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
];

/// Tables whose every entry is a string (`directory.columns.employee_id = "0012"`).
const STRING_TABLES: &[&str] = &["directory.columns.", "archive.options."];

/// Whether the value at `key` is a string, whatever it looks like.
fn is_string_key(key: &str) -> bool {
    STRING_KEYS.contains(&key) || STRING_TABLES.iter().any(|table| key.starts_with(table))
}

/// Keys whose values must never be shown.
pub const SECRET_KEYS: &[&str] = &["cloudroom.secret_key", "aliyun.access_key_secret"];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub cloudroom: CloudRoomSettings,
    pub aliyun: AliyunSettings,
    pub logging: LoggingSettings,
    pub directory: DirectorySettings,
    pub schedule: ScheduleSettings,
    pub http: HttpSettings,
    pub health: HealthSettings,
    pub archive: ArchiveSettings,
    /// On SIGTERM/SIGINT the running job commits its page and the process
    /// exits within this many seconds.
    pub shutdown_timeout_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggingSettings {
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database: DatabaseSettings::default(),
            cloudroom: CloudRoomSettings::default(),
            aliyun: AliyunSettings::default(),
            logging: LoggingSettings {
                level: "info".into(),
                format: "text".into(),
            },
            directory: DirectorySettings::default(),
            schedule: ScheduleSettings::default(),
            http: HttpSettings::default(),
            health: HealthSettings::default(),
            archive: ArchiveSettings::default(),
            shutdown_timeout_seconds: 30,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError(pub Vec<ConfigProblem>);

/// Where configuration comes from; tests build one without touching the process environment.
#[derive(Debug, Clone, Default)]
pub struct ConfigSources {
    /// `--config PATH`; when absent, `CONFSYNC_CONFIG`, then the default path if it exists.
    pub file: Option<PathBuf>,
    /// Environment variables to read; `None` means the process environment.
    pub env: Option<Vec<(String, String)>>,
}

impl ConfigSources {
    pub fn from_process(file: Option<PathBuf>) -> Self {
        ConfigSources { file, env: None }
    }

    fn env_vars(&self) -> Vec<(String, String)> {
        match &self.env {
            Some(vars) => vars.clone(),
            None => std::env::vars().collect(),
        }
    }

    fn config_file(&self) -> Option<PathBuf> {
        if let Some(file) = &self.file {
            return Some(file.clone());
        }
        let from_env = self
            .env_vars()
            .into_iter()
            .find(|(k, _)| k == "CONFSYNC_CONFIG")
            .map(|(_, v)| PathBuf::from(v));
        from_env.or_else(|| {
            let default = PathBuf::from(DEFAULT_CONFIG_PATH);
            default.exists().then_some(default)
        })
    }
}

/// Loads and validates the configuration, collecting every problem at once.
pub fn load(sources: &ConfigSources) -> Result<(Settings, Figment), ConfigError> {
    let figment = figment(sources)?;
    let mut settings = check::extract_all(&figment)?;
    let credentials_dir = env_value(sources, "CREDENTIALS_DIRECTORY").map(PathBuf::from);
    let mut problems = Vec::new();
    resolve_secret_files(
        &mut settings,
        credentials_dir.as_deref(),
        &figment,
        &mut problems,
    );
    validate(&settings, &figment, &mut problems);
    if problems.is_empty() {
        Ok((settings, figment))
    } else {
        Err(ConfigError(problems))
    }
}

fn env_value(sources: &ConfigSources, name: &str) -> Option<String> {
    sources
        .env_vars()
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn figment(sources: &ConfigSources) -> Result<Figment, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(Settings::default()));
    if let Some(path) = sources.config_file() {
        if !path.exists() {
            return Err(ConfigError(vec![ConfigProblem {
                key: "--config".into(),
                source: "command line or CONFSYNC_CONFIG".into(),
                message: format!("configuration file {} does not exist", path.display()),
            }]));
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    if sources.env.is_none() {
        figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__").ignore(&["config"]));
    }
    // Merged last so that string keys keep their exact text (see STRING_KEYS).
    Ok(figment.merge(RawEnv::new(sources.env_vars(), sources.env.is_some())))
}

/// Environment variables as plain strings for [`is_string_key`]; when `all` is set
/// (tests), every variable is offered, numbers parsed like figment does.
struct RawEnv {
    values: Vec<(String, String)>,
    all: bool,
}

impl RawEnv {
    fn new(vars: Vec<(String, String)>, all: bool) -> Self {
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

fn source_of(figment: &Figment, key: &str) -> String {
    match figment.find_metadata(key) {
        Some(meta) => match &meta.source {
            Some(source) => format!("{} {}", meta.name, source),
            None => meta.name.to_string(),
        },
        None => "built-in default".into(),
    }
}

fn extract_problems(figment: &Figment, error: figment::Error) -> ConfigError {
    let problems = error
        .into_iter()
        .map(|e| {
            let key = if e.path.is_empty() {
                "(root)".to_string()
            } else {
                e.path.join(".")
            };
            let source = e
                .metadata
                .as_ref()
                .map(|m| match &m.source {
                    Some(s) => format!("{} {}", m.name, s),
                    None => m.name.to_string(),
                })
                .unwrap_or_else(|| source_of(figment, &key));
            ConfigProblem {
                key,
                source,
                message: e.kind.to_string(),
            }
        })
        .collect();
    ConfigError(problems)
}

fn resolve_secret_files(
    settings: &mut Settings,
    credentials_dir: Option<&Path>,
    figment: &Figment,
    problems: &mut Vec<ConfigProblem>,
) {
    if let Err(message) = settings.database.take_password_from_url() {
        problems.push(ConfigProblem {
            key: "database.url".into(),
            source: source_of(figment, "database.url"),
            message,
        });
    }
    let (db, cr, al, ar) = (
        &mut settings.database,
        &mut settings.cloudroom,
        &mut settings.aliyun,
        &mut settings.archive,
    );
    let secrets = [
        ("database.password", &db.password_file, &mut db.password),
        (
            "cloudroom.secret_key",
            &cr.secret_key_file,
            &mut cr.secret_key,
        ),
        (
            "aliyun.access_key_secret",
            &al.access_key_secret_file,
            &mut al.access_key_secret,
        ),
        (
            "archive.secret_access_key",
            &ar.secret_access_key_file,
            &mut ar.secret_access_key,
        ),
    ];
    for (key, file, target) in secrets {
        if let Some(path) = file {
            let file_key = format!("{key}_file");
            resolve_one(
                key,
                &file_key,
                path,
                target,
                credentials_dir,
                figment,
                problems,
            );
        }
    }
}

fn resolve_one(
    key: &str,
    file_key: &str,
    path: &Path,
    target: &mut Option<SecretString>,
    credentials_dir: Option<&Path>,
    figment: &Figment,
    problems: &mut Vec<ConfigProblem>,
) {
    if target.is_some() {
        problems.push(ConfigProblem {
            key: file_key.into(),
            source: source_of(figment, file_key),
            message: format!("set either {key} or {file_key}, not both"),
        });
        return;
    }
    // systemd's LoadCredential= puts credentials in $CREDENTIALS_DIRECTORY.
    let full = match credentials_dir {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path.to_path_buf(),
    };
    match std::fs::read_to_string(&full) {
        Ok(text) => {
            *target = Some(SecretString::from(
                text.trim_end_matches(['\r', '\n']).to_string(),
            ))
        }
        Err(e) => problems.push(ConfigProblem {
            key: file_key.into(),
            source: source_of(figment, file_key),
            message: format!("cannot read {}: {e}", full.display()),
        }),
    }
}

fn validate(settings: &Settings, figment: &Figment, problems: &mut Vec<ConfigProblem>) {
    let mut problem = |key: &str, message: String| {
        problems.push(ConfigProblem {
            key: key.into(),
            source: source_of(figment, key),
            message,
        })
    };
    validate_database(&settings.database, &mut problem);
    settings.cloudroom.validate(&mut problem);
    settings.aliyun.validate(&mut problem);
    settings.archive.validate(&mut problem);
    if !matches!(settings.logging.format.as_str(), "text" | "json") {
        problem(
            "logging.format",
            format!(
                "must be \"text\" or \"json\", not {:?}",
                settings.logging.format
            ),
        );
    }
    if tracing_subscriber::EnvFilter::try_new(&settings.logging.level).is_err() {
        problem(
            "logging.level",
            format!("not a log filter: {:?}", settings.logging.level),
        );
    }
    crate::directory::settings::validate(&settings.directory, &mut problem);
    // Only a configured directory push needs the group; a mirror-only setup does not.
    if settings.directory.source.is_some() && settings.directory.aliyun {
        for (key, value) in [
            ("aliyun.group_id", &settings.aliyun.group_id),
            ("aliyun.group_name", &settings.aliyun.group_name),
        ] {
            if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                problem(
                    key,
                    "required while directory.source is set and directory.aliyun is on (every CVC user belongs to that group); set it, or set directory.aliyun = false".into(),
                );
            }
        }
    }
    crate::daemon::settings::validate(
        &settings.schedule,
        &settings.http,
        &settings.health,
        &mut problem,
    );
    if settings.shutdown_timeout_seconds == 0 {
        problem("shutdown_timeout_seconds", "must be at least 1".into());
    }
}

fn validate_database(
    database: &crate::db::DatabaseSettings,
    problem: &mut dyn FnMut(&str, String),
) {
    match url::Url::parse(&database.url) {
        Err(e) => problem("database.url", format!("not a URL: {e}")),
        Ok(url) if !matches!(url.scheme(), "postgres" | "postgresql") => problem(
            "database.url",
            format!(
                "not a PostgreSQL URL: the scheme is {:?}, expected postgres://",
                url.scheme()
            ),
        ),
        Ok(_) => {}
    }
    if database.max_connections == 0 {
        problem("database.max_connections", "must be at least 1".into());
    }
}

/// The merged configuration as TOML with every secret shown as `[redacted]`.
pub fn show(settings: &Settings) -> String {
    toml::to_string_pretty(settings).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
}

#[cfg(test)]
mod tests;
