//! The CloudRoom mirror: one file per job, all writes through [`crate::store`].

pub mod conferences;
pub mod convert;
pub mod history;
pub mod paging;
pub mod recordings;

use std::time::Instant;

use anyhow::Context as _;
use indicatif::ProgressBar;
use serde::Serialize;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::cloudroom::CloudRoomClient;
use crate::configuration::{CloudRoomSettings, Settings};
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
}

/// What every mirror job needs.
#[derive(Clone)]
pub struct MirrorContext {
    pub pool: PgPool,
    pub client: CloudRoomClient,
    pub settings: CloudRoomSettings,
    /// Stops the job between pages (the page in hand is committed first).
    pub cancel: CancellationToken,
    /// Hidden unless stdout is a terminal.
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
}

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
        if let Some(e) = &self.error {
            write!(f, ": FAILED: {e}")?;
        }
        Ok(())
    }
}

/// Runs one job, recording it in `confsync.sync_runs` whatever the outcome.
pub async fn run_job(
    ctx: &MirrorContext,
    job: Job,
    options: &RunOptions,
) -> anyhow::Result<JobSummary> {
    let tenant = ctx.tenant().to_string();
    let run_id = store::runs::start(&ctx.pool, &tenant, job.name(), options.full)
        .await
        .context("cannot record the run in confsync.sync_runs")?;
    let span = tracing::info_span!("job_run", tenant = %tenant, job = job.name(), run_id, full = options.full, rows = tracing::field::Empty);
    let started = Instant::now();
    let calls_before = ctx.client.stats().calls();
    let mut totals = RunTotals::default();
    let result = async {
        match job {
            Job::Conferences => conferences::run(ctx, options, &mut totals).await,
            Job::History => history::run(ctx, options, &mut totals).await,
            Job::Recordings => recordings::run(ctx, options, &mut totals).await,
        }
    }
    .instrument(span.clone())
    .await;
    totals.api_calls = ctx.client.stats().calls() - calls_before;
    let error = result.as_ref().err().map(|e| format!("{e:#}"));
    store::runs::finish(&ctx.pool, run_id, &totals, error.as_deref())
        .await
        .context("cannot record the end of the run in confsync.sync_runs")?;
    let rows = totals.rows.inserted + totals.rows.updated;
    span.record("rows", rows);
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
        error,
    };
    match &summary.error {
        None => {
            tracing::info!(parent: &span, pages = summary.pages, api_calls = summary.api_calls, "run succeeded")
        }
        Some(e) => tracing::error!(parent: &span, error = %e, "run failed"),
    }
    Ok(summary)
}

/// The full mirror: conferences, then history (which queues recordings), then recordings.
pub async fn run_mirror(
    ctx: &MirrorContext,
    options: &RunOptions,
) -> anyhow::Result<Vec<JobSummary>> {
    let mut summaries = Vec::new();
    for job in [Job::Conferences, Job::History, Job::Recordings] {
        if ctx.cancel.is_cancelled() {
            break;
        }
        summaries.push(run_job(ctx, job, options).await?);
    }
    Ok(summaries)
}

/// `VmHWM` from `/proc/self/status`: the peak resident set of this process.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
