//! From CloudRoom records to store rows.

use serde_json::Value;

use super::quarantine::set_aside;
use crate::cloudroom::endpoint as ep;
use crate::cloudroom::{epoch_utc, ConferenceDetail, ConferenceRecord, VideoRecord};
use crate::store::conferences::ConferenceRow;
use crate::store::details::{DetailRow, InviteeRow};
use crate::store::history::HistoryRow;
use crate::store::quarantine::Quarantined;
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

/// A list record without a confId cannot be keyed: set aside.
pub fn conference(
    record: ConferenceRecord,
    keep_passwords: bool,
) -> Result<ConferenceRow, Quarantined> {
    let Some(conf_id) = record.conf_id else {
        let raw = (&record.raw, record.raw_original.as_deref());
        return Err(set_aside(ep::CONFERENCE_LIST, None, raw, "no confId"));
    };
    Ok(ConferenceRow {
        conf_id,
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
        raw_original: record.raw_original,
    })
}

/// A history record without a confId or start time cannot be keyed: set aside.
pub fn history(record: ConferenceRecord, keep_passwords: bool) -> Result<HistoryRow, Quarantined> {
    let (Some(conf_id), Some(start)) = (record.conf_id, epoch_utc(record.start_time)) else {
        let raw = (&record.raw, record.raw_original.as_deref());
        let reason = "no confId or no startTime a time can be read from";
        return Err(set_aside(ep::CONFERENCE_HISTORY, None, raw, reason));
    };
    let end = epoch_utc(record.end_time);
    let duration = end
        .map(|end| (end - start).num_seconds())
        .filter(|seconds| *seconds > 0);
    Ok(HistoryRow {
        conf_id,
        start_time: start,
        subject: record.subject,
        conf_type: small(record.conf_type),
        end_time: end,
        duration_seconds: duration,
        host_name: record.host_name,
        members: small(record.members),
        period_type: small(record.period_type),
        raw: sanitize(record.raw, keep_passwords),
        raw_original: record.raw_original,
    })
}

/// A recording without a fileId cannot be keyed: set aside.
pub fn recording(record: VideoRecord, conf_id: i64) -> Result<RecordingRow, Quarantined> {
    let Some(file_id) = record.file_id else {
        let raw = (&record.raw, record.raw_original.as_deref());
        return Err(set_aside(ep::VIDEO_LIST, None, raw, "no fileId"));
    };
    Ok(RecordingRow {
        file_id,
        conf_id: record.conf_id.unwrap_or(conf_id),
        title: record.title,
        created_at: epoch_utc(record.create_time),
        duration_seconds: record.duration,
        size_bytes: record.size.and_then(|s| i64::try_from(s).ok()),
        vod_url: record.vod_url,
        download_url: record.url,
        raw: record.raw,
        raw_original: record.raw_original,
    })
}

/// A history row's key as quarantine rows name it.
pub fn history_key(conf_id: i64, start: chrono::DateTime<chrono::Utc>) -> String {
    format!("{conf_id}@{}", start.timestamp())
}

/// Identifies a page by its first record, to notice the server repeating page 1.
pub fn first_key(first: Option<&Value>) -> Option<String> {
    first.map(Value::to_string)
}

/// A conference's detail as stored: passwords (the meeting's and the PSTN
/// one) left out unless kept, like in `raw`.
pub fn detail(conf_id: i64, detail: ConferenceDetail, keep_passwords: bool) -> DetailRow {
    let kept = |v: Option<String>| v.filter(|_| keep_passwords);
    let order = detail.order_config.unwrap_or_default();
    let invitees = detail
        .invitee_infos
        .into_iter()
        .filter_map(|i| {
            Some(InviteeRow {
                invitee_id: i.invite_id?,
                name: i.invitee_name,
                invitee_type: small(i.invitee_type),
            })
        })
        .collect();
    DetailRow {
        conf_id,
        subject: detail.subject,
        host_id: detail.host_id,
        host_name: detail.host_name,
        status: small(detail.status),
        url: detail.url,
        public_url: detail.public_url,
        pstn_num: detail.pstn_num,
        password: kept(detail.password),
        pstn_password: kept(detail.pstn_pwd),
        schedule_start: order.schedule_time,
        schedule_end: order.schedule_end_time,
        period_type: small(order.period_type),
        period_end: order.period_end_time,
        email_notice: small(detail.email_notice),
        sms_notice: small(detail.sms_notice),
        attributes: detail.attributes.and_then(|a| serde_json::to_value(a).ok()),
        permission: detail.permission.and_then(|p| serde_json::to_value(p).ok()),
        assistants: Value::Array(detail.assistant_infos),
        invitees,
        raw: sanitize(detail.raw, keep_passwords),
        raw_original: detail.raw_original,
    }
}
