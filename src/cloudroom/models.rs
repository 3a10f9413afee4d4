//! Request and response bodies of the CloudRoom v2 API.
//!
//! Responses are decoded tolerantly: unknown fields are ignored, numbers may
//! arrive as strings and strings as numbers, and the document's own typos
//! (`vwalldo`, `votelds`, `inviteeIds`) are accepted next to the intended
//! spellings. Requests use exactly the field names of the document's request
//! tables and leave out unset fields.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

// ---------------------------------------------------------------- requests

/// Body of `POST /v2/conference`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreateConference {
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_id: Option<i64>,
    #[serde(
        rename = "inviteIds",
        alias = "inviteeIds",
        skip_serializing_if = "Option::is_none"
    )]
    pub invite_ids: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assistant_infos: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_notice: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_notice: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_config: Option<OrderConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<Permission>,
    /// Spelled `votelds` in the document's request table, so that is what we send.
    #[serde(
        rename = "votelds",
        alias = "voteIds",
        skip_serializing_if = "Option::is_none"
    )]
    pub vote_ids: Option<Vec<String>>,
}

/// Body of `PUT /v2/conference/{confId}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UpdateConference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_id: Option<i64>,
    #[serde(
        rename = "inviteeIds",
        alias = "inviteIds",
        skip_serializing_if = "Option::is_none"
    )]
    pub invitee_ids: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assistant_infos: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_config: Option<OrderConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<Permission>,
}

/// Scheduling of a conference as sent: epoch seconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OrderConfig {
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub schedule_time: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub schedule_end_time: Option<i64>,
    /// 0 none, 1 daily, 2 workdays, 3 weekly, 4 fortnightly, 5 monthly.
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub period_type: Option<i64>,
    /// Epoch seconds; -1 means the recurrence never ends.
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub period_end_time: Option<i64>,
}

/// Conference attributes, both sent and received. The last four fields only
/// appear in the detail response.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Attributes {
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub auto_open_camera: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub auto_open_microphone: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub can_join_adv: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub login_ivr: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub water_mark: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub virtual_members: Option<i64>,
    /// Default video layout; `vwallo` in the request table, `vwalldo` in the
    /// detail example.
    #[serde(
        rename = "vwallo",
        alias = "vwalldo",
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub vwallo: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub wait_hall: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_join: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub mic_use_local: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub camera_use_local: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub only_invitee: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub only_comp: Option<i64>,
}

/// Participant permissions, both sent and received. The vendor capitalises
/// `WB` and `IM`, which `camelCase` would not.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    #[serde(
        rename = "saveWB",
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub save_wb: Option<i64>,
    #[serde(
        rename = "publicIM",
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub public_im: Option<i64>,
    #[serde(
        rename = "privateIM",
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub private_im: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_picture: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_url: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub record_conf: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub open_microphone: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub open_camera: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_share: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_modify_name: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub pstn_call: Option<i64>,
    #[serde(
        rename = "createWB",
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub create_wb: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub upload_doc: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub share_or_upload: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub srv_record: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub im_forbid_pic: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub im_forbid_url: Option<i64>,
}

/// Query of `GET /v2/conference/{confId}/join`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct JoinConference {
    pub nick_name: String,
    /// 1 host, 4 ordinary participant (the server's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_type: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// Query of the list endpoints. Paging policy is the caller's: the server
/// silently replaces an out-of-range `size` by 20 and a `current` past the
/// end by 1.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_user_id: Option<i64>,
    /// Epoch seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    /// Epoch seconds; at most one year after `start_time` (else code 22236).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
}

impl ListQuery {
    pub fn page(current: u32, size: u32) -> Self {
        ListQuery {
            current: Some(current),
            size: Some(size),
            ..ListQuery::default()
        }
    }

    /// Only the paging fields: the recordings endpoint documents no others.
    pub(crate) fn paging_only(&self) -> Self {
        ListQuery {
            current: self.current,
            size: self.size,
            ..ListQuery::default()
        }
    }
}

/// Body of `POST /v2/company` (platform credentials).
#[derive(Debug, Clone, Serialize)]
pub struct CreateCompany {
    #[serde(rename = "compGUID")]
    pub comp_guid: String,
    #[serde(rename = "compName")]
    pub comp_name: String,
    pub admin: String,
    #[serde(rename = "adminName")]
    pub admin_name: String,
    #[serde(rename = "adminPwd", serialize_with = "expose")]
    pub admin_pwd: SecretString,
}

/// Body of `PUT /v2/company/{compGUID}`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UpdateCompany {
    #[serde(rename = "compName")]
    pub comp_name: String,
}

/// Body of `POST /v2/user`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateUser {
    pub account: String,
    #[serde(serialize_with = "expose")]
    pub password: SecretString,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    /// Without it the user lands in the company's root department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department_id: Option<i64>,
    /// 1 admin, 2 meeting organiser (default), 3 user, 4 department admin, 5 finance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_type: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Body of `PUT /v2/user/{account}`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUser {
    #[serde(serialize_with = "expose_opt", skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_type: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Body of `POST /v2/department` and `PUT /v2/department/{id}`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentRequest {
    pub name: String,
    /// The root department's parent id is 1.
    pub parent_id: i64,
}

fn expose<S: Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose_secret())
}

fn expose_opt<S: Serializer>(secret: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => s.serialize_str(secret.expose_secret()),
        None => s.serialize_none(),
    }
}

// --------------------------------------------------------------- responses

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
    /// examples, so absence reads as `false`; do not page by it alone.
    pub remaining: bool,
    pub records: Vec<T>,
}

/// A list record that keeps the JSON it was decoded from, because the
/// mirror stores the record as received.
pub trait RawRecord: Sized {
    /// Decodes the typed view of `raw` and keeps `raw` alongside.
    fn from_raw(raw: Value) -> Result<Self, serde_json::Error>;
}

#[derive(Deserialize)]
struct WirePage {
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    total: Option<u64>,
    #[serde(default, deserialize_with = "lenient::flag")]
    remaining: bool,
    #[serde(default, deserialize_with = "lenient::values")]
    records: Vec<Value>,
}

impl<T: RawRecord> Page<T> {
    /// Decodes a list answer; a missing `total` counts the records received.
    pub fn from_value(body: Value) -> Result<Self, serde_json::Error> {
        let wire = WirePage::deserialize(body)?;
        let records = wire
            .records
            .into_iter()
            .map(T::from_raw)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            total: wire.total.unwrap_or(records.len() as u64),
            remaining: wire.remaining,
            records,
        })
    }
}

macro_rules! raw_record {
    ($ty:ty) => {
        impl RawRecord for $ty {
            fn from_raw(raw: Value) -> Result<Self, serde_json::Error> {
                let mut record = <$ty>::deserialize(&raw)?;
                record.raw = raw;
                Ok(record)
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
    /// The record exactly as received.
    #[serde(skip)]
    pub raw: Value,
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
    /// The `confDetail` object as received.
    pub raw: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireDetail {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    conf_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    subject: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    public_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    password: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    host_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    host_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    invitee_infos: Vec<InviteeInfo>,
    #[serde(default, deserialize_with = "lenient::values")]
    assistant_infos: Vec<Value>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    status: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pstn_num: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pstn_pwd: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    email_notice: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    sms_notice: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_struct")]
    order_config: Option<WireOrderConfig>,
    #[serde(default, deserialize_with = "lenient::opt_struct")]
    attributes: Option<Attributes>,
    #[serde(default, deserialize_with = "lenient::opt_struct")]
    permission: Option<Permission>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireOrderConfig {
    #[serde(default)]
    schedule_time: Value,
    #[serde(default)]
    schedule_end_time: Value,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    period_type: Option<i64>,
    #[serde(default)]
    period_end_time: Value,
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
        })
    }
}

impl WireOrderConfig {
    fn resolve(self, tz: Tz) -> OrderConfigDetail {
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

// ------------------------------------------------------------------ times

/// Epoch seconds (or milliseconds, recognised by size) to UTC; 0 and
/// negative values mean "not set" in this API.
pub fn epoch_utc(value: Option<i64>) -> Option<DateTime<Utc>> {
    let v = value.filter(|v| *v > 0)?;
    if v >= 100_000_000_000 {
        DateTime::from_timestamp_millis(v)
    } else {
        DateTime::from_timestamp(v, 0)
    }
}

/// A detail time: `yyyy-MM-dd HH:mm:ss` wall-clock in `tz`, "" for unset, or
/// epoch seconds as a number or digit string.
pub fn parse_time(value: &Value, tz: Tz) -> Option<DateTime<Utc>> {
    match value {
        Value::String(s) => parse_time_str(s.trim(), tz),
        other => epoch_utc(lenient::value_i64(other)),
    }
}

fn parse_time_str(s: &str, tz: Tz) -> Option<DateTime<Utc>> {
    if s.is_empty() {
        return None;
    }
    if let Ok(n) = s.parse::<i64>() {
        return epoch_utc(Some(n));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    const FORMATS: &[&str] = &["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"];
    let naive = FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok());
    let Some(naive) = naive else {
        tracing::warn!(value = s, "unrecognised CloudRoom time string; ignored");
        return None;
    };
    // `earliest` settles DST folds; gaps (nonexistent local times) are
    // read one hour later, as a wall clock jumping forward would show.
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
}

// --------------------------------------------------------------- lenience

/// Field decoders that accept what the vendor actually sends: numbers as
/// strings, strings as numbers, nulls and empty strings as absent.
pub(crate) mod lenient {
    use serde::de::{DeserializeOwned, Error};
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    pub fn value_i64(v: &Value) -> Option<i64> {
        match v {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_u64().and_then(|u| i64::try_from(u).ok()))
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Value::String(s) => {
                let s = s.trim();
                s.parse::<i64>().ok().or_else(|| {
                    s.parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite() && f.fract() == 0.0)
                        .map(|f| f as i64)
                })
            }
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    fn value_u64(v: &Value) -> Option<u64> {
        match v {
            Value::Number(n) if n.is_u64() => n.as_u64(),
            Value::String(s) if s.trim().parse::<u64>().is_ok() => s.trim().parse().ok(),
            other => value_i64(other).and_then(|i| u64::try_from(i).ok()),
        }
    }

    fn value_string(v: Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Ok(Option::<Value>::deserialize(d)?
            .as_ref()
            .and_then(value_i64))
    }

    pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Ok(Option::<Value>::deserialize(d)?
            .as_ref()
            .and_then(value_u64))
    }

    pub fn req_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let v = Value::deserialize(d)?;
        value_i64(&v).ok_or_else(|| D::Error::custom(format!("expected an integer, got {v}")))
    }

    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(Option::<Value>::deserialize(d)?.and_then(value_string))
    }

    pub fn req_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let v = Value::deserialize(d)?;
        value_string(v).ok_or_else(|| D::Error::custom("expected a string"))
    }

    /// 0/1, true/false, "0"/"1"/"true"; anything else (or absent) is false.
    pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            Some(Value::Bool(b)) => b,
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("true") => true,
            Some(other) => value_i64(&other).is_some_and(|n| n != 0),
            None => false,
        })
    }

    /// An array of anything; null or a non-array reads as empty.
    pub fn values<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        })
    }

    /// An array of `T`; elements that do not decode are skipped with a warning.
    pub fn list<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
        Ok(values(d)?
            .into_iter()
            .filter_map(|v| match serde_json::from_value(v) {
                Ok(t) => Some(t),
                Err(e) => {
                    tracing::warn!(error = %e, "skipped an undecodable CloudRoom list element");
                    None
                }
            })
            .collect())
    }

    /// A nested object; null or a mismatched shape reads as absent.
    pub fn opt_struct<'de, D: Deserializer<'de>, T: DeserializeOwned>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            Some(v @ Value::Object(_)) => serde_json::from_value(v).ok(),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shanghai() -> Tz {
        chrono_tz::Asia::Shanghai
    }

    #[test]
    fn create_request_uses_documented_names_and_skips_none() {
        let body = CreateConference {
            subject: "创建会议".into(),
            invite_ids: Some(vec![3_000_000_001]),
            vote_ids: Some(vec!["v1".into()]),
            order_config: Some(OrderConfig {
                period_type: Some(0),
                ..OrderConfig::default()
            }),
            attributes: Some(Attributes {
                water_mark: Some(1),
                vwallo: Some(2000),
                ..Attributes::default()
            }),
            ..CreateConference::default()
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({
                "subject": "创建会议",
                "inviteIds": [3_000_000_001_i64],
                "votelds": ["v1"],
                "orderConfig": {"periodType": 0},
                "attributes": {"waterMark": 1, "vwallo": 2000}
            })
        );
    }

    #[test]
    fn update_request_uses_invitee_ids() {
        let body = UpdateConference {
            subject: Some("修改会议".into()),
            invitee_ids: Some(vec![1]),
            permission: Some(Permission {
                save_wb: Some(1),
                public_im: Some(0),
                ..Permission::default()
            }),
            ..UpdateConference::default()
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"subject": "修改会议", "inviteeIds": [1],
                   "permission": {"saveWB": 1, "publicIM": 0}})
        );
    }

    #[test]
    fn request_variant_spellings_are_accepted_on_input() {
        let c: CreateConference =
            serde_json::from_value(json!({"subject": "s", "inviteeIds": [1], "voteIds": ["a"]}))
                .unwrap();
        assert_eq!(c.invite_ids, Some(vec![1]));
        assert_eq!(c.vote_ids, Some(vec!["a".to_string()]));
        let u: UpdateConference = serde_json::from_value(json!({"inviteIds": [2]})).unwrap();
        assert_eq!(u.invitee_ids, Some(vec![2]));
    }

    #[test]
    fn list_query_skips_unset_fields() {
        let q = ListQuery {
            start_time: Some(1_616_655_277),
            ..ListQuery::page(1, 100)
        };
        assert_eq!(
            serde_json::to_value(&q).unwrap(),
            json!({"startTime": 1_616_655_277, "current": 1, "size": 100})
        );
        let q = ListQuery {
            search_user_id: Some(5),
            ..ListQuery::page(2, 20)
        };
        assert_eq!(
            serde_json::to_value(q.paging_only()).unwrap(),
            json!({"current": 2, "size": 20})
        );
    }

    #[test]
    fn secrets_in_requests_are_sent_but_not_debugged() {
        let user = CreateUser {
            account: "test@cloudroom.com".into(),
            password: SecretString::from("pw-123456"),
            name: "test".into(),
            mobile: Some("18927450001".into()),
            department_id: Some(102),
            role_type: Some(2),
            email: Some("test@163.com".into()),
        };
        assert_eq!(
            serde_json::to_value(&user).unwrap(),
            json!({"account": "test@cloudroom.com", "password": "pw-123456", "name": "test",
                   "mobile": "18927450001", "departmentId": 102, "roleType": 2,
                   "email": "test@163.com"})
        );
        assert!(!format!("{user:?}").contains("pw-123456"));
        let company = CreateCompany {
            comp_guid: "mytestGUID".into(),
            comp_name: "测试CompName".into(),
            admin: "mytest@cloudroom.com".into(),
            admin_name: "测试01".into(),
            admin_pwd: SecretString::from("adm-pw"),
        };
        let v = serde_json::to_value(&company).unwrap();
        assert_eq!(v["compGUID"], "mytestGUID");
        assert_eq!(v["adminPwd"], "adm-pw");
        assert!(!format!("{company:?}").contains("adm-pw"));
        let update = UpdateUser {
            name: Some("n".into()),
            ..UpdateUser::default()
        };
        assert_eq!(serde_json::to_value(&update).unwrap(), json!({"name": "n"}));
    }

    #[test]
    fn decodes_create_and_join_examples() {
        let c: CreatedConference = serde_json::from_value(json!({"confId": 12345678})).unwrap();
        assert_eq!(c.conf_id, 12_345_678);
        let c: CreatedConference = serde_json::from_value(json!({"confId": "4294967296"})).unwrap();
        assert_eq!(c.conf_id, 4_294_967_296);
        let j: JoinResult = serde_json::from_value(json!({"crmt": "CRMT:LU1FRVRUWVBFPUIFRVRNR1IKLU1HUKFDTlQ9MTU40TA5MDgwODA7ZTEwYWRjMzk0OWJhNTlhYmJlNTZlMDU3ZjIwZjg4M2UKLU1H"})).unwrap();
        assert!(j.crmt.starts_with("CRMT:"));
    }

    fn detail_example() -> Value {
        json!({"confDetail": {
            "confId": 12345678, "subject": "会议主题",
            "url": "http://www.cloudroom.com/abcdef",
            "publicUrl": "http://www.cloudroom.com/abc123",
            "hostId": 1000141441, "hostName": "云屋科技", "status": 0,
            "pstnPwd": "123456", "pstnNum": "008612345678901",
            "orderConfig": {"scheduleTime": "2021-04-14 15:07:31",
                            "scheduleEndTime": "2021-04-14 17:07:31",
                            "periodType": 0, "periodEndTime": ""},
            "attributes": {"autoOpenCamera": 0, "autoOpenMicrophone": 0, "micUseLocal": 0,
                           "cameraUseLocal": 0, "loginIvr": 0, "onlyInvitee": 0, "onlyComp": 0,
                           "canJoinAdv": 1, "virtualMembers": 0, "waterMark": 0, "vwalldo": 0},
            "permission": {"createWB": 0, "saveWB": 0, "publicIM": 0, "privateIM": 0,
                           "recordConf": 0, "uploadDoc": 0, "openMicrophone": 0, "openCamera": 0,
                           "shareOrUpload": 0, "srvRecord": 0, "pstnCall": 0,
                           "allowModifyName": 0, "imForbidPic": 0, "imForbidUrl": 0,
                           "allowShare": 0}
        }})
    }

    #[test]
    fn decodes_detail_example_with_wall_clock_times() {
        let d = ConferenceDetail::from_value(detail_example(), shanghai()).unwrap();
        assert_eq!(d.conf_id, Some(12_345_678));
        assert_eq!(d.host_id, Some(1_000_141_441));
        assert_eq!(d.pstn_num.as_deref(), Some("008612345678901"));
        let o = d.order_config.clone().unwrap();
        // 15:07:31 in Shanghai (UTC+8) is 07:07:31 UTC.
        assert_eq!(
            o.schedule_time.unwrap().to_rfc3339(),
            "2021-04-14T07:07:31+00:00"
        );
        assert_eq!(
            o.schedule_end_time.unwrap().to_rfc3339(),
            "2021-04-14T09:07:31+00:00"
        );
        assert_eq!(o.period_end_time, None);
        assert!(!o.period_never_ends);
        let a = d.attributes.clone().unwrap();
        assert_eq!(a.vwallo, Some(0));
        assert_eq!(a.can_join_adv, Some(1));
        let p = d.permission.clone().unwrap();
        assert_eq!(p.create_wb, Some(0));
        assert_eq!(p.im_forbid_url, Some(0));
        assert_eq!(d.raw["subject"], "会议主题");
        assert!(d.invitee_infos.is_empty());
    }

    #[test]
    fn detail_times_follow_the_configured_zone() {
        let utc = ConferenceDetail::from_value(detail_example(), chrono_tz::UTC).unwrap();
        assert_eq!(
            utc.order_config
                .unwrap()
                .schedule_time
                .unwrap()
                .to_rfc3339(),
            "2021-04-14T15:07:31+00:00"
        );
    }

    #[test]
    fn detail_tolerates_epochs_strings_and_odd_shapes() {
        let body = json!({"confDetail": {
            "confId": "3000000000", "hostId": "12", "status": "1",
            "inviteeInfos": [{"inviteId": 4294967297_i64, "inviteeName": "a", "inviteeType": 0},
                             {"inviteeId": "5", "inviteeName": 7}],
            "assistantInfos": null,
            "orderConfig": {"scheduleTime": 1618384051, "scheduleEndTime": "1618391251",
                            "periodType": "3", "periodEndTime": -1},
            "attributes": null, "somethingNew": {"x": 1}
        }});
        let d = ConferenceDetail::from_value(body, shanghai()).unwrap();
        assert_eq!(d.conf_id, Some(3_000_000_000));
        assert_eq!(d.status, Some(1));
        assert_eq!(d.invitee_infos.len(), 2);
        assert_eq!(d.invitee_infos[0].invite_id, Some(4_294_967_297));
        assert_eq!(d.invitee_infos[1].invite_id, Some(5));
        assert_eq!(d.invitee_infos[1].invitee_name.as_deref(), Some("7"));
        let o = d.order_config.unwrap();
        assert_eq!(o.schedule_time.unwrap().timestamp(), 1_618_384_051);
        assert_eq!(o.schedule_end_time.unwrap().timestamp(), 1_618_391_251);
        assert_eq!(o.period_type, Some(3));
        assert!(o.period_never_ends);
        assert_eq!(o.period_end_time, None);
        assert_eq!(d.attributes, None);
    }

    #[test]
    fn time_strings() {
        let tz = shanghai();
        assert_eq!(parse_time(&json!(""), tz), None);
        assert_eq!(parse_time(&json!(null), tz), None);
        assert_eq!(parse_time(&json!(0), tz), None);
        assert_eq!(parse_time(&json!("garbage"), tz), None);
        assert_eq!(
            parse_time(&json!("2021-06-06 20:00:00"), tz)
                .unwrap()
                .timestamp(),
            1_622_980_800
        );
        assert_eq!(
            parse_time(&json!("1622980800"), tz).unwrap().timestamp(),
            1_622_980_800
        );
        assert_eq!(
            parse_time(&json!(1_622_980_800_000_i64), tz)
                .unwrap()
                .timestamp(),
            1_622_980_800
        );
        // Zones with DST: a nonexistent local time still resolves.
        let ny: Tz = "America/New_York".parse().unwrap();
        assert!(parse_time(&json!("2021-03-14 02:30:00"), ny).is_some());
    }

    fn list_example() -> Value {
        json!({"total": 1, "records": [{
            "confId": 12345678, "subject": "会议主题", "confType": 1,
            "scheduleTime": 1616655277, "scheduleEndTime": 0,
            "startTime": 1616655277, "endTime": 0, "hostName": "云屋科技",
            "members": 0, "confCode": "abcdef", "periodType": 0
        }]})
    }

    #[test]
    fn decodes_list_and_history_examples_keeping_raw() {
        let page: Page<ConferenceRecord> = Page::from_value(list_example()).unwrap();
        assert_eq!(page.total, 1);
        assert!(!page.remaining);
        let r = &page.records[0];
        assert_eq!(r.conf_id, Some(12_345_678));
        assert_eq!(r.conf_code.as_deref(), Some("abcdef"));
        assert_eq!(r.start_time_utc().unwrap().timestamp(), 1_616_655_277);
        assert_eq!(r.end_time_utc(), None);
        assert_eq!(r.schedule_end_time_utc(), None);
        assert_eq!(r.raw, list_example()["records"][0]);
    }

    #[test]
    fn list_tolerates_strings_flags_and_big_ids() {
        let body = json!({"total": "250", "remaining": "1", "records": [{
            "confId": "9007199254740993", "members": "3", "status": 1,
            "password": 123456, "ownerId": 4294967296_i64, "extra": [1, 2]
        }]});
        let page: Page<ConferenceRecord> = Page::from_value(body).unwrap();
        assert_eq!(page.total, 250);
        assert!(page.remaining);
        let r = &page.records[0];
        assert_eq!(r.conf_id, Some(9_007_199_254_740_993));
        assert_eq!(r.password.as_deref(), Some("123456"));
        assert_eq!(r.owner_id, Some(4_294_967_296));
        assert_eq!(r.raw["extra"], json!([1, 2]));
        let p: Page<ConferenceRecord> =
            Page::from_value(json!({"total": 0, "remaining": true, "records": null})).unwrap();
        assert!(p.records.is_empty() && p.remaining);
    }

    #[test]
    fn decodes_video_example() {
        let body = json!({"total": 1, "records": [{
            "title": "云屋科技的会议", "fileId": "a1b27fe0212f42458c38aa86858939ee",
            "confId": 12345678, "createTime": 1649840637, "duration": 461, "size": 6950912,
            "url": "http://www.cloudroom.com/lv//vod/a1b27fe0212f42458c38aa86858939ee/f0.mp4?download",
            "vodUrl": "http://www.cloudroom.com/vod/a1b27fe0212f42458c38aa86858939ee"
        }], "remaining": 0});
        let page: Page<VideoRecord> = Page::from_value(body).unwrap();
        let v = &page.records[0];
        assert_eq!(
            v.file_id.as_deref(),
            Some("a1b27fe0212f42458c38aa86858939ee")
        );
        assert_eq!(v.size, Some(6_950_912));
        assert_eq!(v.duration, Some(461));
        assert_eq!(v.create_time_utc().unwrap().timestamp(), 1_649_840_637);
        assert!(v.vod_url.as_deref().unwrap().contains("/vod/"));
        let big: Page<VideoRecord> = Page::from_value(json!({"records": [
            {"fileId": 387702296195782359_i64, "size": "5000000000"}]}))
        .unwrap();
        assert_eq!(big.total, 1);
        assert_eq!(
            big.records[0].file_id.as_deref(),
            Some("387702296195782359")
        );
        assert_eq!(big.records[0].size, Some(5_000_000_000));
    }

    #[test]
    fn decodes_directory_examples() {
        let c: Company = serde_json::from_value(json!({"compGUID": "mytestGUID",
            "compName": "测试CompName", "admin": "mytest@cloudroom.com", "adminName": "测试01"}))
        .unwrap();
        assert_eq!(c.comp_guid.as_deref(), Some("mytestGUID"));
        assert_eq!(c.admin_name.as_deref(), Some("测试01"));
        let u: User = serde_json::from_value(json!({"account": "test@cloudroom.com",
            "name": "test", "mobile": 18927450001_i64, "departmentId": "102", "roleType": 2,
            "email": "test@163.com"}))
        .unwrap();
        assert_eq!(u.mobile.as_deref(), Some("18927450001"));
        assert_eq!(u.department_id, Some(102));
        let d: Department = serde_json::from_value(json!({"departmentId": 2562, "name": "test3",
            "parentId": 1668, "fullPath": "公司 > web > test3"}))
        .unwrap();
        assert_eq!(d.department_id, Some(2562));
        assert_eq!(d.full_path.as_deref(), Some("公司 > web > test3"));
    }

    #[test]
    fn decodes_error_bodies() {
        let e: VendorError =
            serde_json::from_value(json!({"code": 22004, "msg": "签名过期"})).unwrap();
        assert_eq!((e.code, e.msg.as_deref()), (22004, Some("签名过期")));
        let e: VendorError = serde_json::from_value(json!({"code": "22236"})).unwrap();
        assert_eq!((e.code, e.msg), (22236, None));
    }
}
