//! Layered configuration: built-in defaults, then a TOML file, then
//! `CONFSYNC_<SECTION>__<KEY>` environment variables (later wins).
//!
//! Secrets are held in [`SecretString`] so that neither `Debug` nor
//! `config show` can print them.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use std::collections::BTreeMap;

use figment::value::Value;
use figment::Figment;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

mod check;
mod env;
pub mod tenants;

#[cfg(test)]
use env::is_string_key;
use env::RawEnv;

pub use crate::aliyun::AliyunSettings;
pub use crate::cloudroom::CloudRoomSettings;
pub use crate::setting::{parse_duration, ConfigProblem};
pub use check::missing_credentials;

use crate::archive::settings::ArchiveSettings;
use crate::companies::settings::{CompanySettings, PlatformSettings};
use crate::daemon::settings::{DaemonSettings, HealthSettings, HttpSettings};
use crate::directory::settings::DirectorySettings;
use crate::jobs::schedule::ScheduleSettings;
pub use crate::jobs::TenantSettings;
pub use crate::store::db::DatabaseSettings;

pub const DEFAULT_CONFIG_PATH: &str = "/etc/confsync/confsync.toml";
pub const ENV_PREFIX: &str = "CONFSYNC_";

/// Keys whose values must never be shown.
pub const SECRET_KEYS: &[&str] = &[
    "cloudroom.secret_key",
    "aliyun.access_key_secret",
    "platform.secret_key",
];

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
    pub daemon: DaemonSettings,
    pub platform: PlatformSettings,
    /// The company this (single) tenant is; a tenant's own is `[tenants.<name>.company]`.
    pub company: Option<CompanySettings>,
    /// A directory of `<tenant>.toml` files, each read as `[tenants.<tenant>]`.
    pub tenants_dir: Option<PathBuf>,
    /// `[tenants.<name>]` as written; [`Settings::tenants`] gives them resolved.
    #[serde(default, skip_serializing)]
    pub tenants: BTreeMap<String, Value>,
    #[serde(skip)]
    resolved: Vec<TenantSettings>,
    /// On SIGTERM/SIGINT the running job commits its page and the process
    /// exits within this many seconds.
    pub shutdown_timeout_seconds: u64,
}

pub use crate::telemetry::LoggingSettings;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database: DatabaseSettings::default(),
            cloudroom: CloudRoomSettings::default(),
            aliyun: AliyunSettings::default(),
            logging: LoggingSettings::default(),
            directory: DirectorySettings::default(),
            schedule: ScheduleSettings::default(),
            http: HttpSettings::default(),
            health: HealthSettings::default(),
            archive: ArchiveSettings::default(),
            daemon: DaemonSettings::default(),
            platform: PlatformSettings::default(),
            company: None,
            tenants_dir: None,
            tenants: BTreeMap::new(),
            resolved: Vec::new(),
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
    settings.resolved = tenants::resolve(&figment, credentials_dir.as_deref(), &mut problems);
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
    let with_env = |figment: Figment| {
        let figment = if sources.env.is_none() {
            figment.merge(Env::prefixed(ENV_PREFIX).split("__").ignore(&["config"]))
        } else {
            figment
        };
        // Merged last so that string keys keep their exact text (see STRING_KEYS).
        figment.merge(RawEnv::new(sources.env_vars(), sources.env.is_some()))
    };
    // Tenant files override the main file and yield to the environment.
    let tenants_dir = with_env(figment.clone())
        .extract_inner::<Option<PathBuf>>("tenants_dir")
        .ok()
        .flatten();
    if let Some(dir) = tenants_dir {
        figment = tenants::merge_dir(figment, &dir).map_err(|p| ConfigError(vec![p]))?;
    }
    Ok(with_env(figment))
}

pub(super) fn source_of(figment: &Figment, key: &str) -> String {
    match figment.find_metadata(key) {
        Some(meta) => describe(meta),
        None => "built-in default".into(),
    }
}

/// Where a value came from, as a user can act on it: a file's path, or
/// the environment. A value from confsync's own defaults is "built-in
/// default", never the code location figment records for it.
fn describe(meta: &figment::Metadata) -> String {
    match &meta.source {
        Some(figment::Source::File(path)) => format!("{} {}", meta.name, path.display()),
        Some(figment::Source::Code(_)) => "built-in default".into(),
        Some(other) => format!("{} {other}", meta.name),
        None => meta.name.to_string(),
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
                .map(describe)
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

pub(super) fn resolve_secret_files(
    settings: &mut Settings,
    credentials_dir: Option<&Path>,
    figment: &Figment,
    problems: &mut Vec<ConfigProblem>,
) {
    let from_url = settings.database.take_password_from_url();
    let tls_files = settings.database.resolve_tls_files(credentials_dir);
    for message in [from_url, tls_files].into_iter().filter_map(Result::err) {
        problems.push(ConfigProblem {
            key: "database.url".into(),
            source: source_of(figment, "database.url"),
            message,
        });
    }
    let (db, cr, al, ar, pl) = (
        &mut settings.database,
        &mut settings.cloudroom,
        &mut settings.aliyun,
        &mut settings.archive,
        &mut settings.platform,
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
        (
            "platform.secret_key",
            &pl.secret_key_file,
            &mut pl.secret_key,
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

pub(super) fn validate(settings: &Settings, figment: &Figment, problems: &mut Vec<ConfigProblem>) {
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
    crate::jobs::schedule::validate(&settings.schedule, &mut problem);
    crate::daemon::settings::validate(&settings.http, &settings.health, &mut problem);
    settings
        .daemon
        .validate(settings.database.max_connections, &mut problem);
    settings.platform.validate(&mut problem);
    if settings.shutdown_timeout_seconds == 0 {
        problem("shutdown_timeout_seconds", "must be at least 1".into());
    }
}

fn validate_database(
    database: &crate::store::db::DatabaseSettings,
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
    let top =
        toml::to_string_pretty(settings).unwrap_or_else(|e| format!("# cannot render: {e}\n"));
    format!("{top}{}", tenants::show(settings))
}

#[cfg(test)]
mod tests;
