//! Users: who claims which CloudRoom account, and who is in Aliyun.
//!
//! A CloudRoom account cannot be renamed, so an account is the identity of
//! a CloudRoom record: when tonight's export gives an account to another
//! employee id, the record follows the account (one PUT), never the
//! reverse. An account that any row of the export names is never deleted.

use super::*;
use crate::directory::keys::account_key;

impl Plan {
    /// CloudRoom users: each active person's claim on their account, then
    /// the recorded accounts nobody claims any more.
    pub(super) fn plan_cloudroom_users(
        &mut self,
        deletable: &HashSet<String>,
        settings: &DirectorySettings,
    ) {
        let mut changes = Vec::new();
        let (mut protected, mut held) = (Vec::new(), Vec::new());
        let holders = self.account_holders();
        let in_export = self.ids_in_export();
        for person in self.desired.people.iter().filter(|p| p.active) {
            if settings.is_protected(&person.account) {
                protected.push(format!(
                    "{} ({}) is in directory.protected_accounts: never updated or deleted",
                    person.account, person.employee_id
                ));
                continue;
            }
            let hash = model::hash(&person.cloudroom_fields());
            let holder = holders.get(&account_key(&person.account));
            let mut change = match holder {
                None => user_change(Target::CloudRoom, Action::Create, person),
                Some(own) if own.employee_id == person.employee_id => {
                    if own.cloudroom_hash.as_deref() == Some(hash.as_slice()) {
                        continue;
                    }
                    user_change(Target::CloudRoom, Action::Update, person)
                }
                Some(other) if self.desired.held.contains(&other.employee_id) => {
                    held.push(format!(
                        "{} claims account {}, recorded for {}, whose row has problems: neither changes until that row is fixed",
                        person.employee_id, person.account, other.employee_id
                    ));
                    continue;
                }
                Some(other) => Change {
                    takeover: Some(Takeover {
                        from: other.employee_id.clone(),
                        new_holder: in_export.contains(&other.employee_id),
                        origin: other.cloudroom_origin.clone(),
                    }),
                    ..user_change(Target::CloudRoom, Action::Update, person)
                },
            };
            change.recorded_account = holder.map(|h| h.account.clone());
            changes.push(change);
        }
        changes.extend(self.released_accounts(deletable, settings));
        sort_deletes_last(&mut changes);
        self.changes.extend(changes);
        self.protected.extend(protected);
        self.held.extend(held);
    }

    /// Recorded accounts no active person claims, deleted when their holder
    /// left (and the grace is over) or moved to another account. An account
    /// a bad row names, a protected one, or a held person's stays.
    fn released_accounts(
        &self,
        deletable: &HashSet<String>,
        settings: &DirectorySettings,
    ) -> Vec<Change> {
        let claimed: HashSet<String> = self
            .desired
            .people
            .iter()
            .filter(|p| p.active)
            .map(|p| account_key(&p.account))
            .chain(self.desired.held_accounts.iter().cloned())
            .collect();
        let mut deletes = self.left_before(&claimed, settings);
        for user in self.stored_users.values() {
            if user.cloudroom_hash.is_none()
                || claimed.contains(&account_key(&user.account))
                || settings.is_protected(&user.account)
                || self.desired.held.contains(&user.employee_id)
            {
                continue;
            }
            let moved = self.person(&user.employee_id).is_some_and(|p| p.active);
            if moved || deletable.contains(&user.employee_id) {
                deletes.push(Change {
                    label: user.account.clone(),
                    replaced: moved,
                    ..blank_change(
                        Target::CloudRoom,
                        Kind::User,
                        Action::Delete,
                        &user.employee_id,
                    )
                });
            }
        }
        deletes
    }

    /// Accounts their holder left in an earlier apply whose DELETE did not
    /// happen (it failed, or the run stopped): deleted as replaced, with
    /// the same proof, unless a row claims them, a record holds them (its
    /// own delete covers it), they are protected, or the holder's row is
    /// held.
    fn left_before(&self, claimed: &HashSet<String>, settings: &DirectorySettings) -> Vec<Change> {
        let recorded: HashSet<String> = (self.stored_users.values())
            .filter(|u| u.cloudroom_hash.is_some())
            .map(|u| account_key(&u.account))
            .collect();
        let mut released: Vec<&ReleasedAccount> = self.released.values().collect();
        released.sort_by(|a, b| a.account.cmp(&b.account));
        released
            .into_iter()
            .filter(|r| {
                let key = account_key(&r.account);
                !claimed.contains(&key)
                    && !recorded.contains(&key)
                    && !settings.is_protected(&r.account)
                    && !self.desired.held.contains(&r.employee_id)
            })
            .map(|r| Change {
                label: r.account.clone(),
                replaced: true,
                ..blank_change(
                    Target::CloudRoom,
                    Kind::User,
                    Action::Delete,
                    &r.employee_id,
                )
            })
            .collect()
    }

    /// Recorded CloudRoom accounts by key, each with the record that holds
    /// it (the first by employee id, should two records name one account),
    /// then the released ones with their last holder.
    fn account_holders(&self) -> HashMap<String, StoredUser> {
        let mut holders: HashMap<String, StoredUser> = HashMap::new();
        let mut recorded: Vec<&StoredUser> = self
            .stored_users
            .values()
            .filter(|u| u.cloudroom_hash.is_some())
            .collect();
        recorded.sort_by(|a, b| a.employee_id.cmp(&b.employee_id));
        for user in recorded {
            holders
                .entry(account_key(&user.account))
                .or_insert_with(|| user.clone());
        }
        // A released account still has its last holder's password: whoever
        // claims it now takes it over like a recorded one (a new password
        // for a new holder), and its holder coming back keeps it.
        for released in self.released.values() {
            holders
                .entry(account_key(&released.account))
                .or_insert_with(|| StoredUser {
                    employee_id: released.employee_id.clone(),
                    account: released.account.clone(),
                    cloudroom_origin: None,
                    cloudroom_hash: None,
                    aliyun_hash: None,
                    first_seen_inactive: None,
                    cloudroom_department: None,
                });
        }
        holders
    }

    /// Every employee id a row of the export names: active, leaving or bad.
    fn ids_in_export(&self) -> HashSet<String> {
        self.desired
            .people
            .iter()
            .map(|p| p.employee_id.clone())
            .chain(self.desired.held.iter().cloned())
            .collect()
    }

    pub(super) fn plan_aliyun_users(&mut self, deletable: &HashSet<String>) {
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
}
