//! `confsync run`: every job on its schedule, health and metrics over HTTP,
//! graceful shutdown, systemd notifications; and `confsync status`.

pub mod http;
pub mod runner;
pub mod schedule;
pub mod scheduler;
pub mod settings;
pub mod shutdown;
pub mod status;
pub mod systemd;

use std::net::SocketAddr;
use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::configuration::Settings;
use crate::jobs::{self, lifecycle, JobContext};
use runner::JobRunner;
use schedule::JobSchedule;
use scheduler::{Scheduled, Scheduler};

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
}

/// Connects (migrating), marks runs a crash left `running` as abandoned,
/// starts the HTTP listener and schedules every job that is not "off".
pub async fn start(settings: Settings) -> anyhow::Result<RunningDaemon> {
    let stop = CancellationToken::new();
    let ctx = crate::app::build(settings, stop.clone(), indicatif::ProgressBar::hidden()).await?;
    abandon_stale_runs(&ctx.pool, ctx.tenant()).await?;
    let tasks = TaskTracker::new();
    let scheduled = schedules(&ctx, &tasks)?;
    let enabled: Vec<&'static str> = scheduled.iter().map(|s| s.runner.job().name()).collect();
    crate::metrics::register_jobs(&enabled);
    restore_last_successes(&ctx.pool, ctx.tenant(), &enabled).await?;
    let serve_stop = CancellationToken::new();
    let health = http::HealthState {
        pool: ctx.pool.clone(),
        tenant: ctx.tenant().to_string(),
        jobs: enabled,
        max_consecutive_failures: ctx.settings.health.max_consecutive_failures,
    };
    let server = http::serve(&ctx.settings.http.listen, health, serve_stop.clone()).await?;
    log_next_ticks(&scheduled);
    let scheduler = Scheduler::start(scheduled, stop.clone()).await?;
    systemd::spawn_watchdog(serve_stop.clone());
    Ok(RunningDaemon {
        http_addr: server.addr,
        stop,
        serve_stop,
        scheduler,
        tasks,
        http: server.handle,
    })
}

/// `confsync_last_success_timestamp_seconds` from `sync_runs`, so that a
/// restart does not make every mirror look stale.
async fn restore_last_successes(pool: &PgPool, tenant: &str, jobs: &[&str]) -> anyhow::Result<()> {
    for record in crate::store::runs::job_records(pool, tenant, jobs).await? {
        if let Some(at) = record.last_success_at {
            crate::metrics::restore_last_success(&record.job, at);
        }
    }
    Ok(())
}

fn schedules(ctx: &JobContext, tasks: &TaskTracker) -> anyhow::Result<Vec<Scheduled>> {
    let tz = ctx.settings.schedule.tz().map_err(anyhow::Error::msg)?;
    let mut scheduled = Vec::new();
    for job in jobs::JOBS {
        let expression = ctx.settings.schedule.expression(job);
        let schedule = JobSchedule::parse(expression, tz)
            .map_err(|e| anyhow::anyhow!("schedule.{}: {e}", job.name()))?;
        match schedule {
            Some(schedule) => scheduled.push(Scheduled {
                runner: JobRunner::new(job, ctx.clone(), tasks.clone()),
                schedule,
            }),
            None => tracing::info!(job = job.name(), "job is off"),
        }
    }
    Ok(scheduled)
}

fn log_next_ticks(scheduled: &[Scheduled]) {
    let now = chrono::Utc::now();
    for s in scheduled {
        if let Some(next) = s.schedule.next_after(now) {
            let local = next.with_timezone(&s.schedule.timezone());
            tracing::info!(job = s.runner.job().name(), next = %local, "scheduled");
        }
    }
}

/// Runs left `running` by a process that died are marked abandoned, but
/// only those whose job lock nobody holds: a run whose lock is held is
/// alive in another process. (Each run does the same for its own job when
/// it takes the lock; this makes `status` true from the start.)
async fn abandon_stale_runs(pool: &PgPool, tenant: &str) -> anyhow::Result<()> {
    for job in jobs::names() {
        let Some(lock) = lifecycle::lock_job(pool, tenant, job, None).await? else {
            tracing::info!(
                tenant,
                job,
                "running in another process; its runs are left alone"
            );
            continue;
        };
        let marked = lifecycle::abandon_stale(pool, tenant, job).await;
        if let Err(e) = lock.release().await {
            tracing::warn!(tenant, job, error = %crate::causes::Chain(&e), "cannot release the job lock; its connection is closed instead");
        }
        marked?;
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
