//! From CloudRoom records to store rows.

use serde_json::Value;

use crate::cloudroom::{epoch_utc, ConferenceRecord, VideoRecord};
use crate::store::conferences::ConferenceRow;
use crate::store::history::HistoryRow;
use crate::store::recordings::RecordingRow;

/// Keys whose values are meeting passwords; removed from `raw` unless the
/// operator asked to keep them (the mirror is read by report users).
const PASSWORD_KEYS: &[&str] = &["password", "pstnPwd"];

pub fn sanitize(mut raw: Value, keep_passwords: bool) -> Value {
    if !keep_passwords {
        if let Value::Object(map) = &mut raw {
            for key in PASSWORD_KEYS {
                map.remove(*key);
            }
        }
    }
    raw
}

fn small(v: Option<i64>) -> Option<i32> {
    v.and_then(|n| i32::try_from(n).ok())
}

pub fn conference(record: ConferenceRecord, keep_passwords: bool) -> Option<ConferenceRow> {
    Some(ConferenceRow {
        conf_id: record.conf_id?,
        subject: record.subject,
        conf_type: small(record.conf_type),
        status: small(record.status),
        schedule_start: epoch_utc(record.schedule_time),
        schedule_end: epoch_utc(record.schedule_end_time),
        host_name: record.host_name,
        members: small(record.members),
        period_type: small(record.period_type),
        owner_id: record.owner_id,
        raw: sanitize(record.raw, keep_passwords),
    })
}

/// A history record without a confId or start time cannot be keyed: skipped.
pub fn history(record: ConferenceRecord, keep_passwords: bool) -> Option<HistoryRow> {
    let start = epoch_utc(record.start_time)?;
    let end = epoch_utc(record.end_time);
    let duration = end
        .map(|end| (end - start).num_seconds())
        .filter(|seconds| *seconds > 0);
    Some(HistoryRow {
        conf_id: record.conf_id?,
        start_time: start,
        subject: record.subject,
        conf_type: small(record.conf_type),
        end_time: end,
        duration_seconds: duration,
        host_name: record.host_name,
        members: small(record.members),
        period_type: small(record.period_type),
        raw: sanitize(record.raw, keep_passwords),
    })
}

pub fn recording(record: VideoRecord, conf_id: i64) -> Option<RecordingRow> {
    Some(RecordingRow {
        file_id: record.file_id?,
        conf_id: record.conf_id.unwrap_or(conf_id),
        title: record.title,
        created_at: epoch_utc(record.create_time),
        duration_seconds: record.duration,
        size_bytes: record.size.and_then(|s| i64::try_from(s).ok()),
        vod_url: record.vod_url,
        download_url: record.url,
        raw: record.raw,
    })
}

/// Identifies a page by its first record, to notice the server repeating page 1.
pub fn first_key(first: Option<&Value>) -> Option<String> {
    first.map(Value::to_string)
}
