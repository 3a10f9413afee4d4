//! Response bodies, decoded tolerantly

use super::*;

/// Answer of `POST /v2/conference`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CreatedConference {
    #[serde(deserialize_with = "lenient::req_i64")]
    pub conf_id: i64,
}

/// Answer of `GET /v2/conference/{confId}/join`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct JoinResult {
    /// A `CRMT:` string that opens the desktop client in the meeting.
    #[serde(deserialize_with = "lenient::req_string")]
    pub crmt: String,
}

/// One page of a list endpoint.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Page<T> {
    pub total: u64,
    /// The server's "more to fetch" flag (0/1). Absent in the document's own
    /// examples, so absence reads as `true` and `total` decides where the
    /// end is; never page by it alone (page 1 comes back past the end).
    pub remaining: bool,
    pub records: Vec<T>,
    /// Entries that are no record: `null`, not an object, or a shape no
    /// documented field can hold. The mirror quarantines them.
    pub rejected: Vec<Rejected>,
}

/// A list entry that did not decode, as received (made storable) and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rejected {
    pub raw: Value,
    /// The entry as received, as JSON text, when storing it changed it.
    pub raw_original: Option<String>,
    pub reason: String,
}

/// `value` made storable (`text::make_storable`), and the original as JSON
/// text when that changed it.
pub fn storable(mut value: Value) -> (Value, Option<String>) {
    if !crate::text::has_nul(&value) {
        return (value, None);
    }
    let original = value.to_string();
    crate::text::make_storable(&mut value);
    (value, Some(original))
}

/// A list record that keeps the JSON it was decoded from, because the
/// mirror stores the record as received.
pub trait RawRecord: Sized {
    /// Decodes the typed view of `raw` and keeps `raw` alongside, with the
    /// record as received when `raw` had to be made storable; on failure,
    /// `raw` comes back with the error.
    fn from_raw(
        raw: Value,
        raw_original: Option<String>,
    ) -> Result<Self, (serde_json::Error, Value, Option<String>)>;
}

#[derive(Deserialize)]
pub(super) struct WirePage {
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub(super) total: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_flag")]
    pub(super) remaining: Option<bool>,
    #[serde(default, deserialize_with = "lenient::values")]
    pub(super) records: Vec<Value>,
}

impl<T: RawRecord> Page<T> {
    /// Decodes a list answer; a missing `total` counts the entries
    /// received. Each entry is made storable; one that does not decode is
    /// set aside in `rejected`, and the rest of the page stands.
    pub fn from_value(body: Value) -> Result<Self, serde_json::Error> {
        let wire = WirePage::deserialize(body)?;
        let received = wire.records.len() as u64;
        let (mut records, mut rejected) = (Vec::new(), Vec::new());
        for entry in wire.records {
            let (raw, raw_original) = storable(entry);
            if !raw.is_object() {
                let reason = format!("not a record: {}", kind_of(&raw));
                rejected.push(Rejected {
                    raw,
                    raw_original,
                    reason,
                });
                continue;
            }
            match T::from_raw(raw, raw_original) {
                Ok(record) => records.push(record),
                Err((e, raw, raw_original)) => rejected.push(Rejected {
                    raw,
                    raw_original,
                    reason: format!("undecodable: {e}"),
                }),
            }
        }
        Ok(Page {
            total: wire.total.unwrap_or(received),
            remaining: wire.remaining.unwrap_or(true),
            records,
            rejected,
        })
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

macro_rules! raw_record {
    ($ty:ty) => {
        impl RawRecord for $ty {
            fn from_raw(
                raw: Value,
                raw_original: Option<String>,
            ) -> Result<Self, (serde_json::Error, Value, Option<String>)> {
                match <$ty>::deserialize(&raw) {
                    Ok(mut record) => {
                        record.raw = raw;
                        record.raw_original = raw_original;
                        Ok(record)
                    }
                    Err(e) => Err((e, raw, raw_original)),
                }
            }
        }
    };
}

/// A record of the conference list or the history list (the document gives
/// both the same example). Times are epoch seconds; 0 means unset.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConferenceRecord {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub conf_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub subject: Option<String>,
    /// 0 instant, 1 scheduled.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub conf_type: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub schedule_time: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub schedule_end_time: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub start_time: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub end_time: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub host_name: Option<String>,
    /// Online participants (list) or participants (history).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub members: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub period_type: Option<i64>,
    /// 0 not started, 1 in progress, 2 ended.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub status: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub password: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub owner_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub conf_code: Option<String>,
    /// The record as received (NUL replaced: `text::make_storable`).
    #[serde(skip)]
    pub raw: Value,
    /// The record exactly as received, as JSON text, when `raw` differs.
    #[serde(skip)]
    pub raw_original: Option<String>,
}
raw_record!(ConferenceRecord);

impl ConferenceRecord {
    pub fn schedule_time_utc(&self) -> Option<DateTime<Utc>> {
        epoch_utc(self.schedule_time)
    }
    pub fn schedule_end_time_utc(&self) -> Option<DateTime<Utc>> {
        epoch_utc(self.schedule_end_time)
    }
    pub fn start_time_utc(&self) -> Option<DateTime<Utc>> {
        epoch_utc(self.start_time)
    }
    pub fn end_time_utc(&self) -> Option<DateTime<Utc>> {
        epoch_utc(self.end_time)
    }
}

/// A record of `GET /v2/video/{confId}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VideoRecord {
    /// Documented as a string; numeric ids are kept digit for digit.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub file_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub conf_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub create_time: Option<i64>,
    /// Seconds.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub duration: Option<i64>,
    /// Bytes.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub size: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub vod_url: Option<String>,
    /// Download address.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub url: Option<String>,
    #[serde(skip)]
    pub raw: Value,
    /// The record exactly as received, as JSON text, when `raw` differs.
    #[serde(skip)]
    pub raw_original: Option<String>,
}
raw_record!(VideoRecord);

impl VideoRecord {
    pub fn create_time_utc(&self) -> Option<DateTime<Utc>> {
        epoch_utc(self.create_time)
    }
}

/// `inviteeInfos[]` of the detail.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InviteeInfo {
    #[serde(alias = "inviteeId", default, deserialize_with = "lenient::opt_i64")]
    pub invite_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub invitee_name: Option<String>,
    /// 0 user, 1 terminal, 2 SIP.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub invitee_type: Option<i64>,
}

/// Scheduling as the detail endpoint reports it, resolved to UTC.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct OrderConfigDetail {
    pub schedule_time: Option<DateTime<Utc>>,
    pub schedule_end_time: Option<DateTime<Utc>>,
    pub period_type: Option<i64>,
    /// `None` both when absent and when the recurrence never ends (-1);
    /// `period_never_ends` tells them apart.
    pub period_end_time: Option<DateTime<Utc>>,
    pub period_never_ends: bool,
}

/// Answer of `GET /v2/conference/{confId}` (the `confDetail` object).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ConferenceDetail {
    pub conf_id: Option<i64>,
    pub subject: Option<String>,
    /// The host's join link.
    pub url: Option<String>,
    pub public_url: Option<String>,
    pub password: Option<String>,
    pub host_id: Option<i64>,
    pub host_name: Option<String>,
    pub invitee_infos: Vec<InviteeInfo>,
    /// Undocumented structure, kept as received.
    pub assistant_infos: Vec<Value>,
    /// 0 not started, 1 in progress, 2 ended.
    pub status: Option<i64>,
    pub pstn_num: Option<String>,
    pub pstn_pwd: Option<String>,
    pub email_notice: Option<i64>,
    pub sms_notice: Option<i64>,
    pub order_config: Option<OrderConfigDetail>,
    pub attributes: Option<Attributes>,
    pub permission: Option<Permission>,
    /// The `confDetail` object as received (NUL replaced).
    pub raw: Value,
    /// The object exactly as received, as JSON text, when `raw` differs.
    pub raw_original: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireDetail {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub(super) conf_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub(super) subject: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub(super) url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub(super) public_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub(super) password: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub(super) host_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub(super) host_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub(super) invitee_infos: Vec<InviteeInfo>,
    #[serde(default, deserialize_with = "lenient::values")]
    pub(super) assistant_infos: Vec<Value>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub(super) status: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub(super) pstn_num: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub(super) pstn_pwd: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub(super) email_notice: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub(super) sms_notice: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_struct")]
    pub(super) order_config: Option<WireOrderConfig>,
    #[serde(default, deserialize_with = "lenient::opt_struct")]
    pub(super) attributes: Option<Attributes>,
    #[serde(default, deserialize_with = "lenient::opt_struct")]
    pub(super) permission: Option<Permission>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireOrderConfig {
    #[serde(default)]
    pub(super) schedule_time: Value,
    #[serde(default)]
    pub(super) schedule_end_time: Value,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub(super) period_type: Option<i64>,
    #[serde(default)]
    pub(super) period_end_time: Value,
}

impl ConferenceDetail {
    /// Decodes the detail answer; wall-clock times in it are read in `tz`.
    /// Accepts the detail wrapped in `confDetail` (as documented) or bare.
    pub fn from_value(body: Value, tz: Tz) -> Result<Self, serde_json::Error> {
        let raw = match body {
            Value::Object(mut map) if map.contains_key("confDetail") => {
                map.remove("confDetail").unwrap_or_default()
            }
            other => other,
        };
        let (raw, raw_original) = storable(raw);
        let w = WireDetail::deserialize(&raw)?;
        Ok(ConferenceDetail {
            conf_id: w.conf_id,
            subject: w.subject,
            url: w.url,
            public_url: w.public_url,
            password: w.password,
            host_id: w.host_id,
            host_name: w.host_name,
            invitee_infos: w.invitee_infos,
            assistant_infos: w.assistant_infos,
            status: w.status,
            pstn_num: w.pstn_num,
            pstn_pwd: w.pstn_pwd,
            email_notice: w.email_notice,
            sms_notice: w.sms_notice,
            order_config: w.order_config.map(|o| o.resolve(tz)),
            attributes: w.attributes,
            permission: w.permission,
            raw,
            raw_original,
        })
    }
}

impl WireOrderConfig {
    pub(super) fn resolve(self, tz: Tz) -> OrderConfigDetail {
        OrderConfigDetail {
            schedule_time: parse_time(&self.schedule_time, tz),
            schedule_end_time: parse_time(&self.schedule_end_time, tz),
            period_type: self.period_type,
            period_never_ends: lenient::value_i64(&self.period_end_time) == Some(-1),
            period_end_time: parse_time(&self.period_end_time, tz),
        }
    }
}

/// Answer of `POST /v2/company`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct Company {
    #[serde(rename = "compGUID", default, deserialize_with = "lenient::opt_string")]
    pub comp_guid: Option<String>,
    #[serde(rename = "compName", default, deserialize_with = "lenient::opt_string")]
    pub comp_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub admin: Option<String>,
    #[serde(
        rename = "adminName",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub admin_name: Option<String>,
}

/// Answer of `POST /v2/user`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub account: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub mobile: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub department_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub role_type: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub email: Option<String>,
}

/// Answer of department create and update.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Department {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub department_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub parent_id: Option<i64>,
    /// e.g. `公司 > web > test3`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub full_path: Option<String>,
}

/// The `{code, msg}` body of every error answer.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct VendorError {
    #[serde(deserialize_with = "lenient::req_i64")]
    pub code: i64,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub msg: Option<String>,
}
