//! `confsync run`: every job on its schedule, health and metrics over HTTP,
//! graceful shutdown, systemd notifications; and `confsync status`.

pub mod http;
pub mod jobs;
pub mod runner;
pub mod schedule;
pub mod scheduler;
pub mod settings;
pub mod shutdown;
pub mod status;
pub mod systemd;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::configuration::Settings;
use crate::mirror::{self, MirrorContext};
use crate::store::runs;
use jobs::DaemonJob;
use runner::{JobRunner, RunContext};
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
    let mut mirror = MirrorContext::connect(&settings, indicatif::ProgressBar::hidden()).await?;
    mirror.client = mirror.client.clone().with_cancel(stop.clone());
    mirror.cancel = stop.clone();
    abandon_stale_runs(&mirror.pool, mirror.tenant()).await?;
    let (pool, tenant) = (mirror.pool.clone(), mirror.tenant().to_string());
    let tasks = TaskTracker::new();
    let ctx = Arc::new(RunContext {
        mirror,
        settings: settings.clone(),
        tasks: tasks.clone(),
    });
    let scheduled = schedules(&settings, &ctx)?;
    let enabled: Vec<&'static str> = scheduled.iter().map(|s| s.runner.job().name()).collect();
    crate::metrics::register_jobs(&enabled);
    let serve_stop = CancellationToken::new();
    let health = http::HealthState {
        pool,
        tenant,
        jobs: enabled,
        max_consecutive_failures: settings.health.max_consecutive_failures,
    };
    let server = http::serve(&settings.http.listen, health, serve_stop.clone()).await?;
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

fn schedules(settings: &Settings, ctx: &Arc<RunContext>) -> anyhow::Result<Vec<Scheduled>> {
    let tz = settings.schedule.tz().map_err(anyhow::Error::msg)?;
    let mut scheduled = Vec::new();
    for (job, (_, expression)) in DaemonJob::ALL
        .into_iter()
        .zip(settings.schedule.expressions())
    {
        let schedule = JobSchedule::parse(expression, tz)
            .map_err(|e| anyhow::anyhow!("schedule.{}: {e}", job.name()))?;
        match schedule {
            Some(schedule) => scheduled.push(Scheduled {
                runner: JobRunner::new(job, ctx.clone()),
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
/// alive in another process.
async fn abandon_stale_runs(pool: &PgPool, tenant: &str) -> anyhow::Result<()> {
    for job in DaemonJob::names() {
        let Some(lock) = mirror::lock_job(pool, tenant, job, None).await? else {
            tracing::info!(
                tenant,
                job,
                "running in another process; its runs are left alone"
            );
            continue;
        };
        let marked = runs::mark_abandoned(pool, tenant, job).await;
        mirror::release_job(lock, tenant, job).await;
        let marked = marked.context("cannot mark abandoned runs")?;
        if marked > 0 {
            tracing::warn!(
                tenant,
                job,
                runs = marked,
                "runs left running by a stopped process marked abandoned"
            );
        }
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

/// `confsync run`: exits 0 after SIGTERM or SIGINT, 1 when it cannot start.
pub async fn run(settings: Settings) -> ExitCode {
    let mut signals = match shutdown::Signals::register() {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("error: cannot listen for signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Part of the time goes to stopping the listener after the jobs.
    let timeout = Duration::from_secs(settings.shutdown_timeout_seconds)
        .saturating_sub(Duration::from_millis(500));
    let daemon = match start(settings).await {
        Ok(daemon) => daemon,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "cannot start");
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let addr = daemon.http_addr();
    tracing::info!(http = %addr, "confsync daemon started");
    systemd::ready(&format!("running; /healthz and /metrics on {addr}"));
    let signal = signals.wait().await;
    tracing::info!(
        signal,
        "stopping: no new runs; running jobs commit their page and stop"
    );
    systemd::stopping();
    if daemon.shutdown(timeout).await {
        tracing::info!("stopped");
    }
    ExitCode::SUCCESS
}

/// `confsync status [--json]`.
pub async fn status(settings: &Settings, json: bool) -> ExitCode {
    match status_text(settings, json).await {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn status_text(settings: &Settings, json: bool) -> anyhow::Result<String> {
    let pool = crate::db::connect_and_migrate(&settings.database).await?;
    let statuses = status::collect(&pool, settings, chrono::Utc::now()).await?;
    if json {
        return Ok(format!("{}\n", serde_json::to_string_pretty(&statuses)?));
    }
    let tz = settings.schedule.tz().map_err(anyhow::Error::msg)?;
    Ok(status::table(&statuses, tz))
}
