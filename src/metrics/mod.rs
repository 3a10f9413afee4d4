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

/// What a write did, row by row: the store returns it, the rows metric
/// counts it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RowCounts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl std::ops::AddAssign for RowCounts {
    fn add_assign(&mut self, other: Self) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}

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
    directory_objects: IntCounterVec,
    staged_deletes: GaugeVec,
    api_calls: IntCounterVec,
    api_latency: HistogramVec,
    retries: IntCounterVec,
    limiter_wait: prometheus::CounterVec,
    rate_budget: GaugeVec,
    run_duration: HistogramVec,
    last_success: GaugeVec,
    archive: data::DataMetrics,
}

/// Creates a metric and registers it in `registry`.
mod data;

pub use data::{
    record_archive_backlog, record_archive_bytes, record_archive_failures, record_quarantined,
    record_skipped_tick,
};

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
        let (run_duration, api_latency) = histograms(&registry)?;
        let (directory_objects, staged_deletes) = directory_metrics(&registry)?;
        let archive = data::data_metrics(&registry)?;
        register_process_and_build(&registry)?;
        Ok(Metrics {
            runs: counter(
                "confsync_runs_total",
                "Job runs by job and outcome.",
                &["tenant", "confsync_job", "outcome"],
                )?,
            rows: counter(
                "confsync_rows_total",
                "Mirrored rows by table and kind: inserted, updated, unchanged.",
                &["tenant", "table", "kind"],
                )?,
            directory_objects,
            staged_deletes,
            api_calls: counter(
                "confsync_api_calls_total",
                "Vendor HTTP requests (every attempt) by vendor, endpoint, HTTP status and vendor code (documented codes, else other).",
                &["tenant", "vendor", "endpoint", "status", "code"],
                )?,
            api_latency,
            retries: counter(
                "confsync_api_retries_total",
                "Vendor requests retried after a transient failure.",
                &["tenant", "vendor", "endpoint"],
                )?,
            limiter_wait: seconds_counter(
                &registry,
                "confsync_rate_limiter_wait_seconds_total",
                "Time spent waiting for the client-side rate limiter.",
            )?,
            rate_budget: gauge(
                "confsync_rate_budget_requests_per_minute",
                "Request budgets that a 429 taught or changed, by vendor and endpoint.",
                &["tenant", "vendor", "endpoint"],
                )?,
            run_duration,
            last_success: gauge(
                "confsync_last_success_timestamp_seconds",
                "When each job last finished successfully (Unix time).",
                &["tenant", "confsync_job"],
                )?,

            archive,
            registry,
        })
    }
}

impl Metrics {
    /// Every family name confsync exports (with or without samples yet).
    fn family_names(&self) -> Vec<String> {
        use prometheus::core::Collector;
        let own: [&dyn Collector; 17] = [
            &self.runs,
            &self.rows,
            &self.directory_objects,
            &self.staged_deletes,
            &self.api_calls,
            &self.api_latency,
            &self.retries,
            &self.limiter_wait,
            &self.rate_budget,
            &self.run_duration,
            &self.last_success,
            &self.archive.stuck,
            &self.archive.bytes,
            &self.archive.failed,
            &self.archive.backlog,
            &self.archive.quarantined,
            &self.archive.ticks_skipped,
        ];
        let process = prometheus::process_collector::ProcessCollector::for_self();
        own.into_iter()
            .flat_map(|c| c.desc())
            .chain(process.desc())
            .map(|d| d.fq_name.clone())
            .chain([BUILD_INFO.to_string()])
            .collect()
    }
}

const BUILD_INFO: &str = "confsync_build_info";

/// The directory's objects by section and outcome, and the deletes staged.
fn directory_metrics(registry: &Registry) -> prometheus::Result<(IntCounterVec, GaugeVec)> {
    let objects = Opts::new(
        "confsync_directory_objects_total",
        "Directory objects by section (cloudroom_departments, cloudroom_users, aliyun_users) and outcome: created, updated, deleted, failed, staged.",
    );
    let staged = Opts::new(
        "confsync_directory_staged_deletes",
        "Deletes the last directory apply staged (above directory.max_deletes), by section.",
    );
    Ok((
        registered(
            registry,
            IntCounterVec::new(objects, &["tenant", "section", "outcome"]),
        )?,
        registered(registry, GaugeVec::new(staged, &["tenant", "section"]))?,
    ))
}

/// A run that has run far longer than its job usually does.
pub struct StuckRun<'a> {
    pub tenant: &'a str,
    pub job: &'a str,
    pub run_id: i64,
    pub running_seconds: f64,
}

/// The runs that are stuck now; the series of runs no longer stuck go.
pub fn record_stuck_runs<'a>(stuck: impl IntoIterator<Item = StuckRun<'a>>) {
    let Some(m) = metrics() else { return };
    m.archive.stuck.reset();
    for run in stuck {
        let id = run.run_id.to_string();
        m.archive
            .stuck
            .with_label_values(&[run.tenant, run.job, id.as_str()])
            .set(run.running_seconds);
    }
}

/// A counter of seconds (a float) by vendor.
fn seconds_counter(
    registry: &Registry,
    name: &str,
    help: &str,
) -> prometheus::Result<prometheus::CounterVec> {
    registered(
        registry,
        prometheus::CounterVec::new(Opts::new(name, help), &["tenant", "vendor"]),
    )
}

/// Run durations, from a one-page conference pass to a three-year history
/// backfill; request latencies, from a 5 ms local answer to the 30 s timeout.
fn histograms(registry: &Registry) -> prometheus::Result<(HistogramVec, HistogramVec)> {
    let runs = HistogramOpts::new("confsync_run_duration_seconds", "Duration of job runs.")
        .buckets(prometheus::exponential_buckets(0.5, 2.0, 14)?);
    let latency = HistogramOpts::new(
        "confsync_api_request_duration_seconds",
        "Vendor HTTP request latency (each attempt) by vendor and endpoint.",
    )
    .buckets(prometheus::exponential_buckets(0.005, 2.0, 14)?);
    Ok((
        registered(registry, HistogramVec::new(runs, &["confsync_job"]))?,
        registered(
            registry,
            HistogramVec::new(latency, &["vendor", "endpoint"]),
        )?,
    ))
}

/// The process collector (CPU, memory, file descriptors, threads) and
/// `confsync_build_info`, which never change after start.
fn register_process_and_build(registry: &Registry) -> prometheus::Result<()> {
    registry.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ))?;
    let build_info = registered(
        registry,
        GaugeVec::new(
            Opts::new(
                BUILD_INFO,
                "Always 1; the labels say which confsync is running.",
            ),
            &["version", "revision"],
        ),
    )?;
    build_info
        .with_label_values(&[env!("CARGO_PKG_VERSION"), env!("BUILD_GIT_REVISION")])
        .set(1.0);
    Ok(())
}

/// Every metric family confsync defines, for checks of dashboards and rules.
pub fn family_names() -> Vec<String> {
    metrics().map(Metrics::family_names).unwrap_or_default()
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

/// Creates every (tenant, job, outcome) series at zero, so that rates and
/// alerts work from the first scrape instead of from the first failure.
pub fn register_jobs(tenant: &str, jobs: &[&str]) {
    let Some(m) = metrics() else { return };
    for job in jobs {
        for outcome in Outcome::ALL {
            m.runs.with_label_values(&[tenant, *job, outcome.as_str()]);
        }
    }
}

/// One run of `job`; `duration` is `None` for runs that did not start. The
/// duration histogram has no tenant label: hundreds of tenants times its
/// buckets would be more series than it is worth.
pub fn record_run(tenant: &str, job: &str, outcome: Outcome, duration: Option<Duration>) {
    let Some(m) = metrics() else { return };
    m.runs
        .with_label_values(&[tenant, job, outcome.as_str()])
        .inc();
    if let Some(duration) = duration {
        m.run_duration
            .with_label_values(&[job])
            .observe(duration.as_secs_f64());
    }
    if outcome == Outcome::Succeeded {
        let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
        m.last_success.with_label_values(&[tenant, job]).set(now);
    }
}

/// When `job` last succeeded, as the database remembers it: the gauge
/// survives a restart instead of starting empty.
pub fn restore_last_success(tenant: &str, job: &str, at: chrono::DateTime<chrono::Utc>) {
    let Some(m) = metrics() else { return };
    let at = at.timestamp_millis() as f64 / 1000.0;
    m.last_success.with_label_values(&[tenant, job]).set(at);
}

/// Rows a job wrote (or found unchanged) in `table`.
pub fn record_rows(tenant: &str, table: &str, counts: RowCounts) {
    let Some(m) = metrics() else { return };
    for (kind, n) in [
        ("inserted", counts.inserted),
        ("updated", counts.updated),
        ("unchanged", counts.unchanged),
    ] {
        m.rows.with_label_values(&[tenant, table, kind]).inc_by(n);
    }
}

/// `n` directory objects of `section` that fared as `outcome`.
pub fn record_directory_objects(tenant: &str, section: &str, outcome: &str, n: u64) {
    let Some(m) = metrics() else { return };
    m.directory_objects
        .with_label_values(&[tenant, section, outcome])
        .inc_by(n);
}

/// The deletes of `section` that the last apply staged.
pub fn record_staged_deletes(tenant: &str, section: &str, n: u64) {
    let Some(m) = metrics() else { return };
    m.staged_deletes
        .with_label_values(&[tenant, section])
        .set(n as f64);
}

/// One HTTP exchange with a vendor. `status` is `None` when no answer came
/// (timeout, connection error); `code` is the vendor's code (`"0"` for
/// success), already bounded by the vendor module to its documented codes.
/// The latency histogram has no tenant label (see [`record_run`]).
pub fn record_api_call(call: ApiCall<'_>, status: Option<u16>, code: &str, latency: Duration) {
    let Some(m) = metrics() else { return };
    let status = status.map_or_else(|| "none".to_string(), |s| s.to_string());
    m.api_calls
        .with_label_values(&[
            call.tenant,
            call.vendor,
            call.endpoint,
            status.as_str(),
            code,
        ])
        .inc();
    m.api_latency
        .with_label_values(&[call.vendor, call.endpoint])
        .observe(latency.as_secs_f64());
}

/// Whose request to which endpoint, as the API metrics label it.
#[derive(Debug, Clone, Copy)]
pub struct ApiCall<'a> {
    pub tenant: &'a str,
    pub vendor: &'a str,
    pub endpoint: &'a str,
}

pub fn record_retry(call: ApiCall<'_>) {
    let Some(m) = metrics() else { return };
    m.retries
        .with_label_values(&[call.tenant, call.vendor, call.endpoint])
        .inc();
}

pub fn record_limiter_wait(tenant: &str, vendor: &str, waited: Duration) {
    let Some(m) = metrics() else { return };
    m.limiter_wait
        .with_label_values(&[tenant, vendor])
        .inc_by(waited.as_secs_f64());
}

/// A budget learned or changed after a 429.
pub fn record_rate_budget(call: ApiCall<'_>, per_minute: u32) {
    let Some(m) = metrics() else { return };
    m.rate_budget
        .with_label_values(&[call.tenant, call.vendor, call.endpoint])
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
