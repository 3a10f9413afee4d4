//! Layered configuration: built-in defaults, then a TOML file, then
//! `CONFSYNC_<SECTION>__<KEY>` environment variables (later wins).
//!
//! Secrets are held in [`SecretString`] so that neither `Debug` nor
//! `config show` can print them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

mod check;

pub use check::missing_credentials;

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
    "aliyun.group_id",
    "aliyun.group_name",
    "logging.level",
    "logging.format",
    "directory.source",
    "directory.default_role",
    "schedule.timezone",
    "schedule.conferences",
    "schedule.history",
    "schedule.recordings",
    "schedule.reconcile",
    "schedule.directory",
    "http.listen",
];

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
    /// On SIGTERM/SIGINT the running job commits its page and the process
    /// exits within this many seconds.
    pub shutdown_timeout_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudRoomSettings {
    /// Several CloudRoom enterprises can share one database; each is a tenant.
    pub tenant: String,
    pub base_url: String,
    pub secret_id: Option<String>,
    #[serde(serialize_with = "crate::secret::redact_opt")]
    pub secret_key: Option<SecretString>,
    pub secret_key_file: Option<PathBuf>,
    /// Deprecated: the budget of the two list endpoints, which
    /// `rate_limits.conference_list` and `rate_limits.conference_history` now set.
    pub requests_per_minute: Option<u32>,
    /// Requests per minute by endpoint (`conference_list`, `video_list`, …;
    /// 0: no budget). Unlisted endpoints keep the document's limits: 300
    /// for the two list endpoints, none elsewhere until a 429 teaches one.
    pub rate_limits: BTreeMap<String, u32>,
    /// How long one call keeps retrying 429 answers before it fails.
    pub rate_limit_patience_seconds: u64,
    pub timeout_seconds: u64,
    pub max_retries: u32,
    pub timezone: String,
    /// Keep meeting passwords in `raw` (removed by default).
    pub keep_meeting_passwords: bool,
    /// First day the history backfill reads (`YYYY-MM-DD`); default three years ago.
    pub history_start: Option<String>,
    /// How far before the watermark an incremental history pass starts
    /// (meetings end and change after they start), e.g. `2d`, `36h`.
    pub history_lookback: String,
    /// Conferences that ended this recently get their recordings re-read
    /// (recordings appear late).
    pub recordings_lookback: String,
    /// Conferences whose recordings are read at the same time.
    pub recordings_concurrency: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliyunSettings {
    pub endpoint: String,
    pub region_id: String,
    pub access_key_id: Option<String>,
    #[serde(serialize_with = "crate::secret::redact_opt")]
    pub access_key_secret: Option<SecretString>,
    pub access_key_secret_file: Option<PathBuf>,
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    pub batch_size: usize,
    pub timeout_seconds: u64,
    pub max_retries: u32,
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
            cloudroom: CloudRoomSettings {
                tenant: "default".into(),
                base_url: "https://www.cloudroom.com/CLOUDROOM-SERVER".into(),
                secret_id: None,
                secret_key: None,
                secret_key_file: None,
                requests_per_minute: None,
                rate_limits: BTreeMap::new(),
                rate_limit_patience_seconds: 600,
                timeout_seconds: 30,
                max_retries: 5,
                timezone: "Asia/Shanghai".into(),
                keep_meeting_passwords: false,
                history_start: None,
                history_lookback: "2d".into(),
                recordings_lookback: "3d".into(),
                recordings_concurrency: 64,
            },
            aliyun: AliyunSettings {
                endpoint: "https://aliyuncvc.cn-hangzhou.aliyuncs.com".into(),
                region_id: "cn-hangzhou".into(),
                access_key_id: None,
                access_key_secret: None,
                access_key_secret_file: None,
                group_id: None,
                group_name: None,
                batch_size: 100,
                timeout_seconds: 30,
                max_retries: 5,
            },
            logging: LoggingSettings {
                level: "info".into(),
                format: "text".into(),
            },
            directory: DirectorySettings::default(),
            schedule: ScheduleSettings::default(),
            http: HttpSettings::default(),
            health: HealthSettings::default(),
            shutdown_timeout_seconds: 30,
        }
    }
}

/// One configuration problem, naming the key and where its value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub key: String,
    pub source: String,
    pub message: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} (from {})", self.key, self.message, self.source)
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

/// Environment variables as plain strings for [`STRING_KEYS`]; when `all` is set
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
            let value = if STRING_KEYS.contains(&key.as_str()) {
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
    let (db, cr, al) = (
        &mut settings.database,
        &mut settings.cloudroom,
        &mut settings.aliyun,
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
    if let Err(e) = url::Url::parse(&settings.database.url) {
        problem("database.url", format!("not a URL: {e}"));
    }
    if settings.database.max_connections == 0 {
        problem("database.max_connections", "must be at least 1".into());
    }
    let cr = &settings.cloudroom;
    check_http_url(&cr.base_url, "cloudroom.base_url", &mut problem);
    if let Err(bad) = cr.endpoint_budgets() {
        for (key, message) in bad {
            problem(&key, message);
        }
    }
    if cr.timeout_seconds == 0 {
        problem("cloudroom.timeout_seconds", "must be at least 1".into());
    }
    if cr.timezone.parse::<chrono_tz::Tz>().is_err() {
        problem(
            "cloudroom.timezone",
            format!(
                "unknown time zone {:?} (use an IANA name such as Asia/Shanghai)",
                cr.timezone
            ),
        );
    }
    if let Some(day) = &cr.history_start {
        if chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_err() {
            problem(
                "cloudroom.history_start",
                format!("not a date YYYY-MM-DD: {day:?}"),
            );
        }
    }
    for (key, value) in [
        ("cloudroom.history_lookback", &cr.history_lookback),
        ("cloudroom.recordings_lookback", &cr.recordings_lookback),
    ] {
        if let Err(e) = parse_duration(value) {
            problem(key, e);
        }
    }
    if cr.recordings_concurrency == 0 {
        problem(
            "cloudroom.recordings_concurrency",
            "must be at least 1".into(),
        );
    }
    if cr.tenant.trim().is_empty() {
        problem("cloudroom.tenant", "must not be empty".into());
    }
    let al = &settings.aliyun;
    check_http_url(&al.endpoint, "aliyun.endpoint", &mut problem);
    if al.batch_size == 0 || al.batch_size > 1000 {
        problem("aliyun.batch_size", "must be between 1 and 1000".into());
    }
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

fn check_http_url(value: &str, key: &str, problem: &mut impl FnMut(&str, String)) {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        Ok(u) => problem(
            key,
            format!("scheme must be http or https, not {}", u.scheme()),
        ),
        Err(e) => problem(key, format!("not a URL: {e}")),
    }
}

impl CloudRoomSettings {
    /// Credentials, or a problem naming the missing key.
    pub fn credentials(&self) -> Result<(String, SecretString), ConfigProblem> {
        let id = self.secret_id.clone().filter(|s| !s.is_empty());
        let key = self
            .secret_key
            .clone()
            .filter(|s| !s.expose_secret().is_empty());
        match (id, key) {
            (Some(id), Some(key)) => Ok((id, key)),
            (None, _) => Err(missing(
                "cloudroom.secret_id",
                "CONFSYNC_CLOUDROOM__SECRET_ID",
            )),
            (_, None) => Err(missing(
                "cloudroom.secret_key",
                "CONFSYNC_CLOUDROOM__SECRET_KEY or cloudroom.secret_key_file",
            )),
        }
    }
}

impl AliyunSettings {
    pub fn credentials(&self) -> Result<(String, SecretString), ConfigProblem> {
        let id = self.access_key_id.clone().filter(|s| !s.is_empty());
        let key = self
            .access_key_secret
            .clone()
            .filter(|s| !s.expose_secret().is_empty());
        match (id, key) {
            (Some(id), Some(key)) => Ok((id, key)),
            (None, _) => Err(missing(
                "aliyun.access_key_id",
                "CONFSYNC_ALIYUN__ACCESS_KEY_ID",
            )),
            (_, None) => Err(missing(
                "aliyun.access_key_secret",
                "CONFSYNC_ALIYUN__ACCESS_KEY_SECRET or aliyun.access_key_secret_file",
            )),
        }
    }
}

fn missing(key: &str, how: &str) -> ConfigProblem {
    ConfigProblem {
        key: key.into(),
        source: "not set".into(),
        message: format!("required; set it in the config file or with {how}"),
    }
}

/// Parses `90s`, `30m`, `36h`, `2d` (or plain seconds).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("not a duration: {text:?} (use e.g. 90s, 30m, 36h, 2d)"))?;
    let seconds = match unit.trim() {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use s, m, h or d)"
            ))
        }
    };
    Ok(std::time::Duration::from_secs(seconds))
}

impl CloudRoomSettings {
    /// Endpoint label → requests per minute, or each bad key with its problem.
    pub fn endpoint_budgets(&self) -> Result<BTreeMap<String, u32>, Vec<(String, String)>> {
        crate::cloudroom::budgets::resolve(self.requests_per_minute, &self.rate_limits)
    }

    pub fn history_lookback(&self) -> std::time::Duration {
        parse_duration(&self.history_lookback).unwrap_or(std::time::Duration::from_secs(2 * 86_400))
    }

    pub fn recordings_lookback(&self) -> std::time::Duration {
        parse_duration(&self.recordings_lookback)
            .unwrap_or(std::time::Duration::from_secs(3 * 86_400))
    }

    /// The first instant the history backfill reads.
    pub fn history_start_at(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> chrono::DateTime<chrono::Utc> {
        self.history_start
            .as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
            .unwrap_or_else(|| now - chrono::Duration::days(3 * 365))
    }
}

/// The merged configuration as TOML with every secret shown as `[redacted]`.
pub fn show(settings: &Settings) -> String {
    toml::to_string_pretty(settings).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_env(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let sources = ConfigSources {
            file: None,
            env: Some(
                vars.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
        };
        load(&sources).map(|(s, _)| s)
    }

    #[test]
    fn numeric_looking_secrets_stay_strings() {
        let s = load_env(&[
            ("CONFSYNC_CLOUDROOM__SECRET_ID", "012345"),
            ("CONFSYNC_CLOUDROOM__SECRET_KEY", "98765"),
            ("CONFSYNC_CLOUDROOM__REQUESTS_PER_MINUTE", "120"),
        ])
        .unwrap();
        assert_eq!(s.cloudroom.secret_id.as_deref(), Some("012345"));
        assert_eq!(s.cloudroom.secret_key.unwrap().expose_secret(), "98765");
        assert_eq!(s.cloudroom.requests_per_minute, Some(120));
    }

    #[test]
    fn every_problem_names_its_key_and_source() {
        let err = load_env(&[
            ("CONFSYNC_CLOUDROOM__TIMEZONE", "Mars/Olympus"),
            ("CONFSYNC_ALIYUN__BATCH_SIZE", "0"),
        ])
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("cloudroom.timezone"), "{text}");
        assert!(text.contains("aliyun.batch_size"), "{text}");
        assert!(text.contains("environment"), "{text}");
    }

    #[test]
    fn a_directory_push_to_aliyun_needs_the_group() {
        let err = load_env(&[("CONFSYNC_DIRECTORY__SOURCE", "/srv/hr.csv")]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("aliyun.group_id") && text.contains("aliyun.group_name"),
            "{text}"
        );
        assert!(load_env(&[
            ("CONFSYNC_DIRECTORY__SOURCE", "/srv/hr.csv"),
            ("CONFSYNC_DIRECTORY__ALIYUN", "false"),
        ])
        .is_ok());
    }

    #[test]
    fn show_redacts_secrets() {
        let s = load_env(&[("CONFSYNC_CLOUDROOM__SECRET_KEY", "hunter2-secret")]).unwrap();
        let shown = show(&s);
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("[redacted]"));
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn a_database_password_in_the_url_is_a_secret() {
        let url = "postgres://confsync:s3cr%40t-pw@db.example:5433/confsync";
        let s = load_env(&[("CONFSYNC_DATABASE__URL", url)]).unwrap();
        assert_eq!(
            s.database.url,
            "postgres://confsync@db.example:5433/confsync"
        );
        let password = s.database.password.as_ref().expect("moved to password");
        assert_eq!(password.expose_secret(), "s3cr@t-pw");
        let shown = show(&s);
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
        assert!(!format!("{s:?}").contains("s3cr"));
    }

    #[test]
    fn a_database_password_comes_from_a_file_or_the_url_not_both() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("db-password");
        std::fs::write(&file, "from-the-file\n").unwrap();
        let path = file.display().to_string();
        let s = load_env(&[("CONFSYNC_DATABASE__PASSWORD_FILE", path.as_str())]).unwrap();
        let password = s.database.password.as_ref().expect("read from the file");
        assert_eq!(password.expose_secret(), "from-the-file");
        let e = load_env(&[
            ("CONFSYNC_DATABASE__PASSWORD_FILE", path.as_str()),
            ("CONFSYNC_DATABASE__URL", "postgres://u:inline@h/d"),
        ])
        .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("database.url"), "{text}");
        assert!(!text.contains("inline"), "{text}");
    }
}
