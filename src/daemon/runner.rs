//! One runner per scheduled (tenant, job): runs a tick unless the job is
//! still running or waiting for a slot, in this process (an in-process
//! state) or in another one sharing the database (the job's advisory lock,
//! taken by the lifecycle), and never more runs at once than the daemon's
//! slots: `max_concurrent_runs` for short jobs, `max_concurrent_long_runs`
//! for long ones (the archive), so that hours of transfers never keep a
//! short job from a slot.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

use crate::jobs::lifecycle::{self, Skip};
use crate::jobs::{self, Claim, Job, JobContext, RunOptions};
use crate::store::sync_runs::LeaveRunning;

/// The daemon's run slots, shared by every runner.
#[derive(Clone)]
pub struct Slots {
    pub short: Arc<Semaphore>,
    pub long: Arc<Semaphore>,
}

/// Where a runner's current tick is.
const IDLE: u8 = 0;
const WAITING: u8 = 1;
const RUNNING: u8 = 2;

pub struct JobRunner {
    job: &'static dyn Job,
    /// [`IDLE`], [`WAITING`] for a slot or [`RUNNING`].
    state: AtomicU8,
    ctx: JobContext,
    /// Every run's task, so that a shutdown can wait for them.
    tasks: TaskTracker,
    /// The slots of this job's kind.
    slots: Arc<Semaphore>,
}

/// Sets the runner idle when a run ends, also if it panicked.
struct IdleOnDrop<'a>(&'a AtomicU8);

impl Drop for IdleOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(IDLE, Ordering::Release);
    }
}

impl JobRunner {
    pub fn new(
        job: &'static dyn Job,
        ctx: JobContext,
        tasks: TaskTracker,
        slots: &Slots,
    ) -> Arc<Self> {
        let slots = match job.is_long() {
            true => slots.long.clone(),
            false => slots.short.clone(),
        };
        Arc::new(JobRunner {
            job,
            state: AtomicU8::new(IDLE),
            ctx,
            tasks,
            slots,
        })
    }

    pub fn job(&self) -> &'static dyn Job {
        self.job
    }

    pub fn tenant(&self) -> &str {
        self.ctx.tenant()
    }

    /// Starts the run for `tick` in the background, unless the previous
    /// tick of this job is still running or still waiting for a slot (then
    /// this tick is skipped, and the lifecycle logs which).
    pub fn dispatch(self: &Arc<Self>, tick: DateTime<Utc>) -> bool {
        let claim = Claim {
            tick: Some(tick),
            ..Claim::default()
        };
        let Err(busy) = self.start(claim) else {
            return true;
        };
        let skip = match (busy, self.job.is_long()) {
            (WAITING, true) => Skip::WaitingForSlot("daemon.max_concurrent_long_runs"),
            (WAITING, false) => Skip::WaitingForSlot("daemon.max_concurrent_runs"),
            _ => Skip::StillRunning,
        };
        lifecycle::record_skip(self.tenant(), self.job.name(), Some(tick), skip);
        false
    }

    /// Continues run `run_id`, whose lease expired, unless this job is
    /// running here already (then a later sweep tries again).
    pub fn take_over(self: &Arc<Self>, run_id: i64, tick: Option<DateTime<Utc>>) -> bool {
        self.start(Claim {
            tick,
            wait_for_lock: false,
            resume: Some(run_id),
        })
        .is_ok()
    }

    /// `Err(state)`: the runner was not idle, but waiting or running.
    fn start(self: &Arc<Self>, claim: Claim) -> Result<(), u8> {
        self.state
            .compare_exchange(IDLE, WAITING, Ordering::AcqRel, Ordering::Acquire)?;
        let runner = Arc::clone(self);
        self.tasks.spawn(async move {
            let _idle = IdleOnDrop(&runner.state);
            // A tick waiting for a slot gives up at shutdown; the semaphore
            // itself is never closed.
            let slot = tokio::select! {
                _ = runner.ctx.shutdown.cancelled() => return,
                slot = runner.slots.acquire() => slot,
            };
            if let Ok(_slot) = slot {
                runner.state.store(RUNNING, Ordering::Release);
                runner.run(claim).await;
            }
        });
        Ok(())
    }

    /// The lifecycle records the run and counts it; only a failure to
    /// record it lands here, to be logged.
    async fn run(&self, claim: Claim) {
        let result = jobs::run_claimed(&self.ctx, self.job, &RunOptions::default(), claim).await;
        if let Err(e) = result {
            let (tenant, job) = (self.tenant(), self.job.name());
            tracing::error!(tenant, job, tick = ?claim.tick, error = %crate::causes::of(&e), "run failed");
        }
    }
}

impl JobRunner {
    /// Marks this job's runs left behind by a stopped process abandoned
    /// (in the background), when nobody will take them over: runs started
    /// by hand, or dead for too long.
    pub fn clear_stale(self: &Arc<Self>) {
        let runner = Arc::clone(self);
        self.tasks.spawn(async move {
            let (ctx, job) = (&runner.ctx, runner.job.name());
            if let Err(e) = lifecycle::clear_stale(ctx, job, LeaveRunning::Resumable).await {
                tracing::warn!(tenant = ctx.tenant(), job, error = %crate::causes::of(&e), "cannot mark the job's stale runs abandoned");
            }
        });
    }
}
