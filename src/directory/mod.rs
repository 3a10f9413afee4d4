//! The HR directory push: desired state (the HR export) against what
//! confsync pushed (PostgreSQL), a plan, then apply.
//!
//! - [`source`] reads the export, [`validate`] checks rows, [`model`] holds
//!   the desired state and the exact fields each target receives;
//! - [`plan`] compares it with `directory.*` and applies the safety rules;
//! - [`apply`] makes the calls and records every outcome;
//! - [`verify`] reads a sample back from Aliyun.
//!
//! The daemon calls [`run_apply`]; the CLI commands are thin wrappers.

pub mod apply;
pub mod model;
pub mod password;
pub mod plan;
pub mod settings;
pub mod source;
pub mod validate;
pub mod verify;

use std::collections::BTreeMap;
use std::fmt;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use serde::Serialize;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::aliyun::AliyunClient;
use crate::cloudroom::CloudRoomClient;
use crate::configuration::Settings;
use crate::store::{self, locks::JobLock, runs::RunTotals, RowCounts, StoreError};
use apply::{Executor, Failure, Outcomes};
use model::AliyunGroup;
use plan::{MassDelete, Plan, PlanOptions};
use source::SourceError;
use validate::RowProblem;

/// The job name in `confsync.sync_runs` and the advisory lock.
pub const JOB: &str = "directory";

/// Exit status of an apply in which some objects failed (they are retried next run).
pub const EXIT_PARTIAL: u8 = 3;

/// Why a run stopped before changing anything.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("configuration: {0}")]
    Config(String),
    // No #[source]: the message already holds the cause, and `{:#}` would print it twice.
    #[error("{0}; nothing was changed")]
    Source(SourceError),
    #[error("the source has no rows; nothing was changed (an empty export is never taken to mean that everyone left)")]
    Empty,
    #[error("only {valid} valid row(s), below directory.min_rows ({min}); nothing was changed")]
    TooFew { valid: usize, min: usize },
    #[error("another directory apply is running for tenant {0}; try again when it ends")]
    Busy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DirectoryError {
    /// 2 for configuration problems (as `config check`), 1 for the rest.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            DirectoryError::Config(_) => ExitCode::from(crate::cli::EXIT_CONFIG),
            _ => ExitCode::FAILURE,
        }
    }
}

/// Options of one apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Execute deletes above `directory.max_deletes` instead of staging them.
    pub allow_mass_delete: bool,
}

/// What one apply did, as printed and as the daemon reads it.
#[derive(Debug, Clone, Serialize)]
pub struct ApplySummary {
    pub tenant: String,
    pub run_id: i64,
    pub rows_read: usize,
    pub valid_rows: usize,
    pub problems: Vec<RowProblem>,
    /// Per section: `cloudroom_departments`, `cloudroom_users`, `aliyun_users`.
    pub outcomes: BTreeMap<&'static str, Outcomes>,
    pub failures: Vec<Failure>,
    pub held: Vec<String>,
    pub mass_delete: Option<MassDelete>,
    /// Stopped by the cancellation token before the plan was done.
    pub cancelled: bool,
    /// HTTP requests to both vendors (retries included).
    pub api_calls: u64,
    pub plan_seconds: f64,
    pub seconds: f64,
    pub peak_rss_kib: Option<u64>,
}

impl ApplySummary {
    /// Some object failed or the run stopped early: exit 3, retry next run.
    pub fn failed(&self) -> bool {
        !self.failures.is_empty() || self.cancelled
    }

    fn totals(&self) -> RowCounts {
        let mut rows = RowCounts::default();
        for o in self.outcomes.values() {
            rows.inserted += o.created as u64;
            rows.updated += (o.updated + o.deleted) as u64;
        }
        rows
    }
}

impl fmt::Display for ApplySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "directory apply (run {}): {} rows read, {} valid, {} problem(s)",
            self.run_id,
            self.rows_read,
            self.valid_rows,
            self.problems.len()
        )?;
        for (title, key) in [
            ("CloudRoom departments", "cloudroom_departments"),
            ("CloudRoom users", "cloudroom_users"),
            ("Aliyun users", "aliyun_users"),
        ] {
            let o = self.outcomes.get(key).copied().unwrap_or_default();
            writeln!(
                f,
                "  {title}: {} created, {} updated, {} deleted, {} failed, {} staged",
                o.created, o.updated, o.deleted, o.failed, o.staged
            )?;
        }
        writeln!(
            f,
            "  {} API calls; plan {:.2} s, total {:.2} s",
            self.api_calls, self.plan_seconds, self.seconds
        )?;
        if let Some(m) = &self.mass_delete {
            writeln!(
                f,
                "  {} deletes exceed directory.max_deletes ({}); {}",
                m.deletes,
                m.limit,
                if self.outcomes.values().any(|o| o.staged > 0) {
                    "staged: run apply --allow-mass-delete to execute them"
                } else {
                    "executed (--allow-mass-delete)"
                }
            )?;
        }
        for note in &self.held {
            writeln!(f, "  held: {note}")?;
        }
        for p in &self.problems {
            writeln!(f, "  bad row: {p}")?;
        }
        if self.cancelled {
            writeln!(
                f,
                "  CANCELLED before the plan was done; the next run continues"
            )?;
        }
        if !self.failures.is_empty() {
            writeln!(f, "  FAILED ({}), retried next run:", self.failures.len())?;
            for x in &self.failures {
                writeln!(
                    f,
                    "    {} {} {}: {}",
                    x.target, x.action, x.object, x.message
                )?;
            }
        }
        Ok(())
    }
}

/// The Aliyun group from `aliyun.group_id` / `aliyun.group_name`, required
/// when the Aliyun target is on.
pub fn aliyun_group(settings: &Settings) -> Result<Option<AliyunGroup>, DirectoryError> {
    if !settings.directory.aliyun {
        return Ok(None);
    }
    let id = settings
        .aliyun
        .group_id
        .clone()
        .filter(|s| !s.trim().is_empty());
    let name = settings
        .aliyun
        .group_name
        .clone()
        .filter(|s| !s.trim().is_empty());
    match (id, name) {
        (Some(id), Some(name)) => Ok(Some(AliyunGroup { id, name })),
        _ => Err(DirectoryError::Config(
            "aliyun.group_id and aliyun.group_name are required while directory.aliyun is on (every CVC user belongs to that group); set them, or set directory.aliyun = false".into(),
        )),
    }
}

/// Reads and validates the source, loads the stored state and plans.
/// Sends nothing; fails before any change when the source is unusable.
pub async fn prepare(
    settings: &Settings,
    pool: &PgPool,
    allow_mass_delete: bool,
) -> Result<Plan, DirectoryError> {
    let dir = &settings.directory;
    let group = aliyun_group(settings)?;
    let rows = source::read(dir.source.as_deref(), &dir.columns, pool)
        .await
        .map_err(DirectoryError::Source)?;
    if rows.is_empty() {
        return Err(DirectoryError::Empty);
    }
    let desired = validate::validate(rows, dir.default_role());
    if desired.people.len() < dir.min_rows.max(1) {
        return Err(DirectoryError::TooFew {
            valid: desired.people.len(),
            min: dir.min_rows.max(1),
        });
    }
    let tenant = &settings.cloudroom.tenant;
    let departments = store::directory::departments(pool, tenant).await?;
    let users = store::directory::users(pool, tenant).await?;
    let mut plan = plan::build(
        desired,
        departments,
        users,
        PlanOptions {
            settings: dir,
            group,
            allow_mass_delete,
            now: chrono::Utc::now(),
        },
    );
    let changed = plan.updated_people();
    let stored = store::directory::user_fields(pool, tenant, &changed).await?;
    plan.describe_updates(&stored);
    Ok(plan)
}

/// One apply: lock, plan, execute, record the run. The daemon calls this.
///
/// Errors are runs that changed nothing ([`DirectoryError`] inside the
/// `anyhow::Error`: bad source, lock held, configuration) or a database
/// failure midway; object failures are not errors but `failures` in the
/// summary (`summary.failed()`).
pub async fn run_apply(
    settings: &Settings,
    pool: &PgPool,
    options: ApplyOptions,
    cancel: CancellationToken,
) -> anyhow::Result<ApplySummary> {
    let tenant = settings.cloudroom.tenant.clone();
    let lock = JobLock::try_acquire(pool, &tenant, JOB)
        .await?
        .ok_or_else(|| DirectoryError::Busy(tenant.clone()))?;
    let run_id = store::runs::start(pool, &tenant, JOB, false)
        .await
        .context("cannot record the run in confsync.sync_runs")?;
    let span = tracing::info_span!("job_run", tenant = %tenant, job = JOB, run_id, rows = tracing::field::Empty);
    let result = execute(settings, pool, options, cancel, run_id)
        .instrument(span.clone())
        .await;
    let (totals, error) = match &result {
        Ok(summary) => {
            let totals = RunTotals {
                pages: 0,
                api_calls: summary.api_calls,
                rows: summary.totals(),
            };
            let error = summary.failed().then(|| {
                format!(
                    "{} object(s) failed{}",
                    summary.failures.len(),
                    if summary.cancelled { "; cancelled" } else { "" }
                )
            });
            (totals, error)
        }
        Err(e) => (RunTotals::default(), Some(format!("{e:#}"))),
    };
    span.record("rows", totals.rows.inserted + totals.rows.updated);
    store::runs::finish(pool, run_id, &totals, error.as_deref())
        .await
        .context("cannot record the end of the run in confsync.sync_runs")?;
    lock.release(&tenant, JOB).await?;
    match &error {
        None => {
            tracing::info!(parent: &span, api_calls = totals.api_calls, "directory apply succeeded")
        }
        Some(e) => tracing::error!(parent: &span, error = %e, "directory apply failed"),
    }
    result
}

async fn execute(
    settings: &Settings,
    pool: &PgPool,
    options: ApplyOptions,
    cancel: CancellationToken,
    run_id: i64,
) -> anyhow::Result<ApplySummary> {
    let started = Instant::now();
    let cloudroom = if settings.directory.cloudroom {
        Some(
            CloudRoomClient::new(&settings.cloudroom)
                .map_err(|e| DirectoryError::Config(e.to_string()))?,
        )
    } else {
        None
    };
    let aliyun = if settings.directory.aliyun {
        Some(
            AliyunClient::new(&settings.aliyun)
                .map_err(|e| DirectoryError::Config(e.to_string()))?,
        )
    } else {
        None
    };
    let plan = prepare(settings, pool, options.allow_mass_delete).await?;
    let plan_seconds = started.elapsed().as_secs_f64();
    let calls_before = api_calls(cloudroom.as_ref(), aliyun.as_ref());
    let executor = Executor {
        plan: &plan,
        pool,
        tenant: &settings.cloudroom.tenant,
        run_id: Some(run_id),
        cloudroom: cloudroom.clone(),
        aliyun: aliyun.clone(),
        batch_size: settings.aliyun.batch_size,
        concurrency: settings.directory.concurrency.max(1),
        cancel,
    };
    let executed = executor.run().await?;
    let mut held = plan.held.clone();
    held.extend(executed.held);
    Ok(ApplySummary {
        tenant: settings.cloudroom.tenant.clone(),
        run_id,
        rows_read: plan.desired.rows_read,
        valid_rows: plan.desired.people.len(),
        problems: plan.desired.problems.clone(),
        outcomes: executed.outcomes,
        failures: executed.failures,
        held,
        mass_delete: plan.mass_delete.clone(),
        cancelled: executed.cancelled,
        api_calls: api_calls(cloudroom.as_ref(), aliyun.as_ref()) - calls_before,
        plan_seconds,
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_kib: crate::mirror::peak_rss_kib(),
    })
}

fn api_calls(cloudroom: Option<&CloudRoomClient>, aliyun: Option<&AliyunClient>) -> u64 {
    // Aliyun counts an action once however many attempts it took; add its
    // retries so both vendors count HTTP requests.
    let aliyun = aliyun.map_or(0, |a| {
        let stats = a.stats().snapshot();
        stats.calls + stats.retries
    });
    cloudroom.map_or(0, |c| c.stats().calls()) + aliyun
}

/// Reads a sample of pushed people back from Aliyun.
pub async fn run_verify(
    settings: &Settings,
    pool: &PgPool,
) -> anyhow::Result<verify::VerifyReport> {
    let client =
        AliyunClient::new(&settings.aliyun).map_err(|e| DirectoryError::Config(e.to_string()))?;
    let sample = store::directory::aliyun_sample(
        pool,
        &settings.cloudroom.tenant,
        settings.directory.verify_sample,
    )
    .await?;
    Ok(verify::check(&client, sample).await)
}

// ------------------------------------------------------------------ the CLI

fn fail(e: &anyhow::Error) -> ExitCode {
    eprintln!("error: {e:#}");
    match e.downcast_ref::<DirectoryError>() {
        Some(d) => d.exit_code(),
        None => ExitCode::FAILURE,
    }
}

async fn connect(settings: &Settings) -> anyhow::Result<PgPool> {
    Ok(crate::db::connect_and_migrate(&settings.database).await?)
}

/// `confsync directory plan [--json]`: exit 0 with the plan, 1 when the
/// source is unusable, 2 on a configuration problem.
pub async fn plan(settings: &Settings, json: bool) -> ExitCode {
    let result = async {
        let pool = connect(settings).await?;
        Ok::<_, anyhow::Error>(prepare(settings, &pool, false).await?)
    }
    .await;
    match result {
        Ok(plan) => {
            let report = plan.report();
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            } else {
                print!("{report}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// `confsync directory apply`: exit 0 when everything was done, 3 when some
/// objects failed (retried next run), 1 when the run changed nothing
/// (unusable source, lock held), 2 on a configuration problem.
pub async fn apply(settings: &Settings, allow_mass_delete: bool) -> ExitCode {
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("stopping after the calls in flight...");
            on_signal.cancel();
        }
    });
    let result = async {
        let pool = connect(settings).await?;
        run_apply(settings, &pool, ApplyOptions { allow_mass_delete }, cancel).await
    }
    .await;
    match result {
        Ok(summary) => {
            print!("{summary}");
            if summary.failed() {
                ExitCode::from(EXIT_PARTIAL)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => fail(&e),
    }
}

/// `confsync directory verify`: exit 0 when the sample matches, 1 on drift
/// or when Aliyun cannot be read.
pub async fn verify(settings: &Settings) -> ExitCode {
    let result = async {
        let pool = connect(settings).await?;
        run_verify(settings, &pool).await
    }
    .await;
    match result {
        Ok(report) => {
            println!("verify: {} people read back from Aliyun", report.checked);
            for d in &report.drift {
                println!("  drift {}: {}", d.employee_id, d.problem);
            }
            for d in &report.errors {
                println!("  error {}: {}", d.employee_id, d.problem);
            }
            if report.drift.is_empty() && report.errors.is_empty() {
                println!("  no drift");
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => fail(&e),
    }
}
