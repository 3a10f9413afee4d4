//! Carrying out a [`Plan`]: CloudRoom departments parents first, then
//! users, then user deletes, then department deletes leaves first; Aliyun
//! upserts in batches, then deletes. Every object's outcome is recorded in
//! `directory.changes`; a failed object keeps its old hash, so the next run
//! retries it, and the rest carry on.
//!
//! Results are written as they arrive (per department level, per chunk of
//! users, per Aliyun batch), so a run stopped midway has recorded what it
//! did and the next run picks up the rest.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Context as _;
use chrono::Utc;
use futures::stream::{self, StreamExt};
use secrecy::SecretString;
use serde::Serialize;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::model::{self, Department, Person, CLOUDROOM_ROOT_ID};
use super::password;
use super::plan::{Action, Change, Kind, Plan, Target};
use crate::aliyun::{AliyunClient, AliyunError, UserInfo};
use crate::cloudroom::{
    with_request_ids, CloudRoomClient, CloudRoomError, CreateUser, DepartmentRequest, UpdateUser,
};
mod aliyun;
mod departments;
mod users;

use users::created_id;

use crate::store::directory::{
    self as store, ChangeRecord, DepartmentWrite, StagedDelete, UserWrite,
};
use crate::store::directory_uncertain::{self as uncertain, UncertainDepartment};

/// Results written per transaction while users are pushed.
const FLUSH_EVERY: usize = 500;

/// What one run did, per section.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Outcomes {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    pub failed: usize,
    pub staged: usize,
}

/// One object that failed.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub target: &'static str,
    pub action: &'static str,
    pub object: String,
    pub vendor_code: Option<String>,
    pub message: String,
}

/// What happened to each object, totalled.
#[derive(Debug, Default)]
pub struct Executed {
    pub outcomes: BTreeMap<&'static str, Outcomes>,
    pub failures: Vec<Failure>,
    pub cancelled: bool,
    pub held: Vec<String>,
}

/// A vendor's answer to one object.
struct Done {
    target: Target,
    kind: Kind,
    planned: Action,
    action: &'static str,
    object: String,
    request_id: Option<String>,
    result: Result<Applied, Refused>,
}

impl Done {
    /// A CloudRoom outcome of `change`, named `action` in the audit.
    fn cloudroom(
        kind: Kind,
        change: &Change,
        action: &'static str,
        request_id: Option<String>,
        result: Result<Applied, Refused>,
    ) -> Done {
        Done {
            target: Target::CloudRoom,
            kind,
            planned: change.action,
            action,
            object: change.key.clone(),
            request_id,
            result,
        }
    }
}

enum Applied {
    Department(DepartmentWrite),
    CloudRoomUser(UserWrite),
    AliyunUser(UserWrite),
    /// A department or an Aliyun user is gone.
    Removed,
    /// This CloudRoom account is gone (the record is cleared only while
    /// it still names that account).
    RemovedAccount(String),
    /// A department create got no answer: it may exist now.
    Uncertain(UncertainDepartment),
}

struct Refused {
    code: Option<String>,
    message: String,
}

impl From<CloudRoomError> for Refused {
    fn from(e: CloudRoomError) -> Self {
        Refused {
            code: e.code().map(|c| c.to_string()),
            message: crate::causes::Chain(&e).to_string(),
        }
    }
}

impl From<&AliyunError> for Refused {
    fn from(e: &AliyunError) -> Self {
        Refused {
            code: e.code(),
            message: crate::causes::Chain(e).to_string(),
        }
    }
}

fn refused(message: impl Into<String>) -> Refused {
    Refused {
        code: None,
        message: message.into(),
    }
}

/// The vendors and where results go.
pub struct Executor<'a> {
    pub plan: &'a Plan,
    pub pool: &'a PgPool,
    pub tenant: &'a str,
    pub run_id: Option<i64>,
    pub cloudroom: Option<CloudRoomClient>,
    pub aliyun: Option<AliyunClient>,
    pub batch_size: usize,
    pub concurrency: usize,
    pub cancel: CancellationToken,
}

impl Executor<'_> {
    pub async fn run(&self) -> anyhow::Result<Executed> {
        let mut executed = Executed::default();
        self.record_bookkeeping().await?;
        let mut dept_ids: HashMap<String, i64> = self
            .plan
            .stored_departments
            .values()
            .map(|d| (d.key.clone(), d.cloudroom_id))
            .collect();
        if let Some(client) = &self.cloudroom {
            self.push_departments(client, &mut dept_ids, &mut executed)
                .await?;
            let failed_before = executed.failures.len();
            self.push_users(client, &dept_ids, &mut executed).await?;
            self.delete_users(client, &dept_ids, &mut executed).await?;
            let users_ok = executed.failures.len() == failed_before;
            self.delete_departments(client, users_ok, &dept_ids, &mut executed)
                .await?;
        }
        if let Some(client) = &self.aliyun {
            self.push_aliyun(client, &mut executed).await?;
            self.delete_aliyun(client, &mut executed).await?;
        }
        for change in self.plan.changes.iter().filter(|c| c.staged) {
            section(&mut executed, change.target, change.kind).staged += 1;
        }
        Ok(executed)
    }

    fn stopped(&self, executed: &mut Executed) -> bool {
        if self.cancel.is_cancelled() {
            executed.cancelled = true;
        }
        executed.cancelled
    }

    /// Calls not yet started when the run is cancelled are not made; those
    /// in flight finish and are recorded.
    async fn unless_cancelled(
        &self,
        call: impl std::future::Future<Output = Done>,
    ) -> Option<Done> {
        if self.cancel.is_cancelled() {
            return None;
        }
        Some(call.await)
    }

    fn changes(&self, target: Target, kind: Kind, actions: &[Action]) -> Vec<&Change> {
        self.plan
            .changes
            .iter()
            .filter(|c| {
                c.target == target && c.kind == kind && actions.contains(&c.action) && !c.staged
            })
            .collect()
    }

    /// Grace periods, staged deletes and department paths that moved with
    /// a renamed ancestor: database only, no vendor call.
    async fn record_bookkeeping(&self) -> anyhow::Result<()> {
        let now = Utc::now();
        let mut tx = crate::store::begin_durable(self.pool).await?;
        let leavers: Vec<&str> = self.plan.leavers.iter().map(String::as_str).collect();
        let returned: Vec<&str> = self.plan.returned.iter().map(String::as_str).collect();
        store::mark_leavers(&mut tx, self.tenant, &leavers, &returned, now).await?;
        let staged: Vec<StagedDelete> = self
            .plan
            .changes
            .iter()
            .filter(|c| c.staged)
            .map(|c| StagedDelete {
                target: c.target.as_str(),
                kind: kind_name(c.kind),
                object: c.key.clone(),
            })
            .collect();
        store::replace_staged(&mut tx, self.tenant, &staged, now).await?;
        let moved_paths: Vec<DepartmentWrite> = self
            .plan
            .desired
            .departments
            .values()
            .filter_map(|d| {
                let stored = self.plan.stored_departments.get(&d.key)?;
                let hash = model::hash(&d.cloudroom_fields());
                (stored.path != d.path && stored.content_hash == hash).then(|| DepartmentWrite {
                    key: d.key.clone(),
                    cloudroom_id: stored.cloudroom_id,
                    name: d.name.clone(),
                    parent_key: d.parent_key.clone(),
                    path: d.path.clone(),
                    content_hash: hash,
                })
            })
            .collect();
        store::save_departments(&mut tx, self.tenant, &moved_paths, now).await?;
        tx.commit()
            .await
            .context("cannot commit directory bookkeeping")?;
        Ok(())
    }

    /// Writes a batch of outcomes: state for the successes, an audit row
    /// for everything, in one transaction.
    async fn save(&self, done: Vec<Done>, executed: &mut Executed) -> anyhow::Result<()> {
        if done.is_empty() {
            return Ok(());
        }
        let mut writes = Writes::default();
        for d in &done {
            tally(d, executed);
            writes.add(d);
        }
        let mut tx = crate::store::begin_durable(self.pool).await?;
        writes.write(&mut tx, self.tenant, self.run_id).await?;
        tx.commit()
            .await
            .context("cannot commit directory results")?;
        Ok(())
    }
}

/// Counts one outcome in its section; a failure is logged and listed.
fn tally(d: &Done, executed: &mut Executed) {
    let outcomes = section(executed, d.target, d.kind);
    if let Ok(Applied::Uncertain(u)) = &d.result {
        outcomes.failed += 1;
        executed.failures.push(Failure {
            target: d.target.as_str(),
            action: d.action,
            object: d.object.clone(),
            vendor_code: None,
            message: uncertain_note(u),
        });
        return;
    }
    let Err(e) = &d.result else {
        match d.planned {
            Action::Create => outcomes.created += 1,
            Action::Update => outcomes.updated += 1,
            Action::Delete => outcomes.deleted += 1,
        }
        return;
    };
    outcomes.failed += 1;
    tracing::warn!(target_system = d.target.as_str(), action = d.action, object = %d.object, error = %e.message, "directory change failed; retried next run");
    executed.failures.push(Failure {
        target: d.target.as_str(),
        action: d.action,
        object: d.object.clone(),
        vendor_code: e.code.clone(),
        message: e.message.clone(),
    });
}

/// What a batch of outcomes changes in `directory.*`, written in one transaction.
#[derive(Default)]
struct Writes<'d> {
    departments: Vec<DepartmentWrite>,
    cloudroom_users: Vec<UserWrite>,
    aliyun_users: Vec<UserWrite>,
    removed: HashMap<(Target, Kind), Vec<&'d str>>,
    removed_accounts: Vec<(String, String)>,
    uncertain: Vec<UncertainDepartment>,
    records: Vec<ChangeRecord>,
}

impl<'d> Writes<'d> {
    fn add(&mut self, d: &'d Done) {
        match &d.result {
            Ok(Applied::Department(w)) => self.departments.push(w.clone()),
            Ok(Applied::CloudRoomUser(w)) => self.cloudroom_users.push(w.clone()),
            Ok(Applied::AliyunUser(w)) => self.aliyun_users.push(w.clone()),
            Ok(Applied::Removed) => self
                .removed
                .entry((d.target, d.kind))
                .or_default()
                .push(&d.object),
            Ok(Applied::RemovedAccount(account)) => self
                .removed_accounts
                .push((d.object.clone(), account.clone())),
            Ok(Applied::Uncertain(u)) => self.uncertain.push(u.clone()),
            Err(_) => {}
        }
        let (outcome, message) = match &d.result {
            Ok(Applied::Uncertain(u)) => ("failed", Some(uncertain_note(u))),
            Ok(_) => ("ok", None),
            Err(e) => ("failed", Some(e.message.clone())),
        };
        self.records.push(ChangeRecord {
            target: d.target.as_str(),
            action: d.action,
            object: d.object.clone(),
            request_id: d.request_id.clone(),
            outcome,
            vendor_code: d.result.as_ref().err().and_then(|e| e.code.clone()),
            message,
        });
    }

    async fn write(
        &self,
        tx: &mut sqlx::PgConnection,
        tenant: &str,
        run_id: Option<i64>,
    ) -> anyhow::Result<()> {
        let now = Utc::now();
        store::save_departments(tx, tenant, &self.departments, now).await?;
        store::save_cloudroom_users(tx, tenant, &self.cloudroom_users, now).await?;
        store::save_aliyun_users(tx, tenant, &self.aliyun_users, now).await?;
        for ((target, kind), objects) in &self.removed {
            match (target, kind) {
                (Target::CloudRoom, Kind::Department) => {
                    store::forget_departments(tx, tenant, objects).await?
                }
                (Target::CloudRoom, Kind::User) => {}
                (Target::Aliyun, _) => store::remove_aliyun_users(tx, tenant, objects).await?,
            }
        }
        store::remove_cloudroom_accounts(tx, tenant, &self.removed_accounts).await?;
        uncertain::record(tx, tenant, run_id, &self.uncertain).await?;
        store::record_changes(tx, tenant, run_id, &self.records).await?;
        Ok(())
    }
}

/// What an uncertain create means and how a person settles it.
pub fn uncertain_note(u: &UncertainDepartment) -> String {
    format!(
        "department {} [{}]: the create got no answer (X-CR-RequestId {}), so it may exist; it is not sent again. Look in CloudRoom's console, then run `confsync directory settle --department {} --id N` if it exists with departmentId N, or `--absent` if it does not (the next apply creates it)",
        u.path,
        u.key,
        u.request_id.as_deref().unwrap_or("unknown"),
        u.key
    )
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Department => "department",
        Kind::User => "user",
    }
}

/// The tally of one plan section.
fn section(executed: &mut Executed, target: Target, kind: Kind) -> &mut Outcomes {
    let title = match (target, kind) {
        (Target::CloudRoom, Kind::Department) => "cloudroom_departments",
        (Target::CloudRoom, Kind::User) => "cloudroom_users",
        (Target::Aliyun, _) => "aliyun_users",
    };
    executed.outcomes.entry(title).or_default()
}
