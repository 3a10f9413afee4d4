//! The one place that runs a job. Every run, whoever starts it (the daemon,
//! `sync`, `directory apply`, the reconcile), goes through [`run_claimed`]:
//!
//! 1. the (tenant, job) advisory lock, watched so that a lost lock stops the run;
//! 2. runs a dead process left `running` are marked abandoned (the lock says
//!    nobody is running them), unless they are being taken over;
//! 3. the run record, claiming the scheduled tick (or taking over a stale
//!    run's row), and its lease's heartbeat;
//! 4. the `job_run` span with its stable fields;
//! 5. the job itself, with a token that a shutdown or the lost lock cancels;
//! 6. the end state (succeeded / failed / abandoned), counters, metrics and
//!    one log line; then the lock is released.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{Job, JobContext, JobSummary, Run, RunOptions};
use crate::metrics::{self, Outcome};
use crate::store::leases::{self, Spare};
use crate::store::locks::JobLock;
use crate::store::runs::{self, RunEnd};

/// How a run claims its job before starting.
#[derive(Debug, Clone, Copy, Default)]
pub struct Claim {
    /// The scheduled tick this run is for: a tick that a run on another
    /// instance already claimed is not run again.
    pub tick: Option<DateTime<Utc>>,
    /// Wait for the job lock instead of skipping when another run holds it.
    pub wait_for_lock: bool,
    /// Continue this run, whose lease expired, instead of starting one.
    pub resume: Option<i64>,
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
const LOCK_POLL: Duration = Duration::from_millis(500);

/// How often a running job checks that its lock's session still holds it.
pub const LOCK_CHECK: Duration = Duration::from_secs(2);

/// Runs `job` once now, skipping with [`JobBusy`] when its lock is held.
pub async fn run_job(
    ctx: &JobContext,
    job: &dyn Job,
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

/// The full mirror: conferences, then history (which queues recordings), then
/// recordings. Each pass waits for its lock when another run holds it, so that
/// a mirror that starts together with a scheduled pass still does all three.
pub async fn run_mirror(ctx: &JobContext, options: &RunOptions) -> anyhow::Result<Vec<JobSummary>> {
    let mut summaries = Vec::new();
    let claim = Claim {
        wait_for_lock: true,
        ..Claim::default()
    };
    for job in super::MIRROR {
        if ctx.shutdown.is_cancelled() {
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

/// Runs `job` under its (tenant, job) advisory lock, so that the CLI and
/// any number of daemons sharing the database never run it twice at once.
pub async fn run_claimed(
    ctx: &JobContext,
    job: &dyn Job,
    options: &RunOptions,
    claim: Claim,
) -> anyhow::Result<RunOutcome> {
    let (tenant, name) = (ctx.tenant(), job.name());
    let wait = claim.wait_for_lock.then_some(&ctx.shutdown);
    let Some(lock) = lock_job(&ctx.pool, tenant, name, wait).await? else {
        tracing::info!(
            tenant,
            job = name,
            "skipped: another run holds the job lock"
        );
        metrics::record_run(tenant, name, Outcome::Skipped, None);
        return Ok(RunOutcome::Busy);
    };
    let lock = lock.watch(LOCK_CHECK);
    let outcome = async {
        let spare = claim.resume.map_or(Spare::Nothing, Spare::Run);
        abandon_stale(ctx, name, spare).await?;
        run_locked(ctx, job, options, claim, lock.lost()).await
    }
    .await;
    if let Err(e) = lock.release().await {
        tracing::warn!(tenant, job = name, error = %crate::causes::Chain(&e), "cannot release the job lock; its connection is closed instead");
    }
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

/// Marks the runs of (tenant, job) left `running` as abandoned, except what
/// `spare` says. Only call it with the job's lock held: then no live
/// process is running them, and a process killed mid-run (a `sync` sent
/// SIGKILL, a crashed daemon) leaves no run that looks alive.
pub async fn abandon_stale(ctx: &JobContext, job: &str, spare: Spare) -> anyhow::Result<()> {
    let (tenant, lease) = (ctx.tenant(), ctx.lease);
    let marked = leases::abandon_stale(&ctx.pool, (tenant, job), lease, spare)
        .await
        .context("cannot mark abandoned runs")?;
    if marked > 0 {
        tracing::warn!(
            tenant,
            job,
            runs = marked,
            "runs left running by a stopped process marked abandoned"
        );
    }
    Ok(())
}

async fn run_locked(
    ctx: &JobContext,
    job: &dyn Job,
    options: &RunOptions,
    claim: Claim,
    lock_lost: &CancellationToken,
) -> anyhow::Result<RunOutcome> {
    let (tenant, name) = (ctx.tenant(), job.name());
    let Some(run_id) = claim_run(ctx, job, options, claim).await? else {
        tracing::info!(
            tenant,
            job = name,
            tick = ?claim.tick,
            "skipped: another instance already ran this tick"
        );
        metrics::record_run(tenant, name, Outcome::Skipped, None);
        return Ok(RunOutcome::TickTaken);
    };
    let full = job.is_full(options);
    let span = tracing::info_span!(
        "job_run",
        tenant,
        job = name,
        run_id,
        full,
        rows = tracing::field::Empty
    );
    let cancel = ctx.shutdown.child_token();
    let _stop_on_loss = cancel_when(lock_lost, &cancel);
    let _heartbeat = beat(ctx, run_id, lock_lost.clone());
    let started = Instant::now();
    let mut run = Run::new(ctx, options, run_id, cancel);
    let result = job.run(&mut run).instrument(span.clone()).await;
    let summary = summarize(
        ctx,
        job,
        &mut run,
        result,
        lock_lost.is_cancelled(),
        started,
    );
    record_end(job, &run, &summary, &span, started).await?;
    Ok(RunOutcome::Ran(summary))
}

/// The run's row: a new one for the tick, or the stale run taken over;
/// `None` when another instance has the tick or the run.
async fn claim_run(
    ctx: &JobContext,
    job: &dyn Job,
    options: &RunOptions,
    claim: Claim,
) -> anyhow::Result<Option<i64>> {
    let (tenant, name, full) = (ctx.tenant(), job.name(), job.is_full(options));
    if let Some(run_id) = claim.resume {
        let lease = ctx.lease;
        let taken = leases::take_over(&ctx.pool, run_id, instance(), lease)
            .await
            .context("cannot take over the run in confsync.sync_runs")?;
        if taken {
            tracing::warn!(
                tenant,
                job = name,
                run_id,
                "taking over a run whose lease expired; it resumes from its checkpoint"
            );
        }
        return Ok(taken.then_some(run_id));
    }
    runs::start_for_tick(&ctx.pool, (tenant, name), full, claim.tick, instance())
        .await
        .context("cannot record the run in confsync.sync_runs")
}

/// This process, as the `lease_owner` of its runs: host, pid and a random
/// suffix (a pid is reused across restarts and containers).
pub fn instance() -> &'static str {
    static INSTANCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    INSTANCE.get_or_init(|| {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        let host = host.trim();
        let host = if host.is_empty() { "localhost" } else { host };
        format!(
            "{host}/{}/{:04x}",
            std::process::id(),
            rand::random::<u16>()
        )
    })
}

/// Renews the run's lease every third of it until the guard drops. A
/// renewal that finds the run taken over cancels `lost`: another daemon
/// thought this one dead, so this one stops.
fn beat(ctx: &JobContext, run_id: i64, lost: CancellationToken) -> tokio_util::sync::DropGuard {
    let pool = ctx.pool.clone();
    let every = ctx.lease / 3;
    let stop = CancellationToken::new();
    let guard = stop.clone().drop_guard();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.tick().await;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticks.tick() => {}
            }
            match leases::heartbeat(&pool, run_id, instance()).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::error!(
                        run_id,
                        "the run's lease was taken over by another instance; the run stops"
                    );
                    lost.cancel();
                    return;
                }
                Err(e) => {
                    tracing::warn!(run_id, error = %crate::causes::Chain(&e), "cannot renew the run's lease")
                }
            }
        }
    });
    guard
}

/// Cancels `run` when `lost` is; the watch ends when the guard drops.
fn cancel_when(lost: &CancellationToken, run: &CancellationToken) -> tokio_util::sync::DropGuard {
    let (lost, run) = (lost.clone(), run.clone());
    let watch = CancellationToken::new();
    let stop = watch.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = lost.cancelled() => run.cancel(),
            _ = stop.cancelled() => {}
        }
    });
    watch.drop_guard()
}

/// The end of a run: a lost lock fails it whatever the job returned, a
/// shutdown makes it abandoned (the next run resumes), and a job that
/// returned but did not do everything fails it.
fn summarize(
    ctx: &JobContext,
    job: &dyn Job,
    run: &mut Run<'_>,
    result: anyhow::Result<()>,
    lock_lost: bool,
    started: Instant,
) -> JobSummary {
    run.totals.api_calls = run.calls.get();
    let cause = result.err().map(std::sync::Arc::new);
    let error = match (&cause, lock_lost) {
        (cause, true) => Some(format!(
            "the job lock or the run's lease was lost (its database session ended, or another instance took the run over), so the run stopped rather than risk running beside another instance{}",
            cause.as_ref().map(|e| format!(": {}", crate::causes::of(e))).unwrap_or_default()
        )),
        (Some(e), false) => Some(crate::causes::of(e)),
        (None, false) => run.incomplete.clone(),
    };
    let cancelled = error.is_some() && !lock_lost && ctx.shutdown.is_cancelled();
    let totals = &run.totals;
    JobSummary {
        job: job.name(),
        tenant: ctx.tenant().to_string(),
        run_id: run.run_id,
        full: job.is_full(run.options),
        pages: totals.pages,
        api_calls: totals.api_calls,
        rows_inserted: totals.rows.inserted,
        rows_updated: totals.rows.updated,
        rows_unchanged: totals.rows.unchanged,
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_kib: super::summary::peak_rss_kib(),
        cancelled,
        error,
        cause,
        apply: run.apply.take(),
    }
}

/// The run's row, its span's `rows`, the metrics and the log line.
async fn record_end(
    job: &dyn Job,
    run: &Run<'_>,
    summary: &JobSummary,
    span: &tracing::Span,
    started: Instant,
) -> anyhow::Result<()> {
    let (totals, end) = (&run.totals, summary.end());
    let recorded = runs::finish_as(
        &run.ctx.pool,
        (run.run_id, instance()),
        totals,
        end,
        summary.error.as_deref(),
    )
    .await
    .context("cannot record the end of the run in confsync.sync_runs")?;
    if !recorded {
        tracing::warn!(parent: span, "another instance took this run over; its end is recorded by that instance");
    }
    span.record("rows", totals.rows.inserted + totals.rows.updated);
    if let Some(table) = job.table() {
        metrics::record_rows(&summary.tenant, table, totals.rows);
    }
    let outcome = match end {
        RunEnd::Succeeded => Outcome::Succeeded,
        RunEnd::Failed => Outcome::Failed,
        RunEnd::Abandoned => Outcome::Cancelled,
    };
    metrics::record_run(
        &summary.tenant,
        job.name(),
        outcome,
        Some(started.elapsed()),
    );
    log_end(span, summary);
    Ok(())
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
