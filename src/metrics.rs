//! Process-wide metrics in the Prometheus text format, served by the
//! daemon's `/metrics`.
//!
//! Built on the `prometheus` crate (without its protobuf feature): it gets
//! the exposition format, label escaping and histogram buckets right, and
//! costs four small dependencies. Recording is a no-op cost when nobody
//! scrapes, so the CLI records too.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

use crate::store::RowCounts;

/// The content type of [`render`].
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How a scheduled or manual run ended, as the `outcome` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    /// Stopped by a shutdown before finishing.
    Cancelled,
    /// Not started: the same job was still running, here or on another instance.
    Skipped,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Succeeded,
        Outcome::Failed,
        Outcome::Cancelled,
        Outcome::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::Skipped => "skipped",
        }
    }
}

struct Metrics {
    registry: Registry,
    runs: IntCounterVec,
    rows: IntCounterVec,
    api_calls: IntCounterVec,
    retries: IntCounterVec,
    limiter_wait: prometheus::CounterVec,
    rate_budget: GaugeVec,
    run_duration: HistogramVec,
    last_success: GaugeVec,
}

/// Creates a metric and registers it in `registry`.
fn registered<M>(registry: &Registry, metric: prometheus::Result<M>) -> prometheus::Result<M>
where
    M: prometheus::core::Collector + Clone + 'static,
{
    let metric = metric?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

impl Metrics {
    fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            registered(&registry, IntCounterVec::new(Opts::new(name, help), labels))
        };
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            registered(&registry, GaugeVec::new(Opts::new(name, help), labels))
        };
        // From a one-page conference pass to a three-year history backfill.
        let buckets = prometheus::exponential_buckets(0.5, 2.0, 14)?;
        let histogram =
            HistogramOpts::new("confsync_run_duration_seconds", "Duration of job runs.");
        Ok(Metrics {
            runs: counter(
                "confsync_runs_total",
                "Job runs by job and outcome.",
                &["job", "outcome"],
                )?,
            rows: counter(
                "confsync_rows_total",
                "Rows by table and kind: inserted, updated, unchanged for the mirror; created, updated, deleted, failed, staged per directory section.",
                &["table", "kind"],
                )?,
            api_calls: counter(
                "confsync_api_calls_total",
                "Vendor HTTP requests (every attempt) by vendor, endpoint, HTTP status and vendor code.",
                &["vendor", "endpoint", "status", "code"],
                )?,
            retries: counter(
                "confsync_api_retries_total",
                "Vendor requests retried after a transient failure.",
                &["vendor", "endpoint"],
                )?,
            limiter_wait: registered(
                &registry,
                prometheus::CounterVec::new(
                    Opts::new(
                        "confsync_rate_limiter_wait_seconds_total",
                        "Time spent waiting for the client-side rate limiter.",
                    ),
                    &["vendor"],
                ),
                )?,
            rate_budget: gauge(
                "confsync_rate_budget_requests_per_minute",
                "Request budgets that a 429 taught or changed, by vendor and endpoint.",
                &["vendor", "endpoint"],
                )?,
            run_duration: registered(&registry, HistogramVec::new(histogram.buckets(buckets), &["job"]))?,
            last_success: gauge(
                "confsync_last_success_timestamp_seconds",
                "When each job last finished successfully (Unix time).",
                &["job"],
                )?,
            registry,
        })
    }
}

/// `None` only if the metric definitions were invalid, which a test catches;
/// recording then does nothing rather than failing a job.
fn metrics() -> Option<&'static Metrics> {
    static METRICS: OnceLock<Option<Metrics>> = OnceLock::new();
    METRICS
        .get_or_init(|| match Metrics::new() {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::error!(error = %e, "cannot define the metrics; /metrics will be empty");
                None
            }
        })
        .as_ref()
}

/// Creates every (job, outcome) series at zero, so that rates and alerts
/// work from the first scrape instead of from the first failure.
pub fn register_jobs(jobs: &[&str]) {
    let Some(m) = metrics() else { return };
    for job in jobs {
        for outcome in Outcome::ALL {
            m.runs.with_label_values(&[*job, outcome.as_str()]);
        }
    }
}

/// One run of `job`; `duration` is `None` for runs that did not start.
pub fn record_run(job: &str, outcome: Outcome, duration: Option<Duration>) {
    let Some(m) = metrics() else { return };
    m.runs.with_label_values(&[job, outcome.as_str()]).inc();
    if let Some(duration) = duration {
        m.run_duration
            .with_label_values(&[job])
            .observe(duration.as_secs_f64());
    }
    if outcome == Outcome::Succeeded {
        let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
        m.last_success.with_label_values(&[job]).set(now);
    }
}

/// Rows a job wrote (or found unchanged) in `table`.
pub fn record_rows(table: &str, counts: RowCounts) {
    for (kind, n) in [
        ("inserted", counts.inserted),
        ("updated", counts.updated),
        ("unchanged", counts.unchanged),
    ] {
        record_rows_of_kind(table, kind, n);
    }
}

/// `n` rows (or objects) of `table` that fared as `kind`.
pub fn record_rows_of_kind(table: &str, kind: &str, n: u64) {
    let Some(m) = metrics() else { return };
    m.rows.with_label_values(&[table, kind]).inc_by(n);
}

/// One HTTP exchange with a vendor. `status` is `None` when no answer came
/// (timeout, connection error); `code` is the vendor's code, `"0"` for success.
pub fn record_api_call(vendor: &str, endpoint: &str, status: Option<u16>, code: &str) {
    let Some(m) = metrics() else { return };
    let status = status.map_or_else(|| "none".to_string(), |s| s.to_string());
    m.api_calls
        .with_label_values(&[vendor, endpoint, status.as_str(), code])
        .inc();
}

pub fn record_retry(vendor: &str, endpoint: &str) {
    let Some(m) = metrics() else { return };
    m.retries.with_label_values(&[vendor, endpoint]).inc();
}

pub fn record_limiter_wait(vendor: &str, waited: Duration) {
    let Some(m) = metrics() else { return };
    m.limiter_wait
        .with_label_values(&[vendor])
        .inc_by(waited.as_secs_f64());
}

/// A budget learned or changed after a 429.
pub fn record_rate_budget(vendor: &str, endpoint: &str, per_minute: u32) {
    let Some(m) = metrics() else { return };
    m.rate_budget
        .with_label_values(&[vendor, endpoint])
        .set(f64::from(per_minute));
}

/// Everything recorded so far, in the Prometheus text format.
pub fn render() -> String {
    let Some(m) = metrics() else {
        return String::new();
    };
    let mut out = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&m.registry.gather(), &mut out) {
        tracing::warn!(error = %e, "cannot encode the metrics");
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_valid() {
        assert!(Metrics::new().is_ok());
    }
}
