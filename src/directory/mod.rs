//! The HR directory push: desired state (the HR export) against what
//! confsync pushed (PostgreSQL), a plan, then apply.
//!
//! - [`source`] reads the export, [`validate`] checks rows, [`model`] holds
//!   the desired state and the exact fields each target receives;
//! - [`plan`] compares it with `directory.*` and applies the safety rules;
//! - [`apply`] makes the calls and records every outcome;
//! - [`verify`] reads a sample back from Aliyun.
//!
//! [`crate::jobs::Directory`] runs [`apply`] as a job.

pub mod apply;
pub mod identity;
pub mod keys;
pub mod model;
pub mod password;
pub mod plan;
pub mod settings;
pub mod settle;
pub mod source;
pub mod tree;
pub mod validate;
pub mod verify;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use serde::Serialize;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::aliyun::AliyunClient;
use crate::cloudroom::CloudRoomClient;
use crate::store::{self, RowCounts, StoreError};
use apply::{Executor, Failure, Outcomes};
use model::AliyunGroup;
use plan::{MassDelete, Plan, PlanOptions};
use source::SourceError;
use validate::RowProblem;

/// The job name in `confsync.sync_runs` and the advisory lock.
pub const JOB: &str = "directory";

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
    #[error(transparent)]
    Store(#[from] StoreError),
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
    pub plan_seconds: f64,
}

impl ApplySummary {
    /// Some object failed or the run stopped early: exit 3, retry next run.
    pub fn failed(&self) -> bool {
        !self.failures.is_empty() || self.cancelled
    }

    pub fn totals(&self) -> RowCounts {
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
            "  {} rows read, {} valid, {} problem(s); planned in {:.2} s",
            self.rows_read,
            self.valid_rows,
            self.problems.len(),
            self.plan_seconds
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
        self.fmt_notes(f)
    }
}

impl ApplySummary {
    /// What was held, the bad rows, and whether and where the run stopped.
    fn fmt_notes(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

/// What the directory push reads of a tenant's configuration: its own
/// section, and Aliyun's group and batch size.
#[derive(Debug, Clone, Copy)]
pub struct DirectoryConfig<'a> {
    pub tenant: &'a str,
    pub directory: &'a settings::DirectorySettings,
    pub aliyun: &'a crate::aliyun::AliyunSettings,
}

/// The Aliyun group from `aliyun.group_id` / `aliyun.group_name`, required
/// when the Aliyun target is on.
pub fn aliyun_group(config: DirectoryConfig<'_>) -> Result<Option<AliyunGroup>, DirectoryError> {
    if !config.directory.aliyun {
        return Ok(None);
    }
    let id = config
        .aliyun
        .group_id
        .clone()
        .filter(|s| !s.trim().is_empty());
    let name = config
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
    config: DirectoryConfig<'_>,
    pool: &PgPool,
    allow_mass_delete: bool,
) -> Result<Plan, DirectoryError> {
    let dir = &config.directory;
    let group = aliyun_group(config)?;
    let mut rows = source::read(dir.source.as_deref(), (&dir.columns, dir.reading()), pool)
        .await
        .map_err(DirectoryError::Source)?;
    if rows.is_empty() {
        return Err(DirectoryError::Empty);
    }
    let tree = match dir.departments_source.as_deref() {
        Some(path) => {
            let read = tree::DepartmentTree::read(path.as_ref(), &dir.reading());
            Some(read.map_err(DirectoryError::Source)?)
        }
        None => None,
    };
    if let Some(tree) = &tree {
        tree.fill_paths(&mut rows);
    }
    let mut desired = validate::validate(rows, dir.default_role(), dir.employee_id_case);
    if let Some(tree) = &tree {
        tree.merge_into(&mut desired);
    }
    if desired.people.len() < dir.min_rows.max(1) {
        return Err(DirectoryError::TooFew {
            valid: desired.people.len(),
            min: dir.min_rows.max(1),
        });
    }
    let tenant = config.tenant;
    let departments = store::directory::departments(pool, tenant).await?;
    identity::keep_remembered_ids(&mut desired, &departments);
    let users = store::directory::users(pool, tenant).await?;
    keys::adopt_stored_ids(&mut desired, &users, dir.employee_id_case);
    let uncertain = store::directory_uncertain::list(pool, tenant).await?;
    let released = store::directory_released::list(pool, tenant).await?;
    let mut plan = plan::build(
        desired,
        departments,
        users,
        PlanOptions {
            settings: dir,
            uncertain: &uncertain,
            released: &released,
            group,
            allow_mass_delete,
            now: chrono::Utc::now(),
        },
    );
    let recorded = store::directory::user_fields(pool, tenant, &plan.recorded_people()).await?;
    plan.describe_updates(recorded);
    Ok(plan)
}

/// The clients an apply pushes with: one per target that is on.
#[derive(Clone, Default)]
pub struct Targets {
    pub cloudroom: Option<CloudRoomClient>,
    pub aliyun: Option<AliyunClient>,
}

impl Targets {
    /// The clients of the targets `config.directory` turns on; a target
    /// that is on without a client is a configuration problem.
    pub fn for_settings(
        config: DirectoryConfig<'_>,
        cloudroom: Option<&CloudRoomClient>,
        aliyun: Option<&AliyunClient>,
    ) -> Result<Targets, DirectoryError> {
        let aliyun = match (config.directory.aliyun, aliyun) {
            (false, _) => None,
            (true, Some(client)) => Some(client.clone()),
            (true, None) => {
                let problem = AliyunClient::new(config.aliyun).err();
                return Err(DirectoryError::Config(problem.map_or_else(
                    || "directory.aliyun is on but no Aliyun client was built".into(),
                    |e| crate::causes::Chain(&e).to_string(),
                )));
            }
        };
        let cloudroom = match (config.directory.cloudroom, cloudroom) {
            (false, _) => None,
            (true, Some(client)) => Some(client.clone()),
            (true, None) => {
                return Err(DirectoryError::Config(
                    "directory.cloudroom is on but cloudroom.secret_id and cloudroom.secret_key are not set".into(),
                ))
            }
        };
        Ok(Targets { cloudroom, aliyun })
    }
}

/// One apply: plan, then execute. The caller ([`crate::jobs::Directory`])
/// holds the lock and records the run.
///
/// Errors are runs that changed nothing ([`DirectoryError`] inside the
/// `anyhow::Error`: bad source, configuration) or a database failure
/// midway; object failures are not errors but `failures` in the summary
/// (`summary.failed()`).
pub async fn apply(
    config: DirectoryConfig<'_>,
    pool: &PgPool,
    targets: Targets,
    options: ApplyOptions,
    cancel: CancellationToken,
    run_id: i64,
) -> anyhow::Result<ApplySummary> {
    let started = Instant::now();
    let Targets { cloudroom, aliyun } = targets;
    let plan = prepare(config, pool, options.allow_mass_delete).await?;
    let plan_seconds = started.elapsed().as_secs_f64();
    let executor = Executor {
        plan: &plan,
        pool,
        tenant: config.tenant,
        run_id: Some(run_id),
        cloudroom: cloudroom.clone(),
        aliyun: aliyun.clone(),
        batch_size: config.aliyun.batch_size,
        concurrency: config.directory.concurrency.max(1),
        cancel,
    };
    let executed = executor.run().await?;
    let mut held = plan.held.clone();
    held.extend(executed.held);
    Ok(ApplySummary {
        rows_read: plan.desired.rows_read,
        valid_rows: plan.desired.people.len(),
        problems: plan.desired.problems.clone(),
        outcomes: executed.outcomes,
        failures: executed.failures,
        held,
        mass_delete: plan.mass_delete.clone(),
        cancelled: executed.cancelled,
        plan_seconds,
    })
}

/// Reads a sample of pushed people back from Aliyun.
pub async fn run_verify(
    config: DirectoryConfig<'_>,
    pool: &PgPool,
) -> anyhow::Result<verify::VerifyReport> {
    let client =
        AliyunClient::new(config.aliyun).map_err(|e| DirectoryError::Config(e.to_string()))?;
    let sample =
        store::directory::aliyun_sample(pool, config.tenant, config.directory.verify_sample)
            .await?;
    Ok(verify::check(&client, sample).await)
}
