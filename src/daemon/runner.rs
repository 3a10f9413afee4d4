//! One runner per scheduled job: runs a tick unless the job is still
//! running, in this process (an in-process flag) or in another one sharing
//! the database (the job's advisory lock, taken by the job itself).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::jobs::DaemonJob;
use crate::configuration::Settings;
use crate::directory::{ApplyOptions, DirectoryError};
use crate::metrics::{self, Outcome};
use crate::mirror::{self, Claim, MirrorContext, RunOptions};
use crate::store::runs::{self, RunEnd, RunTotals};

/// What every runner shares.
pub struct RunContext {
    /// Its `cancel` token is the daemon's: a shutdown stops every job.
    pub mirror: MirrorContext,
    pub settings: Settings,
    /// Every run's task, so that a shutdown can wait for them.
    pub tasks: TaskTracker,
}

pub struct JobRunner {
    job: DaemonJob,
    running: AtomicBool,
    ctx: Arc<RunContext>,
}

/// Clears the running flag when a run ends, also if it panicked.
struct RunningFlag<'a>(&'a AtomicBool);

impl Drop for RunningFlag<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl JobRunner {
    pub fn new(job: DaemonJob, ctx: Arc<RunContext>) -> Arc<Self> {
        Arc::new(JobRunner {
            job,
            running: AtomicBool::new(false),
            ctx,
        })
    }

    pub fn job(&self) -> DaemonJob {
        self.job
    }

    /// Starts the run for `tick` in the background, unless the previous run
    /// of this job is still going (then the tick is skipped and logged).
    pub fn dispatch(self: &Arc<Self>, tick: DateTime<Utc>) -> bool {
        let job = self.job.name();
        if self.running.swap(true, Ordering::AcqRel) {
            tracing::warn!(tenant = self.ctx.mirror.tenant(), job, %tick, "tick skipped: the previous run of this job is still going");
            metrics::record_run(job, Outcome::Skipped, None);
            return false;
        }
        let runner = Arc::clone(self);
        self.ctx.tasks.spawn(async move {
            let _flag = RunningFlag(&runner.running);
            runner.run(tick).await;
        });
        true
    }

    /// A failed run is logged with its error chain; the schedule carries on.
    async fn run(&self, tick: DateTime<Utc>) {
        let ctx = &self.ctx;
        let result = match self.job.mirror_job() {
            Some(job) => run_mirror_job(&ctx.mirror, job, tick).await,
            None if self.job == DaemonJob::Reconcile => run_reconcile(&ctx.mirror, tick).await,
            None => run_directory(ctx, tick).await,
        };
        if let Err(e) = result {
            let job = self.job.name();
            metrics::record_run(job, Outcome::Failed, None);
            tracing::error!(tenant = ctx.mirror.tenant(), job, %tick, error = %format!("{e:#}"), "run failed");
        }
    }
}

/// The mirror job records itself (sync_runs, metrics, logs).
async fn run_mirror_job(
    ctx: &MirrorContext,
    job: mirror::Job,
    tick: DateTime<Utc>,
) -> anyhow::Result<()> {
    let claim = Claim {
        tick: Some(tick),
        wait_for_lock: false,
    };
    mirror::run_claimed(ctx, job, &RunOptions::default(), claim).await?;
    Ok(())
}

const RECONCILE: &str = "reconcile";

/// The mirror with `--full`, recorded as one `reconcile` row in
/// `confsync.sync_runs` (totals summed, errors joined) around the rows its
/// three passes record with `full_pass = true`. The passes wait for their
/// locks: the default schedules start conferences, history and recordings at
/// the same minute as the weekly reconcile.
async fn run_reconcile(ctx: &MirrorContext, tick: DateTime<Utc>) -> anyhow::Result<()> {
    let tenant = ctx.tenant();
    let Some(lock) = mirror::lock_job(&ctx.pool, tenant, RECONCILE, None).await? else {
        tracing::info!(
            tenant,
            job = RECONCILE,
            "skipped: another run holds the job lock"
        );
        metrics::record_run(RECONCILE, Outcome::Skipped, None);
        return Ok(());
    };
    let result = reconcile_locked(ctx, tick).await;
    mirror::release_job(lock, tenant, RECONCILE).await;
    result
}

async fn reconcile_locked(ctx: &MirrorContext, tick: DateTime<Utc>) -> anyhow::Result<()> {
    let tenant = ctx.tenant();
    let Some(run_id) = runs::start_for_tick(&ctx.pool, tenant, RECONCILE, true, Some(tick))
        .await
        .context("cannot record the run in confsync.sync_runs")?
    else {
        tracing::info!(tenant, job = RECONCILE, %tick, "skipped: another instance already ran this tick");
        metrics::record_run(RECONCILE, Outcome::Skipped, None);
        return Ok(());
    };
    let span = tracing::info_span!(
        "job_run",
        tenant,
        job = RECONCILE,
        run_id,
        full = true,
        rows = tracing::field::Empty
    );
    let started = Instant::now();
    let options = RunOptions {
        full: true,
        since: None,
    };
    let result = mirror::run_mirror(ctx, &options)
        .instrument(span.clone())
        .await;
    let (totals, error) = reconcile_totals(result);
    let end = match (&error, ctx.cancel.is_cancelled()) {
        (None, _) => RunEnd::Succeeded,
        (Some(_), true) => RunEnd::Abandoned,
        (Some(_), false) => RunEnd::Failed,
    };
    runs::finish_as(&ctx.pool, run_id, &totals, end, error.as_deref())
        .await
        .context("cannot record the end of the run in confsync.sync_runs")?;
    span.record("rows", totals.rows.inserted + totals.rows.updated);
    let outcome = match end {
        RunEnd::Succeeded => Outcome::Succeeded,
        RunEnd::Failed => Outcome::Failed,
        RunEnd::Abandoned => Outcome::Cancelled,
    };
    metrics::record_run(RECONCILE, outcome, Some(started.elapsed()));
    match &error {
        None => {
            tracing::info!(parent: &span, pages = totals.pages, api_calls = totals.api_calls, "run succeeded")
        }
        Some(e) => tracing::error!(parent: &span, error = %e, "run failed"),
    }
    Ok(())
}

/// Sums the passes; the error names every pass that failed, or says that
/// the mirror stopped before all three ran.
fn reconcile_totals(
    result: anyhow::Result<Vec<mirror::JobSummary>>,
) -> (RunTotals, Option<String>) {
    let mut totals = RunTotals::default();
    let summaries = match result {
        Ok(summaries) => summaries,
        Err(e) => return (totals, Some(format!("{e:#}"))),
    };
    let mut errors = Vec::new();
    for s in &summaries {
        totals.pages += s.pages;
        totals.api_calls += s.api_calls;
        totals.rows.inserted += s.rows_inserted;
        totals.rows.updated += s.rows_updated;
        totals.rows.unchanged += s.rows_unchanged;
        if let Some(e) = &s.error {
            errors.push(format!("{}: {e}", s.job));
        }
    }
    if summaries.len() < 3 && errors.is_empty() {
        errors.push("cancelled before every pass ran".into());
    }
    let error = (!errors.is_empty()).then(|| errors.join("; "));
    (totals, error)
}

/// Directory apply through `crate::directory::run_apply`, which takes the
/// `directory` lock and records its own `sync_runs` row (without the tick:
/// across daemons the lock keeps runs from overlapping, and a second run of
/// the same tick finds nothing left to change).
async fn run_directory(ctx: &RunContext, _tick: DateTime<Utc>) -> anyhow::Result<()> {
    const JOB: &str = crate::directory::JOB;
    let started = Instant::now();
    let summary = match crate::directory::run_apply(
        &ctx.settings,
        &ctx.mirror.pool,
        ApplyOptions::default(),
        ctx.mirror.cancel.clone(),
    )
    .await
    {
        Ok(summary) => summary,
        Err(e) if matches!(e.downcast_ref(), Some(DirectoryError::Busy(_))) => {
            tracing::info!(tenant = ctx.mirror.tenant(), job = JOB, "skipped: {e}");
            metrics::record_run(JOB, Outcome::Skipped, None);
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    for (section, outcomes) in &summary.outcomes {
        for (kind, n) in [
            ("created", outcomes.created),
            ("updated", outcomes.updated),
            ("deleted", outcomes.deleted),
            ("failed", outcomes.failed),
            ("staged", outcomes.staged),
        ] {
            metrics::record_rows_of_kind(section, kind, n as u64);
        }
    }
    let outcome = if summary.cancelled {
        Outcome::Cancelled
    } else if summary.failed() {
        Outcome::Failed
    } else {
        Outcome::Succeeded
    };
    metrics::record_run(JOB, outcome, Some(started.elapsed()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(job: &'static str, error: Option<&str>) -> mirror::JobSummary {
        mirror::JobSummary {
            job,
            tenant: "t".into(),
            run_id: 1,
            full: true,
            pages: 2,
            api_calls: 3,
            rows_inserted: 4,
            rows_updated: 5,
            rows_unchanged: 6,
            seconds: 0.1,
            peak_rss_kib: None,
            cancelled: false,
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn reconcile_sums_its_passes_and_names_failures() {
        let (totals, error) = reconcile_totals(Ok(vec![
            summary("conferences", None),
            summary("history", Some("boom")),
            summary("recordings", None),
        ]));
        assert_eq!(totals.pages, 6);
        assert_eq!(totals.rows.inserted, 12);
        assert_eq!(error.as_deref(), Some("history: boom"));
        let (_, error) = reconcile_totals(Ok(vec![summary("conferences", None)]));
        assert!(error.unwrap().contains("cancelled"));
    }
}
