//! Logging through `tracing`, to stderr so that stdout stays for command output.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// `[logging]`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggingSettings {
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for LoggingSettings {
    fn default() -> Self {
        LoggingSettings {
            level: "info".into(),
            format: "text".into(),
        }
    }
}

/// Installs the global subscriber once; later calls are no-ops (tests call it freely).
///
/// `RUST_LOG` wins, then `level` (from `-v` / `-q`), then `logging.level`.
/// Colour only on a terminal and without `NO_COLOR`; under journald
/// (`JOURNAL_STREAM` set) lines carry no timestamp, because the journal adds
/// its own.
pub fn init(settings: &LoggingSettings, level: Option<&str>) {
    let level = level.unwrap_or(&settings.level);
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(with_quiet_dependencies(level)))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour_wanted())
        .with_writer(std::io::stderr);
    let result = match (settings.format.as_str(), under_journald) {
        ("json", _) => builder.json().flatten_event(true).try_init(),
        (_, true) => builder.without_time().with_ansi(false).try_init(),
        _ => builder.try_init(),
    };
    // Already installed (tests, or a second init): keep the first.
    drop(result);
}

/// <https://no-color.org>: any non-empty NO_COLOR turns colour off.
fn colour_wanted() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    std::io::stderr().is_terminal() && !no_color
}

/// Two dependencies log routine events at info, unless the level names
/// them: tokio-cron-scheduler every job the daemon adds (one per tick), and
/// sqlx every PostgreSQL notice, such as "relation _sqlx_migrations already
/// exists, skipping" on each start.
fn with_quiet_dependencies(level: &str) -> String {
    let mut filter = level.to_string();
    for (target, quiet) in [
        ("tokio_cron_scheduler", "tokio_cron_scheduler=warn"),
        ("sqlx::postgres::notice", "sqlx::postgres::notice=warn"),
    ] {
        if !level.contains(target) {
            filter.push(',');
            filter.push_str(quiet);
        }
    }
    filter
}
