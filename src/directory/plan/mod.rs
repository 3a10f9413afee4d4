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
use crate::store::directory_released::ReleasedAccount;
use crate::store::directory_uncertain::UncertainDepartment;

mod changes;
mod guard;
mod report;
mod users;

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
    /// CloudRoom user updates: the account as confsync recorded it (the
    /// spelling CloudRoom has), which the PUT addresses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_account: Option<String>,
    /// CloudRoom user updates: the account passes from another record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub takeover: Option<Takeover>,
    /// CloudRoom user deletes: the holder is still here, under another
    /// account (CloudRoom cannot rename one), and nobody claims this one.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub replaced: bool,
}

/// An account that passes from one record to another: CloudRoom cannot
/// rename accounts, so the record moves to the account, never the reverse.
#[derive(Debug, Clone, Serialize)]
pub struct Takeover {
    /// The employee id whose record held the account until now.
    pub from: String,
    /// Another person gets the account (its holder is still in the
    /// export): its password is reset. False when the holder vanished and
    /// the same account reappears under a new id (an HR migration).
    pub new_holder: bool,
    /// `created` or `adopted`, carried over.
    #[serde(skip)]
    pub origin: Option<String>,
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
    /// Destructive calls in all: what --allow-mass-delete would release.
    pub deletes: usize,
    pub limit: usize,
    /// CloudRoom user deletes, those of replaced accounts included.
    pub cloudroom_users: usize,
    pub departments: usize,
    pub aliyun_users: usize,
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
    /// The fields last sent of the people the plan changes or deletes:
    /// `old -> new` for the plan, and what a delete's proof re-sends.
    pub recorded: HashMap<String, StoredFields>,
    /// Accounts in `directory.protected_accounts` that the export names.
    pub protected: Vec<String>,
    pub group: Option<AliyunGroup>,
    /// Accounts their holder left for another, by account: deleted as
    /// replaced while nobody claims them (a failed DELETE is planned again).
    pub released: HashMap<String, ReleasedAccount>,
}

/// Inputs of [`build`] besides the two states.
pub struct PlanOptions<'a> {
    pub settings: &'a DirectorySettings,
    /// Department creates whose answer was lost: not sent again.
    pub uncertain: &'a [UncertainDepartment],
    pub released: &'a [ReleasedAccount],
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
        recorded: HashMap::new(),
        protected: Vec::new(),
        group: options.group.clone(),
        released: (options.released.iter())
            .map(|r| (r.account.clone(), r.clone()))
            .collect(),
        desired,
    };
    let settings = options.settings;
    let deletable = plan.leaver_status(&options);
    if settings.cloudroom {
        plan.plan_departments();
        plan.plan_cloudroom_users(&deletable, settings);
        plan.hold_uncertain(options.uncertain);
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

    /// Departments whose create got no answer, and everything below them,
    /// wait for a person to settle it; so do the people meant for them,
    /// who stay where they are.
    fn hold_uncertain(&mut self, uncertain: &[UncertainDepartment]) {
        if uncertain.is_empty() {
            return;
        }
        let roots: HashSet<&str> = uncertain.iter().map(|u| u.key.as_str()).collect();
        let blocked = |key: &str| {
            let mut current = Some(key);
            while let Some(k) = current {
                if roots.contains(k) {
                    return true;
                }
                current = self
                    .desired
                    .departments
                    .get(k)
                    .and_then(|d| d.parent_key.as_deref());
            }
            false
        };
        let (index, desired) = (&self.people, &self.desired);
        let waits = |c: &Change| match c.kind {
            Kind::Department => c.action == Action::Create && blocked(&c.key),
            Kind::User => {
                c.action != Action::Delete
                    && index
                        .get(&c.key)
                        .and_then(|&i| desired.people[i].department.as_deref())
                        .is_some_and(blocked)
            }
        };
        let before = self.changes.len();
        self.changes
            .retain(|c| !(c.target == Target::CloudRoom && waits(c)));
        let waiting = before - self.changes.len();
        for u in uncertain {
            self.held.push(crate::directory::apply::uncertain_note(u));
        }
        if waiting > 0 {
            self.held.push(format!(
                "{waiting} CloudRoom change(s) into an uncertain department wait until it is settled; those people stay where they are"
            ));
        }
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

    /// Fills in `old -> new` for user updates from the fields last sent
    /// (a takeover's from the record that held the account), and keeps
    /// them for apply.
    pub fn describe_updates(&mut self, recorded: HashMap<String, StoredFields>) {
        self.recorded = recorded;
        let group = self.group.clone();
        let mut described = Vec::new();
        for (i, change) in self.changes.iter().enumerate() {
            if change.kind != Kind::User || change.action != Action::Update {
                continue;
            }
            let holder = change.takeover.as_ref().map_or(&change.key, |t| &t.from);
            let (Some(person), Some(old)) = (self.person(&change.key), self.recorded.get(holder))
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

    /// Employee ids whose recorded fields the plan shows or a delete's
    /// proof needs: user updates, their takeovers' holders, user deletes.
    pub fn recorded_people(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .changes
            .iter()
            .filter(|c| c.kind == Kind::User && c.action != Action::Create)
            .flat_map(|c| {
                [
                    Some(c.key.as_str()),
                    c.takeover.as_ref().map(|t| t.from.as_str()),
                ]
            })
            .flatten()
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
            protected: &self.protected,
            changes: &self.changes,
        }
    }
}
