//! Vendor text made safe to store and to show. Vendor data is untrusted:
//! JSON may carry NUL (`\u0000`), which PostgreSQL's `text` and `jsonb`
//! refuse, lone UTF-16 surrogates (`\ud800`), which Rust strings cannot
//! hold, and newlines in a message, which would forge log lines.
//!
//! The rules (docs/hostile-data.md):
//! - a stored vendor string has each NUL replaced by U+FFFD, in typed
//!   columns and `raw` alike; the record as received is kept, as JSON
//!   text with the NUL escaped, in `raw_original`;
//! - a lone surrogate escape in an answer is read as U+FFFD;
//! - text written to run records and logs is one line: control
//!   characters are escaped (`\n`, `\0`, `\u{1b}`), nothing else changes.

use std::borrow::Cow;

use serde_json::Value;

/// What replaces a character PostgreSQL cannot store.
pub const REPLACEMENT: char = '\u{fffd}';

/// Whether any string or object key of `value` holds NUL.
pub fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// Replaces NUL in every string and object key of `value`; true when
/// something was replaced.
pub fn make_storable(value: &mut Value) -> bool {
    match value {
        Value::String(s) => replace_nul(s),
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| make_storable(v) | changed),
        Value::Object(map) => {
            let mut changed = false;
            if map.keys().any(|k| k.contains('\0')) {
                let entries = std::mem::take(map);
                for (key, v) in entries {
                    map.insert(key.replace('\0', "\u{fffd}"), v);
                }
                changed = true;
            }
            map.values_mut()
                .fold(changed, |changed, v| make_storable(v) | changed)
        }
        _ => false,
    }
}

fn replace_nul(s: &mut String) -> bool {
    if !s.contains('\0') {
        return false;
    }
    *s = s.replace('\0', "\u{fffd}");
    true
}

/// `text` with NUL replaced, for a text column.
pub fn storable_str(text: &str) -> Cow<'_, str> {
    match text.contains('\0') {
        true => Cow::Owned(text.replace('\0', "\u{fffd}")),
        false => Cow::Borrowed(text),
    }
}

/// `text` on one line: control characters (and the Unicode line and
/// paragraph separators) escaped. Applying it twice changes nothing more.
pub fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// `text` padded with spaces to `width` terminal columns: CJK characters
/// take two columns each, which `{:<width$}` (counting `char`s) gets wrong.
pub fn pad(text: &str, width: usize) -> String {
    let used = unicode_width::UnicodeWidthStr::width(text);
    format!("{text}{}", " ".repeat(width.saturating_sub(used)))
}

/// The terminal columns `text` takes.
pub fn columns(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// JSON text whose lone surrogate escapes (`\ud800` without its pair, or
/// a low one alone) are rewritten as `\ufffd`, so that the text parses.
pub fn without_lone_surrogates(json: &str) -> Cow<'_, str> {
    if !json.contains("\\u") && !json.contains("\\U") {
        return Cow::Borrowed(json);
    }
    let bytes = json.as_bytes();
    let mut out = String::with_capacity(json.len());
    let (mut i, mut copied, mut changed) = (0, 0, false);
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let Some(unit) = escape_at(bytes, i) else {
            i += 2; // an escape of one character: `\\`, `\"`, `\n`, ...
            continue;
        };
        let paired = match unit {
            0xD800..=0xDBFF => {
                escape_at(bytes, i + 6).is_some_and(|u| (0xDC00..=0xDFFF).contains(&u))
            }
            0xDC00..=0xDFFF => false,
            _ => true,
        };
        let width = if (0xD800..=0xDBFF).contains(&unit) && paired {
            12
        } else {
            6
        };
        if !paired {
            out.push_str(&json[copied..i]);
            out.push_str("\\ufffd");
            copied = i + 6;
            changed = true;
        }
        i += width;
    }
    if !changed {
        return Cow::Borrowed(json);
    }
    out.push_str(&json[copied..]);
    Cow::Owned(out)
}

/// The code unit of a `\uXXXX` escape starting at `at`.
fn escape_at(bytes: &[u8], at: usize) -> Option<u32> {
    let escape = bytes.get(at..at + 6)?;
    if escape[0] != b'\\' || escape[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&escape[2..]).ok()?;
    u32::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_is_replaced_in_strings_and_keys() {
        let mut v = json!({"subject": "周会\u{0}附件", "a\u{0}": ["x\u{0}", 1]});
        assert!(make_storable(&mut v));
        assert_eq!(
            v,
            json!({"subject": "周会\u{fffd}附件", "a\u{fffd}": ["x\u{fffd}", 1]})
        );
        assert!(!make_storable(&mut v));
    }

    #[test]
    fn one_line_escapes_controls_once() {
        let shown = one_line("bad\nline\0\u{1b}[31m");
        assert_eq!(shown, "bad\\nline\\0\\u{1b}[31m");
        assert_eq!(one_line(&shown), shown);
        assert_eq!(one_line("周会 ok \\n"), "周会 ok \\n");
    }

    #[test]
    fn padding_counts_columns_not_chars() {
        assert_eq!(pad("张三", 6), "张三  ");
        assert_eq!(pad("ab", 6), "ab    ");
        assert_eq!(columns(&pad("会议主持人", 12)), 12);
    }

    #[test]
    fn lone_surrogates_read_as_replacement() {
        let text = r#"{"a":"x\ud800y","b":"\ud83d\ude00","c":"\\ud800","d":"\udc00"}"#;
        let fixed = without_lone_surrogates(text);
        let v: Value = serde_json::from_str(&fixed).unwrap();
        assert_eq!(v["a"], "x\u{fffd}y");
        assert_eq!(v["b"], "😀");
        assert_eq!(v["c"], "\\ud800", "an escaped backslash is no escape");
        assert_eq!(v["d"], "\u{fffd}");
        assert!(matches!(
            without_lone_surrogates(r#"{"a":"\u00e9"}"#),
            Cow::Borrowed(_)
        ));
    }
}
