//! Carrying out a [`Plan`]: CloudRoom departments parents first, then
//! users, then user deletes, then department deletes leaves first; Aliyun
//! upserts in batches, then deletes. Every object's outcome is recorded in
//! `directory.changes`; a failed object keeps its old hash, so the next run
//! retries it, and the rest carry on.
//!
//! Results are written as they arrive (per department level, per chunk of
//! users, per Aliyun batch), so a run stopped midway has recorded what it
//! did and the next run picks up the rest.

use std::collections::{BTreeMap, HashMap};

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
use crate::store::directory::{
    self as store, ChangeRecord, DepartmentWrite, Removed, StagedDelete, UserWrite,
};

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

/// A delete is done when CloudRoom says so, or says the object is already gone.
fn removed(answer: Result<(), CloudRoomError>) -> Result<Applied, Refused> {
    match answer {
        Ok(()) => Ok(Applied::Removed),
        Err(e) if e.is_not_found() => Ok(Applied::Removed),
        Err(e) => Err(e.into()),
    }
}

enum Applied {
    Department(DepartmentWrite),
    CloudRoomUser(UserWrite),
    AliyunUser(UserWrite),
    Removed,
}

struct Refused {
    code: Option<String>,
    message: String,
}

impl From<CloudRoomError> for Refused {
    fn from(e: CloudRoomError) -> Self {
        Refused {
            code: e.code().map(|c| c.to_string()),
            message: e.to_string(),
        }
    }
}

impl From<&AliyunError> for Refused {
    fn from(e: &AliyunError) -> Self {
        Refused {
            code: e.code(),
            message: e.to_string(),
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
            self.delete_users(client, &mut executed).await?;
            let users_ok = executed.failures.len() == failed_before;
            self.delete_departments(client, users_ok, &mut executed)
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

    // ---------------------------------------------------------- departments

    /// Level by level, so that every parent exists before its children.
    async fn push_departments(
        &self,
        client: &CloudRoomClient,
        dept_ids: &mut HashMap<String, i64>,
        executed: &mut Executed,
    ) -> anyhow::Result<()> {
        let changes = self.changes(
            Target::CloudRoom,
            Kind::Department,
            &[Action::Create, Action::Update],
        );
        let mut levels: BTreeMap<usize, Vec<&Change>> = BTreeMap::new();
        for change in changes {
            if let Some(dept) = self.plan.department(&change.key) {
                levels.entry(dept.depth).or_default().push(change);
            }
        }
        for (_, level) in levels {
            if self.stopped(executed) {
                return Ok(());
            }
            // The parents' ids, as they stood when this level began.
            let parents = dept_ids.clone();
            // Each result is saved as soon as it arrives: CloudRoom cannot list
            // departments, so an id not recorded before a crash means a
            // duplicate on the next run; this keeps that to the requests in flight.
            let mut results = stream::iter(level)
                .map(|change| self.push_department(client, change, &parents))
                .buffer_unordered(self.concurrency)
                .boxed()
                .ready_chunks(self.concurrency);
            while let Some(done) = results.next().await {
                for d in &done {
                    if let Ok(Applied::Department(w)) = &d.result {
                        dept_ids.insert(w.key.clone(), w.cloudroom_id);
                    }
                }
                self.save(done, executed).await?;
            }
        }
        Ok(())
    }

    async fn push_department(
        &self,
        client: &CloudRoomClient,
        change: &Change,
        ids: &HashMap<String, i64>,
    ) -> Done {
        let action = match change.action {
            Action::Create => "department.create",
            _ => "department.update",
        };
        let mut done = Done::cloudroom(
            Kind::Department,
            change,
            action,
            None,
            Err(refused("not in the plan")),
        );
        let Some(dept) = self.plan.department(&change.key) else {
            return done;
        };
        let parent_id = match &dept.parent_key {
            None => Some(CLOUDROOM_ROOT_ID),
            Some(key) => ids.get(key).copied(),
        };
        let Some(parent_id) = parent_id else {
            done.result = Err(refused("its parent department could not be created"));
            return done;
        };
        let body = DepartmentRequest {
            name: dept.name.clone(),
            parent_id,
        };
        let stored_id = self
            .plan
            .stored_departments
            .get(&dept.key)
            .map(|d| d.cloudroom_id);
        let (answer, mut request_ids) = with_request_ids(async {
            match stored_id {
                Some(id) => match client.update_department(id, &body).await {
                    Ok(_) => Ok(id),
                    // Deleted in CloudRoom's own console: create it again.
                    Err(e) if e.is_not_found() => {
                        done.action = "department.recreate";
                        created_id(client.create_department(&body).await)
                    }
                    Err(e) => Err(e.into()),
                },
                None => created_id(client.create_department(&body).await),
            }
        })
        .await;
        done.request_id = request_ids.pop();
        done.result =
            answer.map(|cloudroom_id| Applied::Department(department_write(dept, cloudroom_id)));
        done
    }

    async fn delete_departments(
        &self,
        client: &CloudRoomClient,
        users_ok: bool,
        executed: &mut Executed,
    ) -> anyhow::Result<()> {
        let changes = self.changes(Target::CloudRoom, Kind::Department, &[Action::Delete]);
        if changes.is_empty() {
            return Ok(());
        }
        if !users_ok {
            // A user who failed to move out would land at the root as an
            // ordinary user: wait for a run in which every user moved.
            executed.held.push(format!(
                "{} department delete(s) wait for a run in which every CloudRoom user change succeeds",
                changes.len()
            ));
            return Ok(());
        }
        // Changes come leaves first; a level is every department of one depth.
        let mut levels: BTreeMap<std::cmp::Reverse<usize>, Vec<&Change>> = BTreeMap::new();
        for change in changes {
            let depth = change.label.matches(model::PATH_SEPARATOR).count();
            levels
                .entry(std::cmp::Reverse(depth))
                .or_default()
                .push(change);
        }
        for (_, level) in levels {
            if self.stopped(executed) {
                return Ok(());
            }
            let done: Vec<Done> = stream::iter(level)
                .map(|change| async move {
                    let id = self
                        .plan
                        .stored_departments
                        .get(&change.key)
                        .map(|d| d.cloudroom_id);
                    let mut request_ids = Vec::new();
                    let result = match id {
                        Some(id) => {
                            let (answer, ids) =
                                with_request_ids(client.delete_department(id)).await;
                            request_ids = ids;
                            removed(answer)
                        }
                        None => Err(refused("no CloudRoom id recorded")),
                    };
                    Done::cloudroom(
                        Kind::Department,
                        change,
                        "department.delete",
                        request_ids.pop(),
                        result,
                    )
                })
                .buffer_unordered(self.concurrency)
                .boxed()
                .collect()
                .await;
            self.save(done, executed).await?;
        }
        Ok(())
    }

    // ---------------------------------------------------------------- users

    async fn push_users(
        &self,
        client: &CloudRoomClient,
        dept_ids: &HashMap<String, i64>,
        executed: &mut Executed,
    ) -> anyhow::Result<()> {
        let changes = self.changes(
            Target::CloudRoom,
            Kind::User,
            &[Action::Create, Action::Update],
        );
        let mut results = stream::iter(changes)
            .map(|change| self.unless_cancelled(self.push_user(client, change, dept_ids)))
            .buffer_unordered(self.concurrency)
            .boxed()
            .filter_map(std::future::ready)
            .chunks(FLUSH_EVERY);
        while let Some(done) = results.next().await {
            self.save(done, executed).await?;
            if self.stopped(executed) {
                return Ok(());
            }
        }
        Ok(())
    }

    async fn push_user(
        &self,
        client: &CloudRoomClient,
        change: &Change,
        dept_ids: &HashMap<String, i64>,
    ) -> Done {
        let action = match change.action {
            Action::Create => "user.create",
            _ => "user.update",
        };
        let mut done = Done::cloudroom(
            Kind::User,
            change,
            action,
            None,
            Err(refused("not in the plan")),
        );
        let Some(person) = self.plan.person(&change.key) else {
            return done;
        };
        let department_id = match &person.department {
            None => Some(CLOUDROOM_ROOT_ID),
            Some(key) => dept_ids.get(key).copied(),
        };
        let Some(department_id) = department_id else {
            done.result = Err(refused("its department could not be created"));
            return done;
        };
        let record = UserRecord {
            person,
            department_id,
        };
        let (outcome, mut request_ids) = with_request_ids(async {
            match (change.action, &change.old_account) {
                (Action::Update, None) => {
                    match client.update_user(&person.account, &record.update()).await {
                        Ok(()) => Ok("updated"),
                        // Deleted in CloudRoom's own console: create it again.
                        Err(e) if e.is_not_found() => record.create_or_adopt(client).await,
                        Err(e) => Err(e.into()),
                    }
                }
                (Action::Update, Some(old)) => {
                    done.action = "user.replace";
                    replace_account(client, &record, old).await
                }
                _ => record.create_or_adopt(client).await,
            }
        })
        .await;
        done.request_id = request_ids.pop();
        done.result = outcome.map(|how| {
            if how == "adopted" {
                done.action = "user.adopt";
            }
            let fields = person.cloudroom_fields();
            Applied::CloudRoomUser(UserWrite {
                employee_id: person.employee_id.clone(),
                account: person.account.clone(),
                origin: matches!(how, "created" | "adopted").then_some(how),
                hash: model::hash(&fields),
                fields,
            })
        });
        done
    }

    async fn delete_users(
        &self,
        client: &CloudRoomClient,
        executed: &mut Executed,
    ) -> anyhow::Result<()> {
        let changes = self.changes(Target::CloudRoom, Kind::User, &[Action::Delete]);
        let mut results = stream::iter(changes)
            .map(|change| {
                self.unless_cancelled(async move {
                    let (answer, mut request_ids) =
                        with_request_ids(client.delete_user(&change.label)).await;
                    Done::cloudroom(
                        Kind::User,
                        change,
                        "user.delete",
                        request_ids.pop(),
                        removed(answer),
                    )
                })
            })
            .buffer_unordered(self.concurrency)
            .boxed()
            .filter_map(std::future::ready)
            .chunks(FLUSH_EVERY);
        while let Some(done) = results.next().await {
            self.save(done, executed).await?;
            if self.stopped(executed) {
                return Ok(());
            }
        }
        Ok(())
    }

    // --------------------------------------------------------------- aliyun

    /// CreateUser upserts, so creates and updates share batches.
    async fn push_aliyun(
        &self,
        client: &AliyunClient,
        executed: &mut Executed,
    ) -> anyhow::Result<()> {
        let Some(group) = &self.plan.group else {
            return Ok(());
        };
        let changes = self.changes(
            Target::Aliyun,
            Kind::User,
            &[Action::Create, Action::Update],
        );
        let entries: Vec<(&Change, UserInfo)> = changes
            .into_iter()
            .filter_map(|c| {
                let person = self.plan.person(&c.key)?;
                Some((c, person.aliyun_user(group, &self.plan.desired.departments)))
            })
            .collect();
        for batch in entries.chunks(self.batch_size.max(1)) {
            if self.stopped(executed) {
                return Ok(());
            }
            let users: Vec<UserInfo> = batch.iter().map(|(_, u)| u.clone()).collect();
            let answer = client.create_user_batch(&users).await;
            let done = batch
                .iter()
                .map(|(change, user)| {
                    let fields = model::aliyun_fields(user);
                    aliyun_done(change, "CreateUser", &answer, || {
                        Applied::AliyunUser(UserWrite {
                            employee_id: change.key.clone(),
                            account: change.label.clone(),
                            origin: None,
                            hash: model::hash(&fields),
                            fields: fields.clone(),
                        })
                    })
                })
                .collect();
            self.save(done, executed).await?;
        }
        Ok(())
    }

    async fn delete_aliyun(
        &self,
        client: &AliyunClient,
        executed: &mut Executed,
    ) -> anyhow::Result<()> {
        let changes = self.changes(Target::Aliyun, Kind::User, &[Action::Delete]);
        for batch in changes.chunks(self.batch_size.max(1)) {
            if self.stopped(executed) {
                return Ok(());
            }
            let ids: Vec<String> = batch.iter().map(|c| c.key.clone()).collect();
            let results = client.delete_users(&ids).await;
            let answer = match results.into_iter().next() {
                Some(r) => r.outcome,
                None => Ok(String::new()),
            };
            let done = batch
                .iter()
                .map(|change| aliyun_done(change, "DeleteUser", &answer, || Applied::Removed))
                .collect();
            self.save(done, executed).await?;
        }
        Ok(())
    }

    // --------------------------------------------------------------- results

    /// Writes a batch of outcomes: state for the successes, an audit row
    /// for everything, in one transaction.
    async fn save(&self, done: Vec<Done>, executed: &mut Executed) -> anyhow::Result<()> {
        if done.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let mut departments = Vec::new();
        let mut cloudroom_users = Vec::new();
        let mut aliyun_users = Vec::new();
        let mut removed: HashMap<(Target, Kind), Vec<&str>> = HashMap::new();
        let mut records = Vec::with_capacity(done.len());
        for d in &done {
            let tally = section(executed, d.target, d.kind);
            match &d.result {
                Ok(applied) => {
                    match d.planned {
                        Action::Create => tally.created += 1,
                        Action::Update => tally.updated += 1,
                        Action::Delete => tally.deleted += 1,
                    }
                    match applied {
                        Applied::Department(w) => departments.push(w.clone()),
                        Applied::CloudRoomUser(w) => cloudroom_users.push(w.clone()),
                        Applied::AliyunUser(w) => aliyun_users.push(w.clone()),
                        Applied::Removed => removed
                            .entry((d.target, d.kind))
                            .or_default()
                            .push(&d.object),
                    }
                }
                Err(e) => {
                    tally.failed += 1;
                    tracing::warn!(target_system = d.target.as_str(), action = d.action, object = %d.object, error = %e.message, "directory change failed; retried next run");
                    executed.failures.push(Failure {
                        target: d.target.as_str(),
                        action: d.action,
                        object: d.object.clone(),
                        vendor_code: e.code.clone(),
                        message: e.message.clone(),
                    });
                }
            }
            records.push(ChangeRecord {
                target: d.target.as_str(),
                action: d.action,
                object: d.object.clone(),
                request_id: d.request_id.clone(),
                outcome: if d.result.is_ok() { "ok" } else { "failed" },
                vendor_code: d.result.as_ref().err().and_then(|e| e.code.clone()),
                message: d.result.as_ref().err().map(|e| e.message.clone()),
            });
        }
        let mut tx = crate::store::begin_durable(self.pool).await?;
        store::save_departments(&mut tx, self.tenant, &departments, now).await?;
        store::save_cloudroom_users(&mut tx, self.tenant, &cloudroom_users, now).await?;
        store::save_aliyun_users(&mut tx, self.tenant, &aliyun_users, now).await?;
        for ((target, kind), objects) in &removed {
            match (target, kind) {
                (Target::CloudRoom, Kind::Department) => {
                    store::forget_departments(&mut tx, self.tenant, objects).await?
                }
                (Target::CloudRoom, Kind::User) => {
                    store::remove_users(&mut tx, self.tenant, Removed::CloudRoom, objects).await?
                }
                (Target::Aliyun, _) => {
                    store::remove_users(&mut tx, self.tenant, Removed::Aliyun, objects).await?
                }
            }
        }
        store::record_changes(&mut tx, self.tenant, self.run_id, &records).await?;
        tx.commit()
            .await
            .context("cannot commit directory results")?;
        Ok(())
    }
}

/// One person's whole CloudRoom record: every PUT sends all of it, since
/// an omitted departmentId moves the user to the root and an omitted
/// roleType resets it.
struct UserRecord<'a> {
    person: &'a Person,
    department_id: i64,
}

impl UserRecord<'_> {
    fn update(&self) -> UpdateUser {
        let p = self.person;
        UpdateUser {
            password: None,
            name: Some(p.name.clone()),
            mobile: p.mobile.clone(),
            department_id: Some(self.department_id),
            role_type: Some(p.role.role_type()),
            email: p.email.clone(),
        }
    }

    fn create(&self, password: SecretString) -> CreateUser {
        let p = self.person;
        CreateUser {
            account: p.account.clone(),
            password,
            name: p.name.clone(),
            mobile: p.mobile.clone(),
            department_id: Some(self.department_id),
            role_type: Some(p.role.role_type()),
            email: p.email.clone(),
        }
    }

    /// Creates the account, or adopts it when it already exists (its
    /// password is left alone) and makes it match with a PUT.
    async fn create_or_adopt(&self, client: &CloudRoomClient) -> Result<&'static str, Refused> {
        let password = self
            .person
            .initial_password
            .clone()
            .unwrap_or_else(password::generate);
        match client.create_user(&self.create(password)).await {
            Ok(_) => Ok("created"),
            Err(e) if e.is_account_taken() => {
                client
                    .update_user(&self.person.account, &self.update())
                    .await?;
                Ok("adopted")
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// CloudRoom cannot rename an account: the new one is created (or adopted)
/// first, then the old one is deleted.
async fn replace_account(
    client: &CloudRoomClient,
    record: &UserRecord<'_>,
    old: &str,
) -> Result<&'static str, Refused> {
    let how = record.create_or_adopt(client).await?;
    match client.delete_user(old).await {
        Ok(()) => Ok(how),
        Err(e) if e.is_not_found() => Ok(how),
        Err(e) => Err(e.into()),
    }
}

fn created_id(
    answer: Result<crate::cloudroom::Department, CloudRoomError>,
) -> Result<i64, Refused> {
    match answer {
        Ok(d) => d
            .department_id
            .ok_or_else(|| refused("CloudRoom created the department but sent no departmentId")),
        Err(e) => Err(e.into()),
    }
}

fn department_write(dept: &Department, cloudroom_id: i64) -> DepartmentWrite {
    DepartmentWrite {
        key: dept.key.clone(),
        cloudroom_id,
        name: dept.name.clone(),
        parent_key: dept.parent_key.clone(),
        path: dept.path.clone(),
        content_hash: model::hash(&dept.cloudroom_fields()),
    }
}

fn aliyun_done(
    change: &Change,
    action: &'static str,
    answer: &Result<String, AliyunError>,
    applied: impl FnOnce() -> Applied,
) -> Done {
    let (request_id, result) = match answer {
        Ok(id) => (Some(id.clone()).filter(|s| !s.is_empty()), Ok(applied())),
        Err(e) => (e.request_id().map(str::to_string), Err(Refused::from(e))),
    };
    Done {
        target: Target::Aliyun,
        kind: Kind::User,
        planned: change.action,
        action,
        object: change.key.clone(),
        request_id,
        result,
    }
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
