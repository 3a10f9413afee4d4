//! `--hostile-data`: list answers that carry what JSON allows and a careful
//! client must survive (docs/simulator.md). Some records of each page, by a
//! seeded hash of the record, are changed in one of these ways:
//!
//! - NUL and other control characters in a string field;
//! - a lone UTF-16 surrogate escape (`\ud800`) in a string field;
//! - a 1 MB string;
//! - emoji and right-to-left text;
//! - numbers out of range, negative or fractional where integers are documented;
//! - unknown enum values;
//! - the record twice in the page; a `null` entry after it;
//! - the key field (`fileId`, `confId`) left out, or of the wrong type;
//! - in a recordings listing, a recording of another conference (its
//!   fileId twice across conferences).
//!
//! The same world and seed give the same answers, so a rerun sees what the
//! first run saw.

use serde_json::{json, Value};

/// Replaced by `\ud800` in the serialized answer: serde cannot write a lone
/// surrogate, and no generated text holds this private-use character.
pub(crate) const LONE_SURROGATE_MARK: &str = "\u{f8ff}LONE";

/// One record in this many is changed.
const ONE_IN: u64 = 4;

/// Changes some records of a list answer in place; `other` is a record of
/// another conference (recordings listings only).
pub(crate) fn corrupt(answer: &mut Value, seed: u64, other: Option<Value>) {
    let Some(records) = answer.get_mut("records").and_then(Value::as_array_mut) else {
        return;
    };
    let mut added = Vec::new();
    for record in records.iter_mut() {
        let h = hash(seed, &record.to_string());
        if h % ONE_IN != 0 {
            continue;
        }
        match (h / ONE_IN) % 11 {
            0 => append_to_text(record, "周会\u{0}附件\u{1b}[31m\n伪造的日志行"),
            1 => append_to_text(record, LONE_SURROGATE_MARK),
            2 => set_text(record, "长".repeat(350_000)),
            3 => append_to_text(record, " 😀🎉 مرحبا \u{202e}txet"),
            4 => numbers_out_of_range(record),
            5 => unknown_enums(record),
            6 => added.push(record.clone()),
            7 => added.push(Value::Null),
            8 => remove_key(record),
            9 => wrong_key_type(record),
            _ => added.extend(other.clone()),
        }
    }
    records.extend(added);
}

/// The answer's bytes with the surrogate marks written as escapes.
pub(crate) fn with_lone_surrogates(body: Vec<u8>) -> Vec<u8> {
    let text = String::from_utf8_lossy(&body);
    if !text.contains(LONE_SURROGATE_MARK) {
        return body;
    }
    text.replace(LONE_SURROGATE_MARK, "\\ud800").into_bytes()
}

fn hash(seed: u64, text: &str) -> u64 {
    text.bytes().fold(seed ^ 0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The record's text field: `subject` (conferences, history) or `title`.
fn text_field(record: &Value) -> Option<&'static str> {
    ["subject", "title", "hostName"]
        .into_iter()
        .find(|k| record.get(*k).is_some_and(Value::is_string))
}

fn append_to_text(record: &mut Value, extra: &str) {
    if let Some(key) = text_field(record) {
        let text = format!("{}{extra}", record[key].as_str().unwrap_or_default());
        record[key] = Value::String(text);
    }
}

fn set_text(record: &mut Value, text: String) {
    if let Some(key) = text_field(record) {
        record[key] = Value::String(text);
    }
}

fn numbers_out_of_range(record: &mut Value) {
    for (key, value) in [
        ("size", json!(1e30)),
        ("duration", json!(-5)),
        ("members", json!(2.5)),
        ("createTime", json!(1.5e18)),
    ] {
        if record.get(key).is_some() {
            record[key] = value;
        }
    }
}

fn unknown_enums(record: &mut Value) {
    for (key, value) in [("status", 99), ("confType", 7), ("periodType", -1)] {
        if record.get(key).is_some() {
            record[key] = json!(value);
        }
    }
}

fn remove_key(record: &mut Value) {
    if let Some(map) = record.as_object_mut() {
        if map.remove("fileId").is_none() {
            map.remove("confId");
        }
    }
}

fn wrong_key_type(record: &mut Value) {
    for key in ["fileId", "confId"] {
        if record.get(key).is_some() {
            record[key] = json!({"not": "a key"});
            return;
        }
    }
}
