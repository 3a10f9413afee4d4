//! Building one change, and their order

use super::*;

pub(super) fn blank_change(target: Target, kind: Kind, action: Action, key: &str) -> Change {
    Change {
        target,
        kind,
        action,
        key: key.to_string(),
        label: String::new(),
        fields: Vec::new(),
        staged: false,
        recorded_account: None,
        takeover: None,
        replaced: false,
    }
}

pub(super) fn department_change(action: Action, key: String, path: String) -> Change {
    Change {
        label: path,
        ..blank_change(Target::CloudRoom, Kind::Department, action, &key)
    }
}

pub(super) fn user_change(target: Target, action: Action, person: &Person) -> Change {
    Change {
        label: person.account.clone(),
        ..blank_change(target, Kind::User, action, &person.employee_id)
    }
}

pub(super) fn department_diffs(stored: &StoredDepartment, dept: &Department) -> Vec<FieldChange> {
    let mut diffs = Vec::new();
    if stored.name != dept.name {
        diffs.push(FieldChange {
            field: "name".into(),
            old: stored.name.clone(),
            new: dept.name.clone(),
        });
    }
    if stored.parent_key != dept.parent_key {
        diffs.push(FieldChange {
            field: "path".into(),
            old: stored.path.clone(),
            new: dept.path.clone(),
        });
    }
    diffs
}

pub(super) fn depth_of(path: &str) -> usize {
    path.matches(model::PATH_SEPARATOR).count()
}

pub(super) fn sort_deletes_last(changes: &mut [Change]) {
    changes.sort_by(|a, b| {
        (a.action == Action::Delete)
            .cmp(&(b.action == Action::Delete))
            .then_with(|| a.key.cmp(&b.key))
    });
}
