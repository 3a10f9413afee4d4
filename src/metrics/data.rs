//! The archive's, the mirrored records' and the runs' watch metrics: bytes
//! archived, files failed, the backlog, records quarantined, ticks
//! skipped and stuck runs.

use prometheus::{IntCounterVec, Opts, Registry};

use super::{metrics, registered};

/// The archive's bytes, failed files and backlog; quarantined records.
pub(super) struct DataMetrics {
    pub(super) bytes: IntCounterVec,
    pub(super) failed: IntCounterVec,
    pub(super) backlog: prometheus::IntGaugeVec,
    pub(super) quarantined: IntCounterVec,
    pub(super) ticks_skipped: IntCounterVec,
    pub(super) stuck: prometheus::GaugeVec,
}

pub(super) fn data_metrics(registry: &Registry) -> prometheus::Result<DataMetrics> {
    let counter = |name: &str, help: &str, labels: &[&str]| {
        registered(registry, IntCounterVec::new(Opts::new(name, help), labels))
    };
    Ok(DataMetrics {
        bytes: counter(
            "confsync_archive_bytes_total",
            "Bytes of recordings archived.",
            &["tenant"],
        )?,
        failed: counter(
            "confsync_archive_files_failed_total",
            "Recording files that could not be archived (retried next run).",
            &["tenant"],
        )?,
        backlog: registered(
            registry,
            prometheus::IntGaugeVec::new(
                Opts::new(
                    "confsync_archive_backlog_files",
                    "Recordings waiting to be archived, as of the last archive run's start.",
                ),
                &["tenant"],
            ),
        )?,
        quarantined: counter(
            "confsync_records_quarantined_total",
            "Vendor records set aside in confsync.quarantine instead of stored, by endpoint.",
            &["tenant", "endpoint"],
        )?,
        ticks_skipped: counter(
            "confsync_ticks_skipped_total",
            "Ticks and runs that did not start, by reason: lock_held, tick_taken, still_running, waiting_for_slot.",
            &["reason"],
        )?,
        stuck: registered(
            registry,
            prometheus::GaugeVec::new(
                Opts::new(
                    "confsync_run_stuck_seconds",
                    "Seconds a stuck run has been running (see /healthz for the rule); no series when none is stuck.",
                ),
                &["tenant", "confsync_job", "run_id"],
            ),
        )?,
    })
}

/// One tick or run that did not start, for `reason`.
pub fn record_skipped_tick(reason: &str) {
    let Some(m) = metrics() else { return };
    m.archive.ticks_skipped.with_label_values(&[reason]).inc();
}

/// One archived file of `bytes`.
pub fn record_archive_bytes(tenant: &str, bytes: u64) {
    let Some(m) = metrics() else { return };
    m.archive.bytes.with_label_values(&[tenant]).inc_by(bytes);
}

pub fn record_archive_failures(tenant: &str, files: u64) {
    let Some(m) = metrics() else { return };
    m.archive.failed.with_label_values(&[tenant]).inc_by(files);
}

pub fn record_archive_backlog(tenant: &str, files: usize) {
    let Some(m) = metrics() else { return };
    m.archive
        .backlog
        .with_label_values(&[tenant])
        .set(i64::try_from(files).unwrap_or(i64::MAX));
}

/// Records set aside in `confsync.quarantine` by one write.
pub fn record_quarantined(tenant: &str, endpoint: &str, records: u64) {
    let Some(m) = metrics() else { return };
    m.archive
        .quarantined
        .with_label_values(&[tenant, endpoint])
        .inc_by(records);
}
