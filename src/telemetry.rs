//! Logging through `tracing`, to stderr so that stdout stays for command output.

use tracing_subscriber::EnvFilter;

use crate::configuration::LoggingSettings;

/// Installs the global subscriber once; later calls are no-ops (tests call it freely).
///
/// `RUST_LOG` wins over `logging.level`. Under journald (`JOURNAL_STREAM` set)
/// lines carry no timestamp, because the journal adds its own.
pub fn init(settings: &LoggingSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(quiet_scheduler(&settings.level)))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match (settings.format.as_str(), under_journald) {
        ("json", _) => builder.json().flatten_event(true).try_init(),
        (_, true) => builder.without_time().with_ansi(false).try_init(),
        _ => builder.try_init(),
    };
    // Already installed (tests, or a second init): keep the first.
    drop(result);
}

/// tokio-cron-scheduler logs every job it adds at info, and the daemon adds
/// one per tick; unless the level names it, it logs warnings only.
fn quiet_scheduler(level: &str) -> String {
    if level.contains("tokio_cron_scheduler") {
        level.to_string()
    } else {
        format!("{level},tokio_cron_scheduler=warn")
    }
}
