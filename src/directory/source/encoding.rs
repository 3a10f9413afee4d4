//! `directory.encoding`: HR exports as HR systems write them. Excel on a
//! Chinese Windows saves CSV as GBK, which GB18030 contains; other tools
//! write UTF-8, with or without a byte order mark.

use std::borrow::Cow;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::SourceError;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Encoding {
    /// UTF-8 (with or without a BOM) when the bytes are UTF-8, else GB18030.
    #[default]
    #[serde(rename = "auto")]
    Auto,
    #[serde(rename = "utf-8")]
    Utf8,
    #[serde(rename = "gb18030")]
    Gb18030,
}

/// How a source file is read: its encoding, and for a spreadsheet the sheet.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    pub encoding: Encoding,
    /// `directory.sheet`; the first sheet when unset.
    pub sheet: Option<String>,
}

/// A source file's text, and for a spreadsheet the sheet it came from.
pub struct Text<'a> {
    pub body: Cow<'a, [u8]>,
    pub sheet: Option<String>,
}

/// The file's text as CSV or JSON Lines in UTF-8: a spreadsheet's sheet as
/// CSV from its header row (the first row with a cell `header_cell`, or
/// the first row), any other file decoded by `reading.encoding`.
pub fn read_text<'a>(
    path: &Path,
    bytes: &'a [u8],
    reading: &Reading,
    header_cell: Option<&str>,
) -> Result<Text<'a>, SourceError> {
    match super::spreadsheet::is_spreadsheet(path) {
        true => {
            let sheet = super::spreadsheet::as_csv(path, reading.sheet.as_deref(), header_cell)?;
            Ok(Text {
                body: Cow::Owned(sheet.csv),
                sheet: Some(sheet.name),
            })
        }
        false => Ok(Text {
            body: decode(path, bytes, reading.encoding)?,
            sheet: None,
        }),
    }
}

/// The file's text as UTF-8 bytes, its byte order mark left out.
pub fn decode<'a>(
    path: &Path,
    bytes: &'a [u8],
    encoding: Encoding,
) -> Result<Cow<'a, [u8]>, SourceError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let utf8 = std::str::from_utf8(body).is_ok();
    match (encoding, utf8) {
        (Encoding::Utf8, _) | (Encoding::Auto, true) => {
            if encoding == Encoding::Auto {
                tracing::debug!(path = %path.display(), "the HR export reads as UTF-8");
            }
            Ok(Cow::Borrowed(body))
        }
        (Encoding::Gb18030 | Encoding::Auto, _) => {
            let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
            if had_errors {
                let line = text[..text.find('\u{fffd}').unwrap_or(0)]
                    .matches('\n')
                    .count() as u64
                    + 1;
                return Err(SourceError::NotEncoded {
                    path: path.to_path_buf(),
                    line,
                    tried: match encoding {
                        Encoding::Auto => "UTF-8 or GB18030",
                        _ => "GB18030",
                    },
                });
            }
            if encoding == Encoding::Auto {
                tracing::info!(path = %path.display(), "the HR export is not UTF-8: read as GB18030");
            }
            Ok(Cow::Owned(text.into_owned().into_bytes()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_reads_utf8_with_a_bom_and_gb18030() {
        let path = Path::new("hr.csv");
        let text = "employee_id,name\nE1,张三\n";
        let (gbk, _, _) = encoding_rs::GB18030.encode(text);
        assert_eq!(
            &*decode(path, gbk.as_ref(), Encoding::Auto).unwrap(),
            text.as_bytes()
        );
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(
            &*decode(path, &bom, Encoding::Auto).unwrap(),
            text.as_bytes()
        );
        assert_eq!(
            &*decode(path, gbk.as_ref(), Encoding::Gb18030).unwrap(),
            text.as_bytes()
        );
    }
}
