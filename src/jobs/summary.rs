//! What a run reports when it ends: printed by the CLI, recorded in
//! `confsync.sync_runs`.

use std::sync::Arc;

use serde::Serialize;

use crate::store::sync_runs::RunEnd;

/// A job's own report beside the totals every run has (the sync-team way:
/// the CLI prints it, as text or JSON, without knowing the job).
pub trait JobReport: std::fmt::Display + std::fmt::Debug + Send + Sync {
    /// The report as JSON, for `--json`.
    fn to_json(&self) -> serde_json::Value;
    /// Whether some of the work failed and is retried next run (exit 3).
    fn partial(&self) -> bool {
        false
    }
    /// For callers that know the job (tests, the demo): the concrete report.
    fn as_any(&self) -> &dyn std::any::Any;
}

impl Serialize for dyn JobReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// The outcome of one job run: the totals every job has, and its report.
#[derive(Debug, Clone, Serialize)]
pub struct JobSummary {
    pub job: &'static str,
    pub tenant: String,
    pub run_id: i64,
    pub full: bool,
    pub pages: u64,
    /// HTTP requests this run sent (retries included), to either vendor.
    pub api_calls: u64,
    pub rows_inserted: u64,
    pub rows_updated: u64,
    pub rows_unchanged: u64,
    /// Records set aside in `confsync.quarantine` instead of stored.
    pub quarantined: u64,
    pub seconds: f64,
    /// The process's peak resident memory so far (Linux), for benchmarks.
    pub peak_rss_kib: Option<u64>,
    /// Stopped by a shutdown (recorded as `abandoned`); `error` says where.
    pub cancelled: bool,
    pub error: Option<String>,
    /// The error the job returned, for callers that tell its kinds apart
    /// (`error` is its text).
    #[serde(skip)]
    pub cause: Option<Arc<anyhow::Error>>,
    /// The job's own report (in `--json` too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Arc<dyn JobReport>>,
}

impl JobSummary {
    /// The report, as the concrete type of the job that made it.
    pub fn report_as<T: 'static>(&self) -> Option<&T> {
        self.report.as_ref()?.as_any().downcast_ref()
    }
}

impl JobSummary {
    pub fn end(&self) -> RunEnd {
        match (&self.error, self.cancelled) {
            (None, _) => RunEnd::Succeeded,
            (Some(_), true) => RunEnd::Abandoned,
            (Some(_), false) => RunEnd::Failed,
        }
    }
}

impl std::fmt::Display for JobSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{}: {} pages, {} API calls, {} inserted, {} updated, {} unchanged in {:.1} s",
            self.job,
            if self.full { " (full)" } else { "" },
            self.pages,
            self.api_calls,
            self.rows_inserted,
            self.rows_updated,
            self.rows_unchanged,
            self.seconds
        )?;
        if self.quarantined > 0 {
            write!(f, "; {} record(s) quarantined", self.quarantined)?;
        }
        match (&self.error, self.cancelled) {
            (Some(e), true) => write!(f, ": CANCELLED: {e}")?,
            (Some(e), false) => write!(f, ": FAILED: {e}")?,
            (None, _) => {}
        }
        Ok(())
    }
}

pub use crate::rss::{parse_vm_hwm, peak_rss_kib};
