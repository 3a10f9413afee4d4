//! CSV exports: the header row found by its names, each line counted for error messages

use super::*;

pub(super) fn read_file(
    path: &Path,
    headers: &[(Field, String)],
    (parse, reading): (Parser, &Reading),
) -> Result<Vec<RawRow>, SourceError> {
    let bytes = std::fs::read(path).map_err(|source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(SourceError::Utf16 {
            path: path.to_path_buf(),
        });
    }
    // Excel and many HR tools write a UTF-8 byte order mark; Excel on a
    // Chinese Windows writes GBK (see `encoding`).
    // A sheet's table starts at its employee_id header: HR puts titles above it.
    let key_header = headers
        .iter()
        .find(|(field, _)| *field == Field::EmployeeId)
        .map(|(_, header)| header.as_str());
    let text = encoding::read_text(path, &bytes, reading, key_header)?;
    let mut rows = parse(path, &text.body, headers)?;
    if let Some(sheet) = text.sheet {
        let cells = Arc::new(SheetCells::new(
            sheet,
            &sheet_columns(path, &text.body, headers)?,
        ));
        for row in &mut rows {
            row.cells = Some(cells.clone());
        }
    }
    Ok(rows)
}

/// Each field's column in a sheet's CSV (which has the sheet's layout).
fn sheet_columns(
    path: &Path,
    body: &[u8],
    headers: &[(Field, String)],
) -> Result<Vec<(Field, usize)>, SourceError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(body);
    let header = reader.byte_headers().map_err(|e| SourceError::Malformed {
        path: path.to_path_buf(),
        line: e.position().map_or(0, |p| p.line()),
        message: e.to_string(),
    })?;
    column_index(path, &header_names_of(path, header)?, headers)
}

/// CSV with a header row; CRLF or LF line ends, RFC 4180 quoting.
pub fn parse_csv(
    path: &Path,
    body: &[u8],
    headers: &[(Field, String)],
) -> Result<Vec<RawRow>, SourceError> {
    // Nothing at all is an empty export (refused as such), not a file
    // without the employee_id column.
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(body);
    let csv_error = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        SourceError::Malformed {
            path: path.to_path_buf(),
            line,
            message: e.to_string(),
        }
    };
    let header_record = reader.byte_headers().map_err(csv_error)?.clone();
    let header_text = header_names_of(path, &header_record)?;
    let index = column_index(path, &header_text, headers)?;
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut lines = LineCounter::default();
    while reader.read_byte_record(&mut record).map_err(csv_error)? {
        let line = lines.line_at(body, record.position().map_or(0, |p| p.byte()));
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim_ascii().is_empty()) {
            continue;
        }
        if is_header(&record, &header_text) {
            return Err(SourceError::RepeatedHeader {
                path: path.to_path_buf(),
                line,
            });
        }
        if record.len() != header_record.len() {
            return Err(SourceError::FieldCount {
                path: path.to_path_buf(),
                line,
                expected: header_record.len(),
                found: record.len(),
            });
        }
        let row = row_of(path, line, &record, &index)?;
        rows.push(row);
    }
    Ok(rows)
}

/// The header's names, trimmed and lower-cased.
fn header_names_of(path: &Path, header: &csv::ByteRecord) -> Result<Vec<String>, SourceError> {
    header
        .iter()
        .map(|h| {
            std::str::from_utf8(h)
                .map(|s| s.trim().to_lowercase())
                .map_err(|_| SourceError::NotUtf8 {
                    path: path.to_path_buf(),
                    line: 1,
                })
        })
        .collect()
}

/// The row of `record`, its columns taken by `index`.
fn row_of(
    path: &Path,
    line: u64,
    record: &csv::ByteRecord,
    index: &[(Field, usize)],
) -> Result<RawRow, SourceError> {
    let mut row = RawRow::new(line);
    for &(field, column) in index {
        let bytes = record.get(column).unwrap_or_default();
        let text = std::str::from_utf8(bytes).map_err(|_| SourceError::NotUtf8 {
            path: path.to_path_buf(),
            line,
        })?;
        row.set(field, text);
    }
    Ok(row)
}

/// Line numbers from byte offsets. The CSV reader's own line count lags:
/// it counts a record's terminator only when it reads the next record.
#[derive(Default)]
pub(super) struct LineCounter {
    pub(super) offset: usize,
    pub(super) newlines: u64,
}

impl LineCounter {
    /// The line of the record whose bytes start at `offset` (past any
    /// terminator left over from the previous record).
    pub(super) fn line_at(&mut self, body: &[u8], offset: u64) -> u64 {
        let mut start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(body.len());
        while start < body.len() && matches!(body[start], b'\r' | b'\n') {
            start += 1;
        }
        let start = start.max(self.offset);
        self.newlines += body[self.offset..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.offset = start;
        self.newlines + 1
    }
}

pub(super) fn is_header(record: &csv::ByteRecord, header_text: &[String]) -> bool {
    record.len() == header_text.len()
        && record.iter().zip(header_text).all(|(field, header)| {
            std::str::from_utf8(field).is_ok_and(|f| f.trim().to_lowercase() == *header)
        })
}

/// Column position of each field present; the required ones must be, and
/// no field may have two columns (which one would HR mean?).
pub(super) fn column_index(
    path: &Path,
    header_text: &[String],
    headers: &[(Field, String)],
) -> Result<Vec<(Field, usize)>, SourceError> {
    let mut index = Vec::new();
    for (field, header) in headers {
        let wanted = header.trim().to_lowercase();
        let positions: Vec<usize> = (0..header_text.len())
            .filter(|&i| header_text[i] == wanted)
            .collect();
        match positions[..] {
            [i] => index.push((*field, i)),
            [] if Field::REQUIRED.contains(field) => {
                return Err(missing_column(path, header_text, *field, header))
            }
            [] => {}
            _ => {
                return Err(SourceError::DuplicateColumn {
                    path: path.to_path_buf(),
                    field: field.name(),
                    header: header.clone(),
                    count: positions.len(),
                })
            }
        }
    }
    let ignored: Vec<&str> = (0..header_text.len())
        .filter(|i| !index.iter().any(|(_, c)| c == i))
        .map(|i| header_text[i].as_str())
        .collect();
    if !ignored.is_empty() {
        // Exports carry extra columns (cost centre, hire date); a misspelt
        // field header also lands here, so say which ones were not read.
        tracing::warn!(columns = ?ignored, "directory source: columns that are no field are ignored");
    }
    Ok(index)
}

/// A one-column header holding `;` or tabs is a CSV written with another
/// separator: say so instead of "no employee_id column".
pub(super) fn missing_column(
    path: &Path,
    header_text: &[String],
    field: Field,
    header: &str,
) -> SourceError {
    let separator = match header_text {
        [only] => [';', '\t', '|'].into_iter().find(|c| only.contains(*c)),
        _ => None,
    };
    match separator {
        Some(separator) => SourceError::Separator {
            path: path.to_path_buf(),
            separator,
        },
        None => SourceError::MissingColumn {
            path: path.to_path_buf(),
            field: field.name(),
            header: header.to_string(),
        },
    }
}
