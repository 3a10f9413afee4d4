//! Excel exports (`.xlsx`, `.xlsm`, `.xls`, and `.ods`), read with calamine:
//! the first sheet, or `directory.sheet`, becomes the CSV text the CSV
//! reader takes, one line per row, so that every problem names its row as
//! a line. A whole number in a cell (an employee id typed as a number) is
//! written without a decimal point.

use std::path::Path;

use calamine::{open_workbook_auto, Data, Reader};

use super::SourceError;

/// Whether `path` is a spreadsheet by its extension.
pub fn is_spreadsheet(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    matches!(
        ext.as_deref(),
        Some("xlsx" | "xlsm" | "xls" | "xlsb" | "ods")
    )
}

/// The sheet as CSV bytes.
pub fn as_csv(path: &Path, sheet: Option<&str>) -> Result<Vec<u8>, SourceError> {
    let failed = |message: String| SourceError::Spreadsheet {
        path: path.to_path_buf(),
        message,
    };
    let mut workbook = open_workbook_auto(path).map_err(|e| failed(e.to_string()))?;
    let names = workbook.sheet_names();
    let name = match sheet {
        Some(wanted) => names
            .iter()
            .find(|n| n.as_str() == wanted)
            .cloned()
            .ok_or_else(|| {
                failed(format!(
                    "no sheet named {wanted:?} (directory.sheet); the sheets are {names:?}"
                ))
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| failed("the workbook has no sheet".into()))?,
    };
    let range = workbook
        .worksheet_range(&name)
        .map_err(|e| failed(format!("sheet {name:?}: {e}")))?;
    let mut out = csv::Writer::from_writer(Vec::new());
    for row in range.rows() {
        let cells: Vec<String> = row.iter().map(cell_text).collect();
        out.write_record(&cells)
            .map_err(|e| failed(format!("sheet {name:?}: {e}")))?;
    }
    out.into_inner()
        .map_err(|e| failed(format!("sheet {name:?}: {e}")))
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => d.to_string(),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}
