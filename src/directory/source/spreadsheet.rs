//! Excel exports (`.xlsx`, `.xlsm`, `.xls`, and `.ods`), read with calamine:
//! the first sheet, or `directory.sheet`, becomes the CSV text the CSV
//! reader takes. Line N of that text is the sheet's row N and its field N
//! the sheet's column N (rows and columns before the data are left empty),
//! so that every problem can name the sheet's own row and column. A whole
//! number in a cell (an employee id typed as a number) is written without a
//! decimal point.

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

/// One sheet as CSV, laid out as the sheet is.
pub struct Sheet {
    pub name: String,
    pub csv: Vec<u8>,
}

/// The column's letters as a spreadsheet shows them: 0 is A, 26 is AA.
pub fn column_letters(mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (index % 26) as u8);
        match index / 26 {
            0 => break,
            next => index = next - 1,
        }
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// The sheet as CSV bytes, from the first row with a cell `header_cell`
/// (any case, trimmed), or else from its first row: the rows above the
/// table (a title, a date) are left blank.
pub fn as_csv(
    path: &Path,
    sheet: Option<&str>,
    header_cell: Option<&str>,
) -> Result<Sheet, SourceError> {
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
    let (first_row, first_column) = range.start().unwrap_or((0, 0));
    let wanted = header_cell.map(|h| h.trim().to_lowercase());
    let is_header = |row: &[Data]| {
        wanted
            .as_ref()
            .is_none_or(|w| row.iter().any(|c| cell_text(c).trim().to_lowercase() == *w))
    };
    let above = range.rows().position(is_header).unwrap_or(0);
    // Blank lines, which the CSV reader skips, keep line N on row N.
    let blank = first_row as usize + above;
    let mut out = csv::Writer::from_writer(vec![b'\n'; blank]);
    let padding = vec![String::new(); first_column as usize];
    for row in range.rows().skip(above) {
        let cells: Vec<String> = padding
            .iter()
            .cloned()
            .chain(row.iter().map(cell_text))
            .collect();
        out.write_record(&cells)
            .map_err(|e| failed(format!("sheet {name:?}: {e}")))?;
    }
    let csv = out
        .into_inner()
        .map_err(|e| failed(format!("sheet {name:?}: {e}")))?;
    Ok(Sheet { name, csv })
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

#[cfg(test)]
mod tests {
    #[test]
    fn columns_are_lettered_as_spreadsheets_letter_them() {
        let letters: Vec<String> = [0, 2, 25, 26, 27, 701, 702]
            .into_iter()
            .map(super::column_letters)
            .collect();
        assert_eq!(letters, ["A", "C", "Z", "AA", "AB", "ZZ", "AAA"]);
    }
}
