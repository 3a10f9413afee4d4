//! Reading the HR export: a CSV file, a JSON Lines file, or a `postgres:`
//! query. Readers only turn the source into rows of optional text per field;
//! [`super::validate`] decides what a row means.
//!
//! Anything that stops a source from being read whole (an unreadable file,
//! bytes that are not UTF-8, a record with the wrong number of fields, a
//! broken JSON line, a failing query) is a [`SourceError`]: the run aborts
//! before any change, because a half-read directory looks like mass leaving.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};
use sqlx::PgPool;

mod csv_file;
pub mod encoding;
mod json_lines;
pub mod spreadsheet;

pub use csv_file::*;
pub use encoding::{Encoding, Reading};
pub use json_lines::*;

/// The fields of a person, as named in the source (unless remapped by `directory.columns`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    EmployeeId,
    Account,
    Name,
    Email,
    Mobile,
    Tel,
    AvatarUrl,
    Department,
    DepartmentId,
    Role,
    Status,
    InitialPassword,
}

impl Field {
    pub const ALL: [Field; 12] = [
        Field::EmployeeId,
        Field::Account,
        Field::Name,
        Field::Email,
        Field::Mobile,
        Field::Tel,
        Field::AvatarUrl,
        Field::Department,
        Field::DepartmentId,
        Field::Role,
        Field::Status,
        Field::InitialPassword,
    ];
    pub const NAMES: [&'static str; 12] = [
        "employee_id",
        "account",
        "name",
        "email",
        "mobile",
        "tel",
        "avatar_url",
        "department",
        "department_id",
        "role",
        "status",
        "initial_password",
    ];
    /// Without these a row means nothing, so a source lacking one is unreadable.
    pub const REQUIRED: [Field; 3] = [Field::EmployeeId, Field::Account, Field::Name];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn parse(name: &str) -> Option<Field> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Self::ALL[i])
    }
}

/// One record of the source: its line (CSV, JSON Lines) or row number
/// (query), and each field's trimmed text, `None` when empty or absent.
#[derive(Clone, Default)]
pub struct RawRow {
    pub line: u64,
    values: [Option<String>; 12],
    /// A spreadsheet's row: its sheet and each field's column.
    pub cells: Option<Arc<SheetCells>>,
}

/// Where a spreadsheet row's fields are: the sheet, and each field's column
/// letters.
#[derive(Debug)]
pub struct SheetCells {
    sheet: String,
    columns: Vec<(Field, String)>,
}

impl SheetCells {
    pub fn new(sheet: String, index: &[(Field, usize)]) -> Self {
        let columns = index
            .iter()
            .map(|&(field, column)| (field, spreadsheet::column_letters(column)))
            .collect();
        SheetCells { sheet, columns }
    }
}

impl RawRow {
    pub fn new(line: u64) -> Self {
        RawRow {
            line,
            values: Default::default(),
            cells: None,
        }
    }

    /// For a spreadsheet row, the cell of `field` as a spreadsheet user
    /// finds it: `sheet "人员" row 5, column C`.
    pub fn cell(&self, field: Field) -> Option<String> {
        let cells = self.cells.as_ref()?;
        let at = format!("sheet {:?} row {}", cells.sheet, self.line);
        Some(match cells.columns.iter().find(|(f, _)| *f == field) {
            Some((_, letters)) => format!("{at}, column {letters}"),
            None => at,
        })
    }

    pub fn get(&self, field: Field) -> Option<&str> {
        self.values[field as usize].as_deref()
    }

    pub fn set(&mut self, field: Field, value: &str) {
        let value = value.trim();
        self.values[field as usize] = (!value.is_empty()).then(|| value.to_string());
    }

    fn take(&mut self, field: Field) -> Option<String> {
        self.values[field as usize].take()
    }

    /// The initial password, moved out so it is held in one place only.
    pub fn take_password(&mut self) -> Option<String> {
        self.take(Field::InitialPassword)
    }
}

/// Rows can carry an initial password: never print them whole.
impl std::fmt::Debug for RawRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRow")
            .field("line", &self.line)
            .field("employee_id", &self.get(Field::EmployeeId))
            .finish_non_exhaustive()
    }
}

/// Where `directory.source` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    Csv(PathBuf),
    JsonLines(PathBuf),
    Postgres(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(
        "directory.source is not set: point it at a CSV or JSON Lines file, or postgres:<query>"
    )]
    NotConfigured,
    #[error("directory.source: {0}")]
    BadSpec(String),
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} line {line}: not UTF-8 text; re-export the file as UTF-8")]
    NotUtf8 { path: PathBuf, line: u64 },
    #[error("{path}: {message}")]
    Spreadsheet { path: PathBuf, message: String },
    #[error(
        "{path} line {line}: not {tried} text (directory.encoding); re-export the file as UTF-8"
    )]
    NotEncoded {
        path: PathBuf,
        line: u64,
        tried: &'static str,
    },
    #[error("{path} is UTF-16 text (Excel's \"Unicode Text\"); save it as \"CSV UTF-8\" instead")]
    Utf16 { path: PathBuf },
    #[error("{path}: the header is separated by {separator:?}, not commas; export it as comma-separated CSV")]
    Separator { path: PathBuf, separator: char },
    #[error("{path}: {count} columns are headed {header:?} (field {field}); keep one")]
    DuplicateColumn {
        path: PathBuf,
        field: &'static str,
        header: String,
        count: usize,
    },
    #[error("{path} line {line}: the header row again; were two exports pasted together?")]
    RepeatedHeader { path: PathBuf, line: u64 },
    #[error(
        "{path}: no {field} column (looked for header {header:?}); map it in [directory.columns]"
    )]
    MissingColumn {
        path: PathBuf,
        field: &'static str,
        header: String,
    },
    #[error("{path} line {line}: {found} fields where the header has {expected}; the file is truncated or malformed")]
    FieldCount {
        path: PathBuf,
        line: u64,
        expected: usize,
        found: usize,
    },
    #[error("{path} line {line}: {message}")]
    Malformed {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("the directory.source query failed")]
    Query(#[source] crate::store::StoreError),
    #[error("the directory.source query: row {row}: {message}")]
    QueryRow { row: u64, message: String },
}

impl SourceSpec {
    pub fn parse(text: &str) -> Result<SourceSpec, SourceError> {
        let text = text.trim();
        if let Some(query) = text.strip_prefix("postgres:") {
            let query = query.trim().trim_end_matches(';').trim();
            if query.is_empty() {
                return Err(SourceError::BadSpec("postgres: needs a SQL query".into()));
            }
            return Ok(SourceSpec::Postgres(query.to_string()));
        }
        if text.is_empty() {
            return Err(SourceError::NotConfigured);
        }
        let path = PathBuf::from(text);
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        Ok(match extension.as_deref() {
            Some("jsonl" | "ndjson") => SourceSpec::JsonLines(path),
            _ => SourceSpec::Csv(path),
        })
    }
}

/// Header (or JSON key) for each field, after `directory.columns`.
pub fn header_names(columns: &BTreeMap<String, String>) -> Vec<(Field, String)> {
    Field::ALL
        .iter()
        .map(|&f| {
            let header = columns
                .get(f.name())
                .cloned()
                .unwrap_or_else(|| f.name().to_string());
            (f, header)
        })
        .collect()
}

/// Reads the whole source or fails.
pub async fn read(
    source: Option<&str>,
    (columns, reading): (&BTreeMap<String, String>, Reading),
    pool: &PgPool,
) -> Result<Vec<RawRow>, SourceError> {
    let spec = SourceSpec::parse(source.ok_or(SourceError::NotConfigured)?)?;
    let headers = header_names(columns);
    match spec {
        SourceSpec::Postgres(query) => {
            let rows = crate::store::directory::source_rows(pool, &query)
                .await
                .map_err(SourceError::Query)?;
            rows.into_iter()
                .enumerate()
                .map(|(i, value)| {
                    let row = i as u64 + 1;
                    match value {
                        Value::Object(map) => object_row(row, &map, &headers)
                            .map_err(|message| SourceError::QueryRow { row, message }),
                        _ => Err(SourceError::QueryRow {
                            row,
                            message: "not a row".into(),
                        }),
                    }
                })
                .collect()
        }
        SourceSpec::Csv(path) => {
            tokio::task::spawn_blocking(move || read_file(&path, &headers, (parse_csv, &reading)))
                .await
                .map_err(|e| SourceError::BadSpec(format!("reader stopped: {e}")))?
        }
        SourceSpec::JsonLines(path) => tokio::task::spawn_blocking(move || {
            read_file(&path, &headers, (parse_json_lines, &reading))
        })
        .await
        .map_err(|e| SourceError::BadSpec(format!("reader stopped: {e}")))?,
    }
}

type Parser = fn(&Path, &[u8], &[(Field, String)]) -> Result<Vec<RawRow>, SourceError>;

#[cfg(test)]
mod tests;
