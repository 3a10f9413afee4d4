//! The mass-delete guard: a source that would delete too much at once
//! looks like a bad export, so its deletes, and the reshaping of the tree
//! that comes with them, wait until someone allows them.

use super::*;

impl Plan {
    /// Too many deletes at once is what a bad export looks like: all of
    /// them wait for a person to say --allow-mass-delete.
    pub(super) fn stage_mass_deletes(&mut self, options: &PlanOptions<'_>) {
        // Every destructive call counts: a leaver in both targets is two,
        // and so is an account released by a replacement.
        let count = |target: Target, kind: Kind| {
            self.changes
                .iter()
                .filter(|c| c.action == Action::Delete && c.target == target && c.kind == kind)
                .count()
        };
        let cloudroom_users = count(Target::CloudRoom, Kind::User);
        let departments = count(Target::CloudRoom, Kind::Department);
        let aliyun_users = count(Target::Aliyun, Kind::User);
        let deletes = cloudroom_users + departments + aliyun_users;
        let directory = self.stored_users.len() + self.stored_departments.len();
        let limit = options.settings.max_deletes(directory);
        if deletes <= limit {
            return;
        }
        self.mass_delete = Some(MassDelete {
            deletes,
            limit,
            cloudroom_users,
            departments,
            aliyun_users,
        });
        if options.allow_mass_delete {
            return;
        }
        // A source that looks like mass leaving also reshapes the tree:
        // its department changes wait with the deletes, and so do the
        // people who would move into a department not yet made.
        let departments: HashSet<String> = self
            .changes
            .iter()
            .filter(|c| c.kind == Kind::Department)
            .map(|c| c.key.clone())
            .collect();
        let (index, desired) = (&self.people, &self.desired);
        let into_staged = |c: &Change| {
            let person = index.get(&c.key).map(|&i| &desired.people[i]);
            person
                .and_then(|p| p.department.as_ref())
                .is_some_and(|d| departments.contains(d))
        };
        for change in self.changes.iter_mut() {
            let staged = change.action == Action::Delete
                || change.kind == Kind::Department
                || change.kind == Kind::User && into_staged(change);
            change.staged |= staged;
        }
    }
}
