//! One runner per scheduled (tenant, job): runs a tick unless the job is
//! still running, in this process (an in-process flag) or in another one
//! sharing the database (the job's advisory lock, taken by the lifecycle),
//! and never more runs at once than the daemon's `max_concurrent_runs`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

use crate::jobs::{self, lifecycle, Claim, Job, JobContext, RunOptions};
use crate::metrics::{self, Outcome};
use crate::store::leases::Spare;

pub struct JobRunner {
    job: &'static dyn Job,
    running: AtomicBool,
    ctx: JobContext,
    /// Every run's task, so that a shutdown can wait for them.
    tasks: TaskTracker,
    /// The daemon's run slots, shared by every runner.
    slots: Arc<Semaphore>,
}

/// Clears the running flag when a run ends, also if it panicked.
struct RunningFlag<'a>(&'a AtomicBool);

impl Drop for RunningFlag<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl JobRunner {
    pub fn new(
        job: &'static dyn Job,
        ctx: JobContext,
        tasks: TaskTracker,
        slots: Arc<Semaphore>,
    ) -> Arc<Self> {
        Arc::new(JobRunner {
            job,
            running: AtomicBool::new(false),
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

    /// Starts the run for `tick` in the background, unless the previous run
    /// of this job is still going (then the tick is skipped and logged).
    pub fn dispatch(self: &Arc<Self>, tick: DateTime<Utc>) -> bool {
        let claim = Claim {
            tick: Some(tick),
            ..Claim::default()
        };
        if !self.start(claim) {
            let (tenant, job) = (self.tenant(), self.job.name());
            tracing::warn!(tenant, job, %tick, "tick skipped: the previous run of this job is still going");
            metrics::record_run(tenant, job, Outcome::Skipped, None);
            return false;
        }
        true
    }

    /// Continues run `run_id`, whose lease expired, unless this job is
    /// running here already (then a later sweep tries again).
    pub fn take_over(self: &Arc<Self>, run_id: i64, tick: Option<DateTime<Utc>>) -> bool {
        self.start(Claim {
            tick,
            wait_for_lock: false,
            resume: Some(run_id),
        })
    }

    fn start(self: &Arc<Self>, claim: Claim) -> bool {
        if self.running.swap(true, Ordering::AcqRel) {
            return false;
        }
        let runner = Arc::clone(self);
        self.tasks.spawn(async move {
            let _flag = RunningFlag(&runner.running);
            // A tick waiting for a slot gives up at shutdown; the semaphore
            // itself is never closed.
            let slot = tokio::select! {
                _ = runner.ctx.shutdown.cancelled() => return,
                slot = runner.slots.acquire() => slot,
            };
            if let Ok(_slot) = slot {
                runner.run(claim).await;
            }
        });
        true
    }

    /// The lifecycle records the run; only a failure to record it lands here.
    async fn run(&self, claim: Claim) {
        let result = jobs::run_claimed(&self.ctx, self.job, &RunOptions::default(), claim).await;
        if let Err(e) = result {
            let (tenant, job) = (self.tenant(), self.job.name());
            metrics::record_run(tenant, job, Outcome::Failed, None);
            tracing::error!(tenant, job, tick = ?claim.tick, error = %crate::causes::of(&e), "run failed");
        }
    }
}

impl JobRunner {
    /// Marks this job's runs left behind by a stopped process abandoned
    /// (under the job's lock, in the background), when nobody will take
    /// them over: runs started by hand, or dead for too long.
    pub fn clear_stale(self: &Arc<Self>) {
        let runner = Arc::clone(self);
        self.tasks.spawn(async move {
            let (ctx, job) = (&runner.ctx, runner.job.name());
            let cleared = async {
                let Some(lock) = lifecycle::lock_job(&ctx.pool, ctx.tenant(), job, None).await? else {
                    return Ok(());
                };
                let marked = lifecycle::abandon_stale(ctx, job, Spare::Resumable).await;
                lock.release().await?;
                marked
            };
            if let Err(e) = cleared.await {
                tracing::warn!(tenant = ctx.tenant(), job, error = %crate::causes::of(&e), "cannot mark the job's stale runs abandoned");
            }
        });
    }
}
