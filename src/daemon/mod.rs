//! `confsync run`: every job on its schedule, health and metrics over HTTP,
//! graceful shutdown, systemd notifications; and `confsync status`.

pub mod http;
pub mod leases;
pub mod runner;
pub mod schedule;
pub mod scheduler;
pub mod settings;
pub mod shutdown;
pub mod status;
pub mod systemd;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::jobs::{self, lifecycle, JobContext};
use crate::store::sync_runs::LeaveRunning;
use runner::JobRunner;
use schedule::JobSchedule;
use scheduler::{Scheduled, Scheduler};
use settings::DaemonConfig;

/// A daemon serving in the background of this process (tests start several).
pub struct RunningDaemon {
    http_addr: SocketAddr,
    /// Stops the ticks and cancels the running jobs.
    stop: CancellationToken,
    /// Stops the HTTP listener and the watchdog, last.
    serve_stop: CancellationToken,
    scheduler: Scheduler,
    tasks: TaskTracker,
    http: JoinHandle<()>,
    /// Takes over the runs of daemons that died (see [`leases`]).
    sweeper: JoinHandle<()>,
}

/// On the tenants' contexts (`crate::app::start_daemon` wires them; `stop`
/// is their shutdown token): marks runs a crash left `running` as
/// abandoned, starts the HTTP listener, schedules every tenant's jobs that
/// are not "off" and sweeps for runs whose lease expired.
pub async fn start(
    settings: &DaemonConfig,
    pool: PgPool,
    contexts: Vec<JobContext>,
    stop: CancellationToken,
) -> anyhow::Result<RunningDaemon> {
    abandon_stale_runs(&pool, &contexts).await?;
    let tasks = TaskTracker::new();
    let slots = runner::Slots {
        short: Arc::new(Semaphore::new(settings.daemon.max_concurrent_runs)),
        long: Arc::new(Semaphore::new(settings.daemon.max_concurrent_long_runs)),
    };
    let mut scheduled = Vec::new();
    for ctx in &contexts {
        scheduled.extend(schedules(ctx, &tasks, &slots)?);
    }
    let enabled = enabled_jobs(&scheduled);
    restore_last_successes(&pool, &enabled).await?;
    let serve_stop = CancellationToken::new();
    let health = http::HealthState {
        pool: pool.clone(),
        jobs: enabled,
        max_consecutive_failures: settings.health.max_consecutive_failures,
        stuck_after: Duration::from_secs(settings.health.stuck_run_after_seconds),
    };
    let server = http::serve(&settings.http.listen, health, serve_stop.clone()).await?;
    log_next_ticks(&scheduled);
    let runners = scheduled.iter().map(|s| s.runner.clone()).collect();
    let sweeper = leases::spawn_sweeper(pool, runners, settings.daemon.lease(), stop.clone());
    let scheduler = Scheduler::start(scheduled, stop.clone()).await?;
    systemd::spawn_watchdog(serve_stop.clone());
    Ok(RunningDaemon {
        http_addr: server.addr,
        stop,
        serve_stop,
        scheduler,
        tasks,
        http: server.handle,
        sweeper,
    })
}

/// The scheduled (tenant, job) pairs, their metric series created at zero.
fn enabled_jobs(scheduled: &[Scheduled]) -> Vec<(String, &'static str)> {
    let enabled: Vec<(String, &'static str)> = scheduled
        .iter()
        .map(|s| (s.runner.tenant().to_string(), s.runner.job().name()))
        .collect();
    for (tenant, job) in &enabled {
        crate::metrics::register_jobs(tenant, &[job]);
    }
    enabled
}

/// `confsync_last_success_timestamp_seconds` from `sync_runs`, so that a
/// restart does not make every mirror look stale.
async fn restore_last_successes(
    pool: &PgPool,
    enabled: &[(String, &'static str)],
) -> anyhow::Result<()> {
    for record in crate::store::sync_runs::job_records(pool, enabled).await? {
        if let Some(at) = record.last_success_at {
            crate::metrics::restore_last_success(&record.tenant, &record.job, at);
        }
    }
    Ok(())
}

fn schedules(
    ctx: &JobContext,
    tasks: &TaskTracker,
    slots: &runner::Slots,
) -> anyhow::Result<Vec<Scheduled>> {
    let tenant = ctx.tenant();
    let tz = ctx.settings.schedule.tz().map_err(anyhow::Error::msg)?;
    let mut scheduled = Vec::new();
    for job in jobs::JOBS {
        let expression = ctx.settings.schedule.expression(job);
        let schedule = JobSchedule::parse(expression, tz)
            .map_err(|e| anyhow::anyhow!("schedule.{} of tenant {tenant}: {e}", job.name()))?;
        match schedule {
            Some(schedule) => scheduled.push(Scheduled {
                runner: JobRunner::new(job, ctx.clone(), tasks.clone(), slots),
                schedule,
            }),
            None => tracing::debug!(tenant, job = job.name(), "job is off"),
        }
    }
    Ok(scheduled)
}

/// One line per job (its tenants and the soonest tick); each tenant's at
/// debug, so that 2,000 tenants do not start with 6,000 lines.
fn log_next_ticks(scheduled: &[Scheduled]) {
    let now = chrono::Utc::now();
    type Soonest = Option<(chrono::DateTime<chrono::Utc>, String)>;
    let mut by_job: std::collections::BTreeMap<&str, (usize, Soonest)> = Default::default();
    for s in scheduled {
        let Some(next) = s.schedule.next_after(now) else {
            continue;
        };
        let local = next.with_timezone(&s.schedule.timezone()).to_string();
        let (tenant, job) = (s.runner.tenant(), s.runner.job().name());
        tracing::debug!(tenant, job, next = %local, "scheduled");
        let (tenants, soonest) = by_job.entry(job).or_default();
        *tenants += 1;
        if soonest.as_ref().is_none_or(|(at, _)| next < *at) {
            *soonest = Some((next, local));
        }
    }
    for (job, (tenants, soonest)) in by_job {
        let next = soonest.map(|(_, local)| local).unwrap_or_default();
        tracing::info!(job, tenants, next = %next, "scheduled");
    }
}

/// Runs left `running` by a process that died are marked abandoned, but
/// only those whose job lock nobody holds (a run whose lock is held is
/// alive in another process) and that no daemon will take over (see
/// [`leases`]). Each run does the same for its own job when it takes the
/// lock; this makes `status` true from the start. Only the jobs with a
/// run marked running are locked: hundreds of tenants have few.
async fn abandon_stale_runs(pool: &PgPool, contexts: &[JobContext]) -> anyhow::Result<()> {
    let tenants: Vec<String> = contexts.iter().map(|c| c.tenant().to_string()).collect();
    for (tenant, job) in crate::store::sync_runs::running_jobs(pool, &tenants).await? {
        let Some(ctx) = contexts.iter().find(|c| c.tenant() == tenant) else {
            continue;
        };
        let Some(job) = jobs::find(&job).map(|j| j.name()) else {
            continue;
        };
        lifecycle::clear_stale(ctx, job, LeaveRunning::Resumable).await?;
    }
    Ok(())
}

impl RunningDaemon {
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Stops ticking, cancels the running jobs (each commits the page in
    /// hand) and waits for them up to `timeout`. False when some were still
    /// running then; the next start marks their runs abandoned.
    pub async fn shutdown(self, timeout: Duration) -> bool {
        self.stop.cancel();
        self.scheduler.shutdown().await;
        let _ = self.sweeper.await;
        self.tasks.close();
        let finished = tokio::time::timeout(timeout, self.tasks.wait())
            .await
            .is_ok();
        if !finished {
            tracing::warn!(
                timeout_seconds = timeout.as_secs(),
                "jobs still running at the shutdown timeout; exiting anyway"
            );
        }
        self.serve_stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(1), self.http).await;
        finished
    }
}
