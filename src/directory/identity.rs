//! Department identity across exports.
//!
//! An HR export gives each person their own `department_id`, so an
//! ancestor department has an id only while somebody sits directly in it;
//! otherwise validation keys it by its path. Left alone, the same
//! department would change key from one export to the next, and the plan
//! would create a second one and delete the first (CloudRoom then moves
//! its members to the root and demotes them). Once confsync has pushed a
//! department under an HR id, an export that names that path without an id
//! means the same department: it keeps its id.

use std::collections::HashMap;

use super::model::Desired;
use crate::store::directory::StoredDepartment;

/// Re-keys the departments `desired` knows only by path to the HR id
/// stored for that path, with their children and their people.
pub fn keep_remembered_ids(desired: &mut Desired, stored: &[StoredDepartment]) {
    let id_of_path: HashMap<&str, &str> = stored
        .iter()
        .filter(|d| d.key != d.path)
        .map(|d| (d.path.as_str(), d.key.as_str()))
        .collect();
    rekey_by_path(desired, &id_of_path);
}

/// Re-keys each department keyed by its path to the id `id_of_path` gives
/// that path, unless the export itself gives that id to a department.
pub fn rekey_by_path(desired: &mut Desired, id_of_path: &HashMap<&str, &str>) {
    let renames: HashMap<String, String> = desired
        .departments
        .iter()
        .filter(|(key, dept)| **key == dept.path)
        .filter_map(|(key, dept)| {
            let id = id_of_path.get(dept.path.as_str())?;
            (!desired.departments.contains_key(*id)).then(|| (key.clone(), id.to_string()))
        })
        .collect();
    if renames.is_empty() {
        return;
    }
    let renamed = |key: &String| renames.get(key).cloned().unwrap_or_else(|| key.clone());
    let departments = std::mem::take(&mut desired.departments);
    for (key, mut dept) in departments {
        dept.key = renamed(&key);
        dept.parent_key = dept.parent_key.as_ref().map(renamed);
        desired.departments.insert(dept.key.clone(), dept);
    }
    for person in &mut desired.people {
        person.department = person.department.as_ref().map(renamed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::model::Department;

    fn dept(key: &str, parent: Option<&str>, path: &str) -> Department {
        Department {
            key: key.into(),
            name: path.rsplit(" / ").next().unwrap_or(path).into(),
            parent_key: parent.map(str::to_string),
            path: path.into(),
            depth: path.matches(" / ").count(),
        }
    }

    fn stored(key: &str, path: &str) -> StoredDepartment {
        StoredDepartment {
            key: key.into(),
            cloudroom_id: 1,
            name: path.into(),
            parent_key: None,
            path: path.into(),
            content_hash: Vec::new(),
        }
    }

    #[test]
    fn a_path_pushed_under_an_id_keeps_the_id() {
        let mut desired = Desired::default();
        for d in [
            dept("研发中心", None, "研发中心"),
            dept("D12", Some("研发中心"), "研发中心 / 前端部"),
            dept("行政部", None, "行政部"),
        ] {
            desired.departments.insert(d.key.clone(), d);
        }
        let pushed = [stored("D1", "研发中心"), stored("D12", "研发中心 / 前端部")];
        keep_remembered_ids(&mut desired, &pushed);
        let keys: Vec<&str> = desired.departments.keys().map(String::as_str).collect();
        assert_eq!(keys, ["D1", "D12", "行政部"]);
        assert_eq!(desired.departments["D12"].parent_key.as_deref(), Some("D1"));
    }
}
