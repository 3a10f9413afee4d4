//! Ticks: tokio-cron-scheduler wakes each job, [`JobSchedule`] says when.
//!
//! tokio-cron-scheduler's own cron jobs compute every run after the first
//! from a fixed UTC offset (wrong for half the year in a zone with daylight
//! saving), so each job is a chain of one-shot jobs instead: each one fires
//! shortly before the tick that [`JobSchedule::next_after`] computed in the
//! zone, waits for the exact instant, hands the tick to the job's runner and
//! arms the next one. The scheduler checks the wall clock every 500 ms, so
//! ticks stay right after a suspend or a clock step, where a plain
//! monotonic sleep until a far-away tick would drift.
//!
//! Runners that share a schedule (the same job of hundreds of tenants, as a
//! rule) share one chain: a tick hands itself to each of them, in a random
//! order, so that daemons sharing a database start on different tenants
//! instead of all reaching for the same lock first. One chain per tenant
//! and job would mean thousands of one-shot jobs re-armed at once, which
//! tokio-cron-scheduler does not survive (it stops firing).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::seq::SliceRandom;
use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::sync::CancellationToken;

use super::runner::JobRunner;
use super::schedule::JobSchedule;

/// One-shot jobs fire this long before their tick: they are stored in whole
/// seconds and polled every 500 ms, so they may otherwise fire up to 1.5 s
/// late; the precise wait closes the rest.
const LEAD: Duration = Duration::from_secs(2);

pub struct Scheduler {
    inner: JobScheduler,
    stop: CancellationToken,
}

/// A job's runner with its schedule.
#[derive(Clone)]
pub struct Scheduled {
    pub runner: Arc<JobRunner>,
    pub schedule: JobSchedule,
}

/// The runners of one schedule.
#[derive(Clone)]
struct Chain {
    runners: Arc<[Arc<JobRunner>]>,
    schedule: JobSchedule,
}

impl Chain {
    /// For the logs: the job of the first runner, and how many there are.
    fn describe(&self) -> String {
        let job = self.runners.first().map_or("?", |r| r.job().name());
        match self.runners.len() {
            1 => job.to_string(),
            n => format!("{job} of {n} tenants"),
        }
    }
}

fn chains(jobs: Vec<Scheduled>) -> Vec<Chain> {
    type Group = (JobSchedule, Vec<Arc<JobRunner>>);
    let mut by_key: std::collections::BTreeMap<(String, &'static str), Group> = Default::default();
    for job in jobs {
        let key = (job.schedule.key(), job.runner.job().name());
        let (_, runners) = by_key
            .entry(key)
            .or_insert_with(|| (job.schedule.clone(), Vec::new()));
        runners.push(job.runner);
    }
    by_key
        .into_values()
        .map(|(schedule, runners)| Chain {
            runners: Arc::from(runners),
            schedule,
        })
        .collect()
}

impl Scheduler {
    /// Starts ticking every job; `stop` ends the ticking (a shutdown).
    pub async fn start(jobs: Vec<Scheduled>, stop: CancellationToken) -> anyhow::Result<Self> {
        let inner = JobScheduler::new().await?;
        let now = Utc::now();
        for chain in chains(jobs) {
            if let Some(next) = arm(chain, now, stop.clone())? {
                inner.add(next).await?;
            }
        }
        inner.start().await?;
        Ok(Scheduler { inner, stop })
    }

    /// No tick fires after this returns; runs already started go on.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Err(e) = self.inner.shutdown().await {
            tracing::warn!(error = %e, "cannot stop the scheduler cleanly");
        }
    }
}

/// The one-shot job for the chain's first tick after `after` (`None` when
/// the expression never fires again).
fn arm(chain: Chain, after: DateTime<Utc>, stop: CancellationToken) -> anyhow::Result<Option<Job>> {
    let Some(tick) = chain.schedule.next_after(after) else {
        tracing::warn!(job = chain.describe(), "the schedule never fires again");
        return Ok(None);
    };
    let wake_in = (tick - Utc::now())
        .to_std()
        .unwrap_or_default()
        .saturating_sub(LEAD);
    let one_shot = Job::new_one_shot_async(wake_in, move |_id, scheduler| {
        let chain = chain.clone();
        let stop = stop.clone();
        Box::pin(async move { fire(chain, tick, scheduler, stop).await })
    })?;
    Ok(Some(one_shot))
}

async fn fire(chain: Chain, tick: DateTime<Utc>, scheduler: JobScheduler, stop: CancellationToken) {
    let wait = (tick - Utc::now()).to_std().unwrap_or_default();
    tokio::select! {
        _ = stop.cancelled() => return,
        _ = tokio::time::sleep(wait) => {}
    }
    let mut order: Vec<&Arc<JobRunner>> = chain.runners.iter().collect();
    order.shuffle(&mut rand::rng());
    for runner in order {
        runner.dispatch(tick);
    }
    // Ticks missed while the process could not run (a suspend) are not
    // caught up: the next tick is the first one after now.
    let after = tick.max(Utc::now());
    let name = chain.describe();
    match arm(chain, after, stop) {
        Ok(Some(next)) => {
            if let Err(e) = scheduler.add(next).await {
                tracing::error!(job = name, error = %e, "cannot schedule the next run");
            }
        }
        Ok(None) => {}
        Err(e) => {
            tracing::error!(job = name, error = %crate::causes::of(&e), "cannot schedule the next run")
        }
    }
}
