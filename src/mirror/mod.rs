//! The CloudRoom mirror: one file per job, all writes through [`crate::store`].

pub mod conferences;
pub mod convert;
pub mod history;
pub mod paging;
pub mod progress;
pub mod recordings;

use std::time::Instant;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use indicatif::ProgressBar;
use serde::Serialize;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::cloudroom::{endpoint, CloudRoomClient};
use crate::configuration::{CloudRoomSettings, Settings};
use crate::metrics;
use crate::store::locks::JobLock;
use crate::store::runs::RunEnd;
use crate::store::{self, runs::RunTotals};

/// The mirror jobs, named as in `confsync.sync_runs.job`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Job {
    Conferences,
    History,
    Recordings,
}

impl Job {
    pub fn name(self) -> &'static str {
        match self {
            Job::Conferences => "conferences",
            Job::History => "history",
            Job::Recordings => "recordings",
        }
    }

    /// The table whose rows the job counts (the `table` label of the row metrics).
    pub fn table(self) -> &'static str {
        match self {
            Job::Conferences => "cloudroom.conferences",
            Job::History => "cloudroom.meeting_history",
            Job::Recordings => "cloudroom.recordings",
        }
    }
}

/// What every mirror job needs.
#[derive(Clone)]
pub struct MirrorContext {
    pub pool: PgPool,
    pub client: CloudRoomClient,
    pub settings: CloudRoomSettings,
    /// Stops the job between pages (the page in hand is committed first).
    pub cancel: CancellationToken,
    /// Hidden unless stderr is a terminal.
    pub progress: ProgressBar,
}

impl MirrorContext {
    /// Connects to the database (migrating it) and builds the client from `settings`.
    pub async fn connect(settings: &Settings, progress: ProgressBar) -> anyhow::Result<Self> {
        let client = CloudRoomClient::new(&settings.cloudroom)
            .context("cannot build the CloudRoom client")?;
        let pool = crate::db::connect_and_migrate(&settings.database).await?;
        Ok(MirrorContext {
            pool,
            client,
            settings: settings.cloudroom.clone(),
            cancel: CancellationToken::new(),
            progress,
        })
    }

    pub fn tenant(&self) -> &str {
        &self.settings.tenant
    }

    /// Starts the client's request budgets from what earlier runs learned,
    /// so that a daemon does not relearn a limit at every tick.
    pub async fn load_budgets(&self) -> anyhow::Result<()> {
        let budgets = self.client.budgets();
        let stored = store::rate_budgets::load(&self.pool, self.tenant(), VENDOR).await?;
        for (endpoint, limit) in stored {
            if let Some(label) = endpoint::ALL.iter().find(|label| **label == endpoint) {
                budgets.get(label).seed(limit);
                metrics::record_rate_budget(VENDOR, label, limit.per_minute);
            }
        }
        Ok(())
    }

    /// Keeps what this process has learned for the next run.
    pub async fn save_budgets(&self) -> anyhow::Result<()> {
        let learned = self.client.budgets().learned();
        store::rate_budgets::save(&self.pool, self.tenant(), VENDOR, &learned).await?;
        Ok(())
    }
}

/// The `vendor` column of `confsync.rate_budgets`.
const VENDOR: &str = "cloudroom";

/// Options of one run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Re-read everything and mark what disappeared (the weekly reconcile).
    pub full: bool,
    /// Start the history pass at this day instead of the watermark.
    pub since: Option<chrono::NaiveDate>,
}

/// The outcome of one job run, as printed and as recorded in `sync_runs`.
#[derive(Debug, Clone, Serialize)]
pub struct JobSummary {
    pub job: &'static str,
    pub tenant: String,
    pub run_id: i64,
    pub full: bool,
    pub pages: u64,
    pub api_calls: u64,
    pub rows_inserted: u64,
    pub rows_updated: u64,
    pub rows_unchanged: u64,
    pub seconds: f64,
    /// The process's peak resident memory so far (Linux), for benchmarks.
    pub peak_rss_kib: Option<u64>,
    /// Stopped by a shutdown (recorded as `abandoned`); `error` says where.
    pub cancelled: bool,
    pub error: Option<String>,
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
        match (&self.error, self.cancelled) {
            (Some(e), true) => write!(f, ": CANCELLED: {e}")?,
            (Some(e), false) => write!(f, ": FAILED: {e}")?,
            (None, _) => {}
        }
        Ok(())
    }
}

/// How a run claims its job before starting.
#[derive(Debug, Clone, Copy, Default)]
pub struct Claim {
    /// The scheduled tick this run is for: a tick that a run on another
    /// instance already claimed is not run again.
    pub tick: Option<DateTime<Utc>>,
    /// Wait for the job lock instead of skipping when another run holds it.
    pub wait_for_lock: bool,
}

/// What became of a claimed run.
#[derive(Debug)]
pub enum RunOutcome {
    Ran(JobSummary),
    /// Another run (this process or another) holds the job's lock.
    Busy,
    /// Another instance already ran this tick.
    TickTaken,
}

/// The job lock is held elsewhere: the run was skipped, which is not a failure.
#[derive(Debug, thiserror::Error)]
#[error("{job} is already running for tenant {tenant} (another run holds its lock); skipped")]
pub struct JobBusy {
    pub tenant: String,
    pub job: &'static str,
}

/// How often a run that waits for a job lock tries again.
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// Runs one job, recording it in `confsync.sync_runs` whatever the outcome.
/// A job whose lock another run holds is skipped with [`JobBusy`].
pub async fn run_job(
    ctx: &MirrorContext,
    job: Job,
    options: &RunOptions,
) -> anyhow::Result<JobSummary> {
    match run_claimed(ctx, job, options, Claim::default()).await? {
        RunOutcome::Ran(summary) => Ok(summary),
        RunOutcome::Busy | RunOutcome::TickTaken => Err(JobBusy {
            tenant: ctx.tenant().to_string(),
            job: job.name(),
        }
        .into()),
    }
}

/// Runs one job under its (tenant, job) advisory lock, so that the CLI and
/// any number of daemons sharing the database never run it twice at once.
pub async fn run_claimed(
    ctx: &MirrorContext,
    job: Job,
    options: &RunOptions,
    claim: Claim,
) -> anyhow::Result<RunOutcome> {
    let tenant = ctx.tenant();
    let wait = claim.wait_for_lock.then_some(&ctx.cancel);
    let Some(lock) = lock_job(&ctx.pool, tenant, job.name(), wait).await? else {
        tracing::info!(
            tenant,
            job = job.name(),
            "skipped: another run holds the job lock"
        );
        metrics::record_run(job.name(), metrics::Outcome::Skipped, None);
        return Ok(RunOutcome::Busy);
    };
    let outcome = run_locked(ctx, job, options, claim.tick).await;
    release_job(lock, tenant, job.name()).await;
    outcome
}

/// Takes the (tenant, job) lock; with `wait`, polls until it is free or the
/// token is cancelled. `None` means not taken.
pub async fn lock_job(
    pool: &PgPool,
    tenant: &str,
    job: &str,
    wait: Option<&CancellationToken>,
) -> anyhow::Result<Option<JobLock>> {
    loop {
        let lock = JobLock::try_acquire(pool, tenant, job)
            .await
            .context("cannot take the job lock")?;
        let Some(cancel) = wait else { return Ok(lock) };
        if lock.is_some() {
            return Ok(lock);
        }
        tokio::select! {
            _ = cancel.cancelled() => return Ok(None),
            _ = tokio::time::sleep(LOCK_POLL) => {}
        }
    }
}

/// Releases the lock; a failure is only logged, as closing the lock's
/// connection (which dropping it does) releases it anyway.
pub async fn release_job(lock: JobLock, tenant: &str, job: &str) {
    if let Err(e) = lock.release(tenant, job).await {
        tracing::warn!(tenant, job, error = %e, "cannot release the job lock; its connection is closed instead");
    }
}

async fn run_locked(
    ctx: &MirrorContext,
    job: Job,
    options: &RunOptions,
    tick: Option<DateTime<Utc>>,
) -> anyhow::Result<RunOutcome> {
    let tenant = ctx.tenant().to_string();
    let Some(run_id) =
        store::runs::start_for_tick(&ctx.pool, &tenant, job.name(), options.full, tick)
            .await
            .context("cannot record the run in confsync.sync_runs")?
    else {
        tracing::info!(tenant = %tenant, job = job.name(), ?tick, "skipped: another instance already ran this tick");
        metrics::record_run(job.name(), metrics::Outcome::Skipped, None);
        return Ok(RunOutcome::TickTaken);
    };
    let span = tracing::info_span!("job_run", tenant = %tenant, job = job.name(), run_id, full = options.full, rows = tracing::field::Empty);
    let started = Instant::now();
    let calls_before = ctx.client.stats().calls();
    let mut totals = RunTotals::default();
    let result = async {
        ctx.load_budgets().await?;
        match job {
            Job::Conferences => conferences::run(ctx, options, &mut totals).await,
            Job::History => history::run(ctx, options, &mut totals).await,
            Job::Recordings => recordings::run(ctx, options, &mut totals).await,
        }
    }
    .instrument(span.clone())
    .await;
    if let Err(e) = ctx.save_budgets().await {
        tracing::warn!(parent: &span, error = %format!("{e:#}"), "cannot keep the learned request budgets");
    }
    totals.api_calls = ctx.client.stats().calls() - calls_before;
    let error = result.as_ref().err().map(|e| format!("{e:#}"));
    // A run stopped by a shutdown did not fail: it resumes at the next run.
    let cancelled = error.is_some() && ctx.cancel.is_cancelled();
    let end = match (&error, cancelled) {
        (None, _) => RunEnd::Succeeded,
        (Some(_), true) => RunEnd::Abandoned,
        (Some(_), false) => RunEnd::Failed,
    };
    store::runs::finish_as(&ctx.pool, run_id, &totals, end, error.as_deref())
        .await
        .context("cannot record the end of the run in confsync.sync_runs")?;
    span.record("rows", totals.rows.inserted + totals.rows.updated);
    record_metrics(job, &totals, end, started);
    let summary = JobSummary {
        job: job.name(),
        tenant,
        run_id,
        full: options.full,
        pages: totals.pages,
        api_calls: totals.api_calls,
        rows_inserted: totals.rows.inserted,
        rows_updated: totals.rows.updated,
        rows_unchanged: totals.rows.unchanged,
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_kib: peak_rss_kib(),
        cancelled,
        error,
    };
    log_end(&span, &summary);
    Ok(RunOutcome::Ran(summary))
}

fn record_metrics(job: Job, totals: &RunTotals, end: RunEnd, started: Instant) {
    metrics::record_rows(job.table(), totals.rows);
    let outcome = match end {
        RunEnd::Succeeded => metrics::Outcome::Succeeded,
        RunEnd::Failed => metrics::Outcome::Failed,
        RunEnd::Abandoned => metrics::Outcome::Cancelled,
    };
    metrics::record_run(job.name(), outcome, Some(started.elapsed()));
}

fn log_end(span: &tracing::Span, summary: &JobSummary) {
    match (&summary.error, summary.cancelled) {
        (None, _) => {
            tracing::info!(parent: span, pages = summary.pages, api_calls = summary.api_calls, "run succeeded")
        }
        (Some(e), true) => {
            tracing::warn!(parent: span, error = %e, "run cancelled; the next run resumes")
        }
        (Some(e), false) => tracing::error!(parent: span, error = %e, "run failed"),
    }
}

/// The full mirror: conferences, then history (which queues recordings), then
/// recordings. Each job waits for its lock when another run holds it, so that
/// a mirror that starts together with a scheduled job still does all three.
pub async fn run_mirror(
    ctx: &MirrorContext,
    options: &RunOptions,
) -> anyhow::Result<Vec<JobSummary>> {
    let mut summaries = Vec::new();
    let claim = Claim {
        tick: None,
        wait_for_lock: true,
    };
    for job in [Job::Conferences, Job::History, Job::Recordings] {
        if ctx.cancel.is_cancelled() {
            break;
        }
        match run_claimed(ctx, job, options, claim).await? {
            RunOutcome::Ran(summary) => summaries.push(summary),
            // Only a cancellation ends the wait for the lock.
            RunOutcome::Busy | RunOutcome::TickTaken => break,
        }
    }
    Ok(summaries)
}

/// `VmHWM` from `/proc/self/status`: the peak resident set of this process.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
