//! JSON Lines exports: one object per line

use super::*;

/// One JSON object per line; blank lines are skipped.
pub fn parse_json_lines(
    path: &Path,
    body: &[u8],
    headers: &[(Field, String)],
) -> Result<Vec<RawRow>, SourceError> {
    let mut rows = Vec::new();
    for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
        let line = i as u64 + 1;
        let text = std::str::from_utf8(raw).map_err(|_| SourceError::NotUtf8 {
            path: path.to_path_buf(),
            line,
        })?;
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let malformed = |message: String| SourceError::Malformed {
            path: path.to_path_buf(),
            line,
            message,
        };
        let map: Map<String, Value> =
            serde_json::from_str(text).map_err(|e| malformed(format!("not a JSON object: {e}")))?;
        rows.push(object_row(line, &map, headers).map_err(malformed)?);
    }
    Ok(rows)
}

/// A JSON object (a JSON Lines record or a query row) as a row.
pub(super) fn object_row(
    line: u64,
    map: &Map<String, Value>,
    headers: &[(Field, String)],
) -> Result<RawRow, String> {
    let mut row = RawRow::new(line);
    for (field, key) in headers {
        match map.get(key.as_str()) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => row.set(*field, s),
            Some(Value::Number(n)) => row.set(*field, &n.to_string()),
            Some(Value::Bool(b)) => row.set(*field, &b.to_string()),
            Some(_) => {
                return Err(format!(
                    "{key}: expected text, found a JSON array or object"
                ))
            }
        }
    }
    Ok(row)
}
