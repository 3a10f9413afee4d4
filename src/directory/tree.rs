//! `directory.departments_source`: the department tree as HR systems export
//! it, one CSV row per department with `id`, `parent_id` (empty at the top)
//! and `name`. With it every department has its HR id from the first push,
//! ancestors included, and a person row may give only its `department_id`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::model::{Department, Desired, PATH_SEPARATOR};
use super::source::{Field, RawRow, SourceError};

/// One department of the tree, with the line it came from.
#[derive(Debug, Clone)]
struct Node {
    parent: Option<String>,
    name: String,
    line: u64,
}

/// The whole tree, checked: unique ids, known parents, no cycle.
#[derive(Debug, Default)]
pub struct DepartmentTree {
    /// HR id → (path, parent id, name).
    departments: BTreeMap<String, Department>,
}

impl DepartmentTree {
    /// Reads and checks the CSV at `path`.
    pub fn read(
        path: &Path,
        reading: &super::source::Reading,
    ) -> Result<DepartmentTree, SourceError> {
        let bytes = std::fs::read(path).map_err(|source| SourceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let body = super::source::encoding::read_text(path, &bytes, reading, Some("id"))?.body;
        let nodes = parse(path, &body)?;
        build(path, nodes)
    }

    /// The path of the department with HR id `id`.
    pub fn path_of(&self, id: &str) -> Option<&str> {
        self.departments.get(id).map(|d| d.path.as_str())
    }

    /// Gives each row whose `department_id` the tree knows the tree's path
    /// for it: the tree is what HR says the departments are, and a row may
    /// give only the id.
    pub fn fill_paths(&self, rows: &mut [RawRow]) {
        for row in rows {
            let path = row.get(Field::DepartmentId).and_then(|id| self.path_of(id));
            if let Some(path) = path.map(str::to_string) {
                row.set(Field::Department, &path);
            }
        }
    }

    /// Every department of the tree joins the desired state under its id,
    /// and departments the people rows named only by path take the id the
    /// tree has for that path.
    pub fn merge_into(&self, desired: &mut Desired) {
        let id_of_path: HashMap<&str, &str> = self
            .departments
            .values()
            .map(|d| (d.path.as_str(), d.key.as_str()))
            .collect();
        super::identity::rekey_by_path(desired, &id_of_path);
        for (id, dept) in &self.departments {
            desired
                .departments
                .entry(id.clone())
                .or_insert_with(|| dept.clone());
        }
    }
}

fn parse(path: &Path, body: &[u8]) -> Result<BTreeMap<String, Node>, SourceError> {
    let malformed = |line: u64, message: String| SourceError::Malformed {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(body);
    let header = reader
        .headers()
        .map_err(|e| malformed(1, e.to_string()))?
        .clone();
    let column = |name: &'static str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
            .ok_or_else(|| SourceError::MissingColumn {
                path: path.to_path_buf(),
                field: name,
                header: name.to_string(),
            })
    };
    let (id_at, parent_at, name_at) = (column("id")?, column("parent_id")?, column("name")?);
    let mut nodes = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            malformed(line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |at: usize| record.get(at).map(str::trim).filter(|v| !v.is_empty());
        let Some(id) = field(id_at) else {
            return Err(malformed(line, "id: missing (required)".into()));
        };
        let Some(name) = field(name_at) else {
            return Err(malformed(
                line,
                format!("name: missing for department {id:?}"),
            ));
        };
        if name.contains(PATH_SEPARATOR.trim()) {
            return Err(malformed(
                line,
                format!("name: {name:?} contains the path separator"),
            ));
        }
        let node = Node {
            parent: field(parent_at).map(str::to_string),
            name: name.to_string(),
            line,
        };
        if let Some(first) = nodes.insert(id.to_string(), node) {
            return Err(malformed(
                line,
                format!("id: {id:?} is also on line {}", first.line),
            ));
        }
    }
    Ok(nodes)
}

/// Paths from the roots down; an unknown parent or a cycle is an error
/// naming its line.
fn build(path: &Path, nodes: BTreeMap<String, Node>) -> Result<DepartmentTree, SourceError> {
    let malformed = |line: u64, message: String| SourceError::Malformed {
        path: PathBuf::from(path),
        line,
        message,
    };
    let mut tree = DepartmentTree::default();
    for (id, node) in &nodes {
        let mut names = vec![node.name.as_str()];
        let mut current = node;
        while let Some(parent) = &current.parent {
            let Some(up) = nodes.get(parent) else {
                return Err(malformed(
                    current.line,
                    format!("parent_id: no department {parent:?}"),
                ));
            };
            if names.len() > nodes.len() {
                return Err(malformed(
                    node.line,
                    format!("parent_id: department {id:?} is its own ancestor"),
                ));
            }
            names.push(up.name.as_str());
            current = up;
        }
        names.reverse();
        let department = Department {
            key: id.clone(),
            name: node.name.clone(),
            parent_key: node.parent.clone(),
            path: names.join(PATH_SEPARATOR),
            depth: names.len() - 1,
        };
        tree.departments.insert(id.clone(), department);
    }
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Result<DepartmentTree, SourceError> {
        let path = Path::new("departments.csv");
        build(path, parse(path, text.as_bytes())?)
    }

    #[test]
    fn paths_come_from_the_parents() {
        let t = tree("id,parent_id,name\nD1,,研发中心\nD12,D1,前端部\nD121,D12,Web组\n").unwrap();
        assert_eq!(t.path_of("D121"), Some("研发中心 / 前端部 / Web组"));
        assert_eq!(t.departments["D121"].depth, 2);
    }

    #[test]
    fn bad_trees_name_the_line() {
        for (text, wanted) in [
            (
                "id,parent_id,name\nD1,,A\nD1,,B\n",
                "line 3: id: \"D1\" is also on line 2",
            ),
            (
                "id,parent_id,name\nD1,D9,A\n",
                "line 2: parent_id: no department \"D9\"",
            ),
            (
                "id,parent_id,name\nD1,D2,A\nD2,D1,B\n",
                "is its own ancestor",
            ),
            ("id,parent_id,name\nD1,,\n", "line 2: name: missing"),
            ("id,name\nD1,A\n", "no parent_id column"),
        ] {
            let e = tree(text).expect_err(text).to_string();
            assert!(e.contains(wanted), "{e} for {text:?}");
        }
    }
}
