//! The one owner of every run's lifecycle. Whoever starts a run (the
//! daemon's runners and sweep, `sync`, `directory apply`, `archive run`,
//! the reconcile's steps) goes through [`run_claimed`]:
//!
//! 1. the (tenant, job) advisory lock, watched so that a lost lock stops the run;
//! 2. runs a dead process left `running` are marked abandoned (the lock says
//!    nobody is running them), unless they are being taken over;
//! 3. the run record, claiming the scheduled tick (or taking over a stale
//!    run's row), and its lease's heartbeat;
//! 4. the `job_run` span with its stable fields;
//! 5. the job's steps (a sequence such as the reconcile: each step a run
//!    of its own, under its own lock), then the job itself, with a token
//!    that a shutdown or the lost lock cancels;
//! 6. the end state (succeeded / failed / abandoned), counters, metrics and
//!    one log line; then the lock is released.
//!
//! A run that does not start is an outcome ([`RunOutcome`]), never an
//! error, and [`record_skip`] is the one place that logs and counts it.

mod end;
mod lease;
pub mod summed;

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{Job, JobContext, JobSummary, Run, RunOptions};
use crate::metrics::{self, Outcome};
use crate::mirror::follow::Alongside;
use crate::store::locks::JobLock;
use crate::store::sync_runs::{self, LeaveRunning};
pub use lease::instance;

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

/// Why a tick or a run did not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Another run, here or on another instance, holds the job lock.
    LockHeld,
    /// Another instance already ran this tick.
    TickTaken,
    /// This process still runs the previous tick.
    StillRunning,
    /// This process's previous tick still waits for a slot (the setting named).
    WaitingForSlot(&'static str),
}

/// How often a run that waits for a job lock tries again.
const LOCK_POLL: Duration = Duration::from_millis(500);

/// How often a running job checks that its lock's session still holds it.
pub const LOCK_CHECK: Duration = Duration::from_secs(2);

/// Runs `job` once now; [`RunOutcome::Busy`] when its lock is held.
pub async fn run_job(
    ctx: &JobContext,
    job: &dyn Job,
    options: &RunOptions,
) -> anyhow::Result<RunOutcome> {
    run_claimed(ctx, job, options, Claim::default()).await
}

/// Runs `steps` in order, each a run of its own that waits for its lock
/// (a step that starts together with its scheduled run still runs); stops
/// at a shutdown. The reconcile's steps and `sync mirror` go through here.
pub async fn run_sequence(
    ctx: &JobContext,
    steps: &[&'static dyn Job],
    options: &RunOptions,
) -> anyhow::Result<Vec<JobSummary>> {
    run_steps(ctx, steps, options, &ctx.shutdown).await
}

/// Runs `job` under its (tenant, job) advisory lock, so that the CLI and
/// any number of daemons sharing the database never run it twice at once.
/// A failure to record the run is the only error; it is counted as failed.
pub async fn run_claimed(
    ctx: &JobContext,
    job: &dyn Job,
    options: &RunOptions,
    claim: Claim,
) -> anyhow::Result<RunOutcome> {
    let outcome = run_under(ctx, job, options, claim, &ctx.shutdown).await;
    if outcome.is_err() {
        metrics::record_run(ctx.tenant(), job.name(), Outcome::Failed, None);
    }
    outcome
}

impl Skip {
    /// The `reason` label of `confsync_ticks_skipped_total`.
    pub fn reason(self) -> &'static str {
        match self {
            Skip::LockHeld => "lock_held",
            Skip::TickTaken => "tick_taken",
            Skip::StillRunning => "still_running",
            Skip::WaitingForSlot(_) => "waiting_for_slot",
        }
    }
}

/// Logs and counts a run that did not start: every one counted, the first
/// of each reason in a minute logged, the rest summed into one line
/// ([`summed`]), so that thousands of tenants do not flood the journal.
pub fn record_skip(tenant: &str, job: &str, tick: Option<DateTime<Utc>>, skip: Skip) {
    metrics::record_run(tenant, job, Outcome::Skipped, None);
    metrics::record_skipped_tick(skip.reason());
    for line in summed::SKIPS.note(skip.reason(), tenant, job) {
        match line {
            summed::Line::First => log_skip(tenant, job, tick, skip),
            summed::Line::Summary {
                kind: reason,
                count: skipped,
                samples,
                seconds,
            } => tracing::warn!(
                reason,
                skipped,
                "{skipped} ticks skipped in the last {seconds} s ({reason}), e.g. {}",
                summed::samples_text(&samples, skipped)
            ),
        }
    }
}

fn log_skip(tenant: &str, job: &str, tick: Option<DateTime<Utc>>, skip: Skip) {
    match skip {
        Skip::LockHeld => {
            tracing::info!(tenant, job, ?tick, "skipped: another run holds the job lock")
        }
        Skip::TickTaken => {
            tracing::info!(tenant, job, ?tick, "skipped: another instance already ran this tick")
        }
        Skip::StillRunning => tracing::warn!(tenant, job, ?tick, "tick skipped: the previous run of this job is still going (more such skips within a minute are summed into one line)"),
        Skip::WaitingForSlot(key) => tracing::warn!(tenant, job, ?tick, "tick skipped: the previous tick of this job is still waiting for a run slot ({key} are all taken)"),
    }
}

/// Marks the runs of (tenant, job) a stopped process left `running`
/// abandoned, except what `leave` says, under the job's lock (taken here;
/// nothing is marked while another process holds it).
pub async fn clear_stale(
    ctx: &JobContext,
    job: &'static str,
    leave: LeaveRunning,
) -> anyhow::Result<()> {
    let tenant = ctx.tenant();
    let Some(lock) = lock_job(&ctx.pool, tenant, job, None).await? else {
        tracing::info!(
            tenant,
            job,
            "running in another process; its runs are left alone"
        );
        return Ok(());
    };
    let marked = abandon_stale_locked(ctx, job, leave).await;
    log_release(lock.release().await, tenant, job);
    marked
}

fn run_steps<'a>(
    ctx: &'a JobContext,
    steps: &'a [&'static dyn Job],
    options: &'a RunOptions,
    cancel: &'a CancellationToken,
) -> BoxFuture<'a, anyhow::Result<Vec<JobSummary>>> {
    Box::pin(async move {
        let claim = Claim {
            wait_for_lock: true,
            ..Claim::default()
        };
        let mut summaries = Vec::new();
        let mut steps = steps.iter().peekable();
        while let Some(step) = steps.next() {
            if cancel.is_cancelled() {
                break;
            }
            let follower = steps.next_if(|next| next.follows() == Some(step.name()));
            let outcomes = match follower {
                None => vec![run_under(ctx, *step, options, claim, cancel).await?],
                Some(next) => run_together((*step, *next), ctx, options, claim, cancel).await?,
            };
            let mut busy = false;
            for outcome in outcomes {
                match outcome {
                    RunOutcome::Ran(summary) => summaries.push(summary),
                    // Only a cancellation ends the wait for the lock.
                    RunOutcome::Busy | RunOutcome::TickTaken => busy = true,
                }
            }
            if busy {
                break;
            }
        }
        Ok(summaries)
    })
}

/// Runs a step and the step that follows its output at once, each a run of
/// its own; the follower is told when the first has ended, however it ended.
async fn run_together(
    (first, follower): (&'static dyn Job, &'static dyn Job),
    ctx: &JobContext,
    options: &RunOptions,
    claim: Claim,
    cancel: &CancellationToken,
) -> anyhow::Result<Vec<RunOutcome>> {
    let (hints, following) = crate::mirror::follow::hand_over();
    let leading = RunOptions {
        alongside: Alongside::Queues(hints),
        ..options.clone()
    };
    let trailing = RunOptions {
        alongside: Alongside::Follows(following.clone()),
        ..options.clone()
    };
    let lead = async {
        let outcome = run_under(ctx, first, &leading, claim, cancel).await;
        following.history_ended();
        outcome
    };
    let (led, trailed) = tokio::join!(lead, run_under(ctx, follower, &trailing, claim, cancel));
    Ok(vec![led?, trailed?])
}

/// [`run_claimed`] under `parent`: the process's shutdown, or the token of
/// the run whose step this is.
async fn run_under(
    ctx: &JobContext,
    job: &dyn Job,
    options: &RunOptions,
    claim: Claim,
    parent: &CancellationToken,
) -> anyhow::Result<RunOutcome> {
    let (tenant, name) = (ctx.tenant(), job.name());
    let wait = claim.wait_for_lock.then_some(parent);
    let Some(lock) = lock_job(&ctx.pool, tenant, name, wait).await? else {
        record_skip(tenant, name, claim.tick, Skip::LockHeld);
        return Ok(RunOutcome::Busy);
    };
    let lock = lock.watch(LOCK_CHECK);
    let outcome = async {
        let leave = claim
            .resume
            .map_or(LeaveRunning::Nothing, LeaveRunning::Run);
        abandon_stale_locked(ctx, name, leave).await?;
        run_locked(ctx, job, options, claim, (lock.lost(), parent)).await
    }
    .await;
    log_release(lock.release().await, tenant, name);
    outcome
}

fn log_release(released: Result<(), crate::store::StoreError>, tenant: &str, job: &str) {
    if let Err(e) = released {
        tracing::warn!(tenant, job, error = %crate::causes::Chain(&e), "cannot release the job lock; its connection is closed instead");
    }
}

/// Takes the (tenant, job) lock; with `wait`, polls until it is free or the
/// token is cancelled. `None` means not taken.
async fn lock_job(
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
/// `leave` says. Only with the job's lock held: then no live process is
/// running them, and a process killed mid-run (a `sync` sent SIGKILL, a
/// crashed daemon) leaves no run that looks alive.
async fn abandon_stale_locked(
    ctx: &JobContext,
    job: &str,
    leave: LeaveRunning,
) -> anyhow::Result<()> {
    let tenant = ctx.tenant();
    let marked = sync_runs::mark_abandoned(&ctx.pool, (tenant, job), ctx.lease, leave)
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
    (lock_lost, parent): (&CancellationToken, &CancellationToken),
) -> anyhow::Result<RunOutcome> {
    let (tenant, name) = (ctx.tenant(), job.name());
    let Some(run_id) = claim_run(ctx, job, options, claim).await? else {
        record_skip(tenant, name, claim.tick, Skip::TickTaken);
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
    let cancel = parent.child_token();
    let _stop_on_loss = lease::cancel_when(lock_lost, &cancel);
    let _heartbeat = lease::beat(ctx, run_id, lock_lost.clone());
    let started = Instant::now();
    let mut run = Run::new(ctx, options, run_id, cancel);
    let result = steps_then_job(job, &mut run).instrument(span.clone()).await;
    let ended = end::Ended {
        result,
        lock_lost: lock_lost.is_cancelled(),
        shut_down: parent.is_cancelled(),
        started,
    };
    let summary = end::summarize(job, &mut run, ended);
    end::record_end(job, &run, &summary, &span, started).await?;
    Ok(RunOutcome::Ran(summary))
}

/// The job's steps, each a run of its own (summaries in `run.steps`), then
/// the job itself.
async fn steps_then_job(job: &dyn Job, run: &mut Run<'_>) -> anyhow::Result<()> {
    let steps = job.steps();
    if !steps.is_empty() {
        let options = RunOptions {
            full: job.is_full(run.options),
            ..run.options.clone()
        };
        run.steps = run_steps(run.ctx, steps, &options, &run.cancel).await?;
    }
    job.run(run).await
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
        let taken = sync_runs::take_over(&ctx.pool, run_id, instance(), ctx.lease)
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
    sync_runs::start_for_tick(&ctx.pool, (tenant, name), full, claim.tick, instance())
        .await
        .context("cannot record the run in confsync.sync_runs")
}
