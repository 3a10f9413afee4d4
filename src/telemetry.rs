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
        (_, true) if stderr_is_journal_stream() => {
            let format = tracing_subscriber::fmt::format()
                .without_time()
                .with_ansi(false);
            builder.event_format(Prioritized(format)).try_init()
        }
        (_, true) => builder.without_time().with_ansi(false).try_init(),
        _ => builder.try_init(),
    };
    // Already installed (tests, or a second init): keep the first.
    drop(result);
}

/// Whether stderr is the journal's stream: `JOURNAL_STREAM` holds its
/// `device:inode` (systemd.exec(5)), which a redirect would change.
fn stderr_is_journal_stream() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var("JOURNAL_STREAM").ok() else {
        return false;
    };
    let Ok(stderr) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    stream == format!("{}:{}", stderr.dev(), stderr.ino())
}

/// Each line starts with its sd-daemon(3) priority, `<3>` error to `<7>`
/// debug, which journald strips and keeps as the entry's priority, so that
/// `journalctl -p warning` finds the warnings.
struct Prioritized<F>(F);

impl<S, N, F> tracing_subscriber::fmt::FormatEvent<S, N> for Prioritized<F>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
    F: tracing_subscriber::fmt::FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let priority = match *event.metadata().level() {
            tracing::Level::ERROR => 3,
            tracing::Level::WARN => 4,
            tracing::Level::INFO => 6,
            _ => 7,
        };
        write!(writer, "<{priority}>")?;
        self.0.format_event(ctx, writer, event)
    }
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
