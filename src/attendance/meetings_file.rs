//! `confsync aliyun meetings add FILE`: one MeetingUUID per line; blank
//! lines and lines starting with `#` are skipped.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum MeetingsFileError {
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} line {line}: {problem}")]
    Line {
        path: PathBuf,
        line: usize,
        problem: String,
    },
}

/// Every MeetingUUID of the file, in order, each once; an error names the
/// first bad line.
pub fn read(path: &Path) -> Result<Vec<String>, MeetingsFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| MeetingsFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut uuids: Vec<String> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let uuid = line.trim().trim_start_matches('\u{feff}');
        if uuid.is_empty() || uuid.starts_with('#') {
            continue;
        }
        if let Some(problem) = problem(uuid) {
            return Err(MeetingsFileError::Line {
                path: path.to_path_buf(),
                line: index + 1,
                problem,
            });
        }
        if !uuids.iter().any(|u| u == uuid) {
            uuids.push(uuid.to_string());
        }
    }
    Ok(uuids)
}

fn problem(uuid: &str) -> Option<String> {
    if uuid.len() > 128 {
        return Some(format!(
            "{} characters; a MeetingUUID is far shorter",
            uuid.len()
        ));
    }
    uuid.chars()
        .find(|c| c.is_whitespace() || c.is_control() || *c == ',' || *c == ';')
        .map(|c| format!("{c:?} in {uuid:?}: one MeetingUUID per line, nothing else"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_uuid_per_line_with_comments_and_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meetings.txt");
        std::fs::write(&path, "# booked\nabc-1\n\n  abc-2 \nabc-1\n").unwrap();
        assert_eq!(read(&path).unwrap(), ["abc-1", "abc-2"]);
        std::fs::write(&path, "abc-1\nabc-2, abc-3\n").unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(
            e.contains("line 2") && e.contains("one MeetingUUID per line"),
            "{e}"
        );
    }
}
