//! One runner per scheduled job: runs a tick unless the job is still
//! running, in this process (an in-process flag) or in another one sharing
//! the database (the job's advisory lock, taken by the lifecycle).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio_util::task::TaskTracker;

use crate::jobs::{self, Claim, Job, JobContext, RunOptions};
use crate::metrics::{self, Outcome};

pub struct JobRunner {
    job: &'static dyn Job,
    running: AtomicBool,
    ctx: JobContext,
    /// Every run's task, so that a shutdown can wait for them.
    tasks: TaskTracker,
}

/// Clears the running flag when a run ends, also if it panicked.
struct RunningFlag<'a>(&'a AtomicBool);

impl Drop for RunningFlag<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl JobRunner {
    pub fn new(job: &'static dyn Job, ctx: JobContext, tasks: TaskTracker) -> Arc<Self> {
        Arc::new(JobRunner {
            job,
            running: AtomicBool::new(false),
            ctx,
            tasks,
        })
    }

    pub fn job(&self) -> &'static dyn Job {
        self.job
    }

    /// Starts the run for `tick` in the background, unless the previous run
    /// of this job is still going (then the tick is skipped and logged).
    pub fn dispatch(self: &Arc<Self>, tick: DateTime<Utc>) -> bool {
        let job = self.job.name();
        if self.running.swap(true, Ordering::AcqRel) {
            tracing::warn!(tenant = self.ctx.tenant(), job, %tick, "tick skipped: the previous run of this job is still going");
            metrics::record_run(job, Outcome::Skipped, None);
            return false;
        }
        let runner = Arc::clone(self);
        self.tasks.spawn(async move {
            let _flag = RunningFlag(&runner.running);
            runner.run(tick).await;
        });
        true
    }

    /// The lifecycle records the run; only a failure to record it lands here.
    async fn run(&self, tick: DateTime<Utc>) {
        let claim = Claim {
            tick: Some(tick),
            wait_for_lock: false,
        };
        let result = jobs::run_claimed(&self.ctx, self.job, &RunOptions::default(), claim).await;
        if let Err(e) = result {
            let job = self.job.name();
            metrics::record_run(job, Outcome::Failed, None);
            tracing::error!(tenant = self.ctx.tenant(), job, %tick, error = %crate::causes::of(&e), "run failed");
        }
    }
}
