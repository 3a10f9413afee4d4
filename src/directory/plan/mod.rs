//! Desired state (the HR export) against stored state (what confsync
//! pushed): one [`Change`] per object and target, with the safety rules
//! applied (held rows, grace, mass-delete staging, occupied departments).
//! `plan` prints it; `apply` carries it out.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::model::{self, AliyunGroup, Department, Desired, Person};
use super::settings::DirectorySettings;
use super::validate::RowProblem;
use crate::store::directory::{StoredDepartment, StoredFields, StoredUser};

mod changes;
mod guard;
mod report;

use changes::*;
pub use report::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    CloudRoom,
    Aliyun,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::CloudRoom => "cloudroom",
            Target::Aliyun => "aliyun",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Department,
    User,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub old: String,
    pub new: String,
}

/// One call's worth of work (Aliyun upserts are batched at apply time).
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub target: Target,
    pub kind: Kind,
    pub action: Action,
    /// Department key or employee_id.
    pub key: String,
    /// Department path or account, for people reading the plan.
    pub label: String,
    pub fields: Vec<FieldChange>,
    /// A delete held back by directory.max_deletes.
    pub staged: bool,
    /// A CloudRoom account cannot be renamed: the new one is created and
    /// this old one deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_account: Option<String>,
}

/// Counts per section, as printed and as JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub staged: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct MassDelete {
    pub deletes: usize,
    pub limit: usize,
}

/// The plan and everything apply needs to carry it out.
#[derive(Debug)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Why something that looks like a change is not made this run.
    pub held: Vec<String>,
    pub mass_delete: Option<MassDelete>,
    /// People newly inactive or missing (their grace starts) and people back.
    pub leavers: Vec<String>,
    pub returned: Vec<String>,
    pub desired: Desired,
    pub people: HashMap<String, usize>,
    pub stored_departments: HashMap<String, StoredDepartment>,
    pub stored_users: HashMap<String, StoredUser>,
    pub group: Option<AliyunGroup>,
}

/// Inputs of [`build`] besides the two states.
pub struct PlanOptions<'a> {
    pub settings: &'a DirectorySettings,
    pub group: Option<AliyunGroup>,
    pub allow_mass_delete: bool,
    pub now: DateTime<Utc>,
}

pub fn build(
    desired: Desired,
    stored_departments: Vec<StoredDepartment>,
    stored_users: Vec<StoredUser>,
    options: PlanOptions<'_>,
) -> Plan {
    let people: HashMap<String, usize> = desired
        .people
        .iter()
        .enumerate()
        .map(|(i, p)| (p.employee_id.clone(), i))
        .collect();
    let mut plan = Plan {
        changes: Vec::new(),
        held: Vec::new(),
        mass_delete: None,
        leavers: Vec::new(),
        returned: Vec::new(),
        people,
        stored_departments: stored_departments
            .into_iter()
            .map(|d| (d.key.clone(), d))
            .collect(),
        stored_users: stored_users
            .into_iter()
            .map(|u| (u.employee_id.clone(), u))
            .collect(),
        group: options.group.clone(),
        desired,
    };
    let settings = options.settings;
    let deletable = plan.leaver_status(&options);
    if settings.cloudroom {
        plan.plan_departments();
        plan.plan_cloudroom_users(&deletable);
        plan.plan_department_deletes(&deletable);
    }
    if settings.aliyun {
        plan.plan_aliyun_users(&deletable);
    }
    plan.stage_mass_deletes(&options);
    plan
}

impl Plan {
    pub fn person(&self, employee_id: &str) -> Option<&Person> {
        self.people
            .get(employee_id)
            .map(|&i| &self.desired.people[i])
    }

    pub fn department(&self, key: &str) -> Option<&Department> {
        self.desired.departments.get(key)
    }

    /// Stored people that HR no longer lists as active, and whether each
    /// may be deleted now (grace over, nothing unknown in the export).
    fn leaver_status(&mut self, options: &PlanOptions<'_>) -> HashSet<String> {
        let grace = chrono::Duration::days(i64::from(options.settings.delete_grace_days));
        let mut deletable = HashSet::new();
        let mut waiting = 0;
        for user in self.stored_users.values() {
            let active = self.person(&user.employee_id).map(|p| p.active);
            if self.desired.held.contains(&user.employee_id) {
                continue;
            }
            if active == Some(true) {
                if user.first_seen_inactive.is_some() {
                    self.returned.push(user.employee_id.clone());
                }
                continue;
            }
            self.leavers.push(user.employee_id.clone());
            let since = user.first_seen_inactive.unwrap_or(options.now);
            if options.now - since >= grace {
                deletable.insert(user.employee_id.clone());
            } else {
                waiting += 1;
            }
        }
        if waiting > 0 {
            self.held.push(format!(
                "{waiting} leaver(s) wait for directory.delete_grace_days ({} days) before deletion",
                options.settings.delete_grace_days
            ));
        }
        let held_rows = self.desired.held.len();
        if held_rows > 0 {
            self.held.push(format!(
                "{held_rows} person(s) with bad rows are left as they are (neither updated nor deleted)"
            ));
        }
        if self.desired.unkeyed_problems > 0 && !deletable.is_empty() {
            self.held.push(format!(
                "{} leaver deletion(s) held: {} bad row(s) have no employee_id, so any leaver might be one of them",
                deletable.len(),
                self.desired.unkeyed_problems
            ));
            deletable.clear();
        }
        self.leavers.sort();
        self.returned.sort();
        deletable
    }

    /// Creates and updates, parents first.
    fn plan_departments(&mut self) {
        let mut wanted: Vec<&Department> = self.desired.departments.values().collect();
        wanted.sort_by(|a, b| a.depth.cmp(&b.depth).then(a.path.cmp(&b.path)));
        let mut changes = Vec::new();
        for dept in wanted {
            let fields = dept.cloudroom_fields();
            let change = match self.stored_departments.get(&dept.key) {
                None => department_change(Action::Create, dept.key.clone(), dept.path.clone()),
                Some(stored) if stored.content_hash != model::hash(&fields) => {
                    let mut change =
                        department_change(Action::Update, dept.key.clone(), dept.path.clone());
                    change.fields = department_diffs(stored, dept);
                    change
                }
                Some(_) => continue,
            };
            changes.push(change);
        }
        self.changes.extend(changes);
    }

    fn plan_cloudroom_users(&mut self, deletable: &HashSet<String>) {
        let mut changes = Vec::new();
        for person in self.desired.people.iter().filter(|p| p.active) {
            let stored = self
                .stored_users
                .get(&person.employee_id)
                .filter(|u| u.cloudroom_hash.is_some());
            let hash = model::hash(&person.cloudroom_fields());
            let action = match stored {
                None => Action::Create,
                Some(u) if u.cloudroom_hash.as_deref() != Some(hash.as_slice()) => Action::Update,
                Some(_) => continue,
            };
            let mut change = user_change(Target::CloudRoom, action, person);
            change.old_account = stored
                .filter(|u| u.account != person.account)
                .map(|u| u.account.clone());
            changes.push(change);
        }
        for user in self.stored_users.values() {
            if user.cloudroom_hash.is_some() && deletable.contains(&user.employee_id) {
                changes.push(Change {
                    label: user.account.clone(),
                    ..blank_change(
                        Target::CloudRoom,
                        Kind::User,
                        Action::Delete,
                        &user.employee_id,
                    )
                });
            }
        }
        sort_deletes_last(&mut changes);
        self.changes.extend(changes);
    }

    /// Departments HR no longer has, leaves first, except those that would
    /// still hold someone this run does not move or delete (CloudRoom would
    /// put them at the root as ordinary users).
    fn plan_department_deletes(&mut self, deletable: &HashSet<String>) {
        let mut occupied: HashSet<&str> = HashSet::new();
        for user in self.stored_users.values() {
            let moved_or_deleted = deletable.contains(&user.employee_id)
                || self.person(&user.employee_id).is_some_and(|p| p.active)
                    && !self.desired.held.contains(&user.employee_id);
            if user.cloudroom_hash.is_some() && !moved_or_deleted {
                if let Some(dept) = &user.cloudroom_department {
                    occupied.insert(dept.as_str());
                }
            }
        }
        let mut kept: HashSet<&str> = HashSet::new();
        for key in &occupied {
            let mut current = Some(*key);
            while let Some(key) = current {
                if !kept.insert(key) {
                    break;
                }
                current = self
                    .stored_departments
                    .get(key)
                    .and_then(|d| d.parent_key.as_deref());
            }
        }
        let mut gone: Vec<&StoredDepartment> = self
            .stored_departments
            .values()
            .filter(|d| !self.desired.departments.contains_key(&d.key))
            .collect();
        let held = gone
            .iter()
            .filter(|d| kept.contains(d.key.as_str()))
            .count();
        gone.retain(|d| !kept.contains(d.key.as_str()));
        gone.sort_by(|a, b| {
            depth_of(&b.path)
                .cmp(&depth_of(&a.path))
                .then(a.path.cmp(&b.path))
        });
        let changes: Vec<Change> = gone
            .into_iter()
            .map(|d| department_change(Action::Delete, d.key.clone(), d.path.clone()))
            .collect();
        if held > 0 {
            self.held.push(format!(
                "{held} department(s) HR no longer lists still hold people this run leaves in place; they are kept"
            ));
        }
        self.changes.extend(changes);
    }

    fn plan_aliyun_users(&mut self, deletable: &HashSet<String>) {
        let Some(group) = self.group.clone() else {
            return;
        };
        let mut changes = Vec::new();
        for person in self.desired.people.iter().filter(|p| p.active) {
            let stored = self
                .stored_users
                .get(&person.employee_id)
                .and_then(|u| u.aliyun_hash.as_deref());
            let fields =
                model::aliyun_fields(&person.aliyun_user(&group, &self.desired.departments));
            let action = match stored {
                None => Action::Create,
                Some(h) if h != model::hash(&fields).as_slice() => Action::Update,
                Some(_) => continue,
            };
            changes.push(user_change(Target::Aliyun, action, person));
        }
        for user in self.stored_users.values() {
            if user.aliyun_hash.is_some() && deletable.contains(&user.employee_id) {
                changes.push(Change {
                    label: user.account.clone(),
                    ..blank_change(
                        Target::Aliyun,
                        Kind::User,
                        Action::Delete,
                        &user.employee_id,
                    )
                });
            }
        }
        sort_deletes_last(&mut changes);
        self.changes.extend(changes);
    }

    /// Fills in `old -> new` for user updates from the stored fields.
    pub fn describe_updates(&mut self, stored: &HashMap<String, StoredFields>) {
        let group = self.group.clone();
        let mut described = Vec::new();
        for (i, change) in self.changes.iter().enumerate() {
            if change.kind != Kind::User || change.action != Action::Update {
                continue;
            }
            let (Some(person), Some(old)) = (self.person(&change.key), stored.get(&change.key))
            else {
                continue;
            };
            let diffs = match change.target {
                Target::CloudRoom => {
                    model::field_diffs(old.cloudroom.as_ref(), &person.cloudroom_fields())
                }
                Target::Aliyun => match &group {
                    Some(g) => model::field_diffs(
                        old.aliyun.as_ref(),
                        &model::aliyun_fields(&person.aliyun_user(g, &self.desired.departments)),
                    ),
                    None => Vec::new(),
                },
            };
            described.push((i, diffs));
        }
        for (i, diffs) in described {
            self.changes[i].fields = diffs
                .into_iter()
                .map(|(field, old, new)| FieldChange { field, old, new })
                .collect();
        }
    }

    /// Employee ids of user updates (whose stored fields the plan shows).
    pub fn updated_people(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .changes
            .iter()
            .filter(|c| c.kind == Kind::User && c.action == Action::Update)
            .map(|c| c.key.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    pub fn problems(&self) -> &[RowProblem] {
        &self.desired.problems
    }

    pub fn counts(&self, target: Target, kind: Kind) -> Counts {
        let mut counts = Counts::default();
        for c in self
            .changes
            .iter()
            .filter(|c| c.target == target && c.kind == kind)
        {
            match (c.action, c.staged) {
                (_, true) => counts.staged += 1,
                (Action::Create, _) => counts.create += 1,
                (Action::Update, _) => counts.update += 1,
                (Action::Delete, _) => counts.delete += 1,
            }
        }
        counts
    }

    /// Whether apply has nothing to send.
    pub fn is_empty(&self) -> bool {
        self.changes.iter().all(|c| c.staged)
    }

    pub fn report(&self) -> PlanReport<'_> {
        let sections = SECTIONS
            .iter()
            .map(|&(target, kind, title)| (title, self.counts(target, kind)))
            .collect();
        PlanReport {
            rows_read: self.desired.rows_read,
            valid_rows: self.desired.people.len(),
            problems: &self.desired.problems,
            counts: sections,
            mass_delete: self.mass_delete.as_ref(),
            held: &self.held,
            changes: &self.changes,
        }
    }
}
