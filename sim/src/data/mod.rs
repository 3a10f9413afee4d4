//! The simulator's CloudRoom records and their deterministic generation.
//!
//! Benchmarks ask for a million history rows, so the bulk records
//! ([`HistoryMeeting`], [`Recording`]) are compact: repeated text is shared
//! through [`Text`] (one allocation per distinct string, not per row) and
//! generated file ids are kept as 16 bytes rather than 32 hex characters.
//! The same seed and anchor always give the same data.

use std::cmp::Ordering;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use secrecy::SecretString;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::SimConfig;

/// The department every company has; top-level departments name it as parent.
pub const ROOT_DEPARTMENT_ID: i64 = 1;
/// How the root department is named in `fullPath`, as in the document's example.
pub const ROOT_DEPARTMENT_NAME: &str = "公司";
/// The enterprise creator: the document's default host ("默认使用企业创建者的账号为主持人")
/// and the hostId/hostName of its example. Not a directory user.
pub const CREATOR_USER_ID: i64 = 1_000_141_441;
pub const CREATOR_NAME: &str = "云屋科技";
/// The document's role code for "普通用户".
pub const ROLE_ORDINARY: u8 = 3;
/// The document's default role, "会议安排者".
pub const ROLE_DEFAULT: u8 = 2;

const DAY: i64 = 86_400;
/// Asia/Shanghai has had no daylight saving since 1991: a fixed offset is exact here.
const SHANGHAI_OFFSET: i64 = 8 * 3_600;
/// Generated ids of scheduled conferences start here, above every history series id.
const CONFERENCE_ID_BASE: i64 = 90_000_000;
/// Generated history series ids start here (8-digit ids, like the document's).
const HISTORY_ID_BASE: i64 = 10_000_000;
/// Ids lifted above 2^31 (and some above 2^32) so clients must use 64-bit ids.
const HIGH_ID_OFFSET: i64 = 3_000_000_000;
const HIGHER_ID_OFFSET: i64 = 9_000_000_000;

/// Shared immutable text: cloning is a reference-count bump.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(Arc<str>);

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(Arc::from(s))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(Arc::from(s))
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Text::from)
    }
}

/// A recording's file id. Generated ids are 32 lowercase hex digits (as in
/// the document's list example) kept as bytes; ids added through the admin
/// routes may be any string (the document's delete example is decimal).
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum FileId {
    Hex([u8; 16]),
    Other(Text),
}

impl FileId {
    pub fn parse(s: &str) -> FileId {
        let lowercase_hex =
            s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let mut bytes = [0u8; 16];
        if lowercase_hex && hex::decode_to_slice(s, &mut bytes).is_ok() {
            FileId::Hex(bytes)
        } else {
            FileId::Other(Text::from(s))
        }
    }

    /// Runs `f` on the textual form without allocating.
    pub fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match self {
            FileId::Hex(bytes) => {
                let mut buf = [0u8; 32];
                // Both cannot fail: the buffer is exactly twice the input and hex is ASCII.
                let _ = hex::encode_to_slice(bytes, &mut buf);
                f(std::str::from_utf8(&buf).unwrap_or_default())
            }
            FileId::Other(text) => f(text),
        }
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_str(|s| f.write_str(s))
    }
}

impl fmt::Debug for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_str(|s| write!(f, "FileId({s})"))
    }
}

/// Ordered as the strings the API shows, so list order matches what clients see.
impl Ord for FileId {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            // Lowercase hex preserves byte order.
            (FileId::Hex(a), FileId::Hex(b)) => a.cmp(b),
            _ => self.with_str(|a| other.with_str(|b| a.cmp(b))),
        }
    }
}

impl PartialOrd for FileId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for FileId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.with_str(|s| serializer.serialize_str(s))
    }
}

/// One ended meeting: a row of `/conference/history/list`. A periodic
/// meeting has one row per occurrence, all with the same `confId`; rows are
/// unique by (confId, startTime).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryMeeting {
    pub conf_id: i64,
    pub subject: Text,
    pub conf_type: u8,
    pub start_time: i64,
    pub end_time: i64,
    pub host_name: Text,
    pub members: u32,
    pub period_type: u8,
    // The three below are in the document's example but not its field table.
    pub schedule_time: i64,
    pub schedule_end_time: i64,
    pub conf_code: Text,
    /// Matched by `searchUserId`; not part of the record the API shows.
    #[serde(skip)]
    pub host_id: i64,
}

/// One recording of an ended meeting, as `/video/{confId}` lists it.
#[derive(Debug, Clone)]
pub struct Recording {
    pub file_id: FileId,
    pub title: Text,
    pub conf_id: i64,
    pub create_time: i64,
    pub duration: i64,
    pub size: u64,
    /// `None` means the address the document's example derives from the file id.
    pub url: Option<Text>,
    pub vod_url: Option<Text>,
}

impl Recording {
    pub fn url(&self) -> String {
        match &self.url {
            Some(url) => url.to_string(),
            None => format!(
                "http://www.cloudroom.com/lv//vod/{}/f0.mp4?download",
                self.file_id
            ),
        }
    }

    pub fn vod_url(&self) -> String {
        match &self.vod_url {
            Some(url) => url.to_string(),
            None => format!("http://www.cloudroom.com/vod/{}", self.file_id),
        }
    }

    /// The list order of one meeting's recordings: createTime, then fileId.
    pub fn sort_key(&self) -> (i64, i64, &FileId) {
        (self.conf_id, self.create_time, &self.file_id)
    }
}

impl Serialize for Recording {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Recording", 8)?;
        s.serialize_field("fileId", &self.file_id)?;
        s.serialize_field("title", &self.title)?;
        s.serialize_field("confId", &self.conf_id)?;
        s.serialize_field("createTime", &self.create_time)?;
        s.serialize_field("duration", &self.duration)?;
        s.serialize_field("size", &self.size)?;
        s.serialize_field("vodUrl", &self.vod_url())?;
        s.serialize_field("url", &self.url())?;
        s.end()
    }
}

/// Meeting attributes in the shape the document's `confDetail` example
/// shows (hence `vwalldo`, the example's spelling of the request's `vwallo`).
/// A request's -1 ("use the participant's local setting") for the camera or
/// microphone shows as `autoOpen*: 0` with `*UseLocal: 1`, which is how the
/// example's extra `micUseLocal`/`cameraUseLocal` keys read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attributes {
    pub auto_open_camera: i32,
    pub auto_open_microphone: i32,
    pub mic_use_local: i32,
    pub camera_use_local: i32,
    pub login_ivr: i32,
    pub only_invitee: i32,
    pub only_comp: i32,
    pub can_join_adv: i32,
    pub virtual_members: i32,
    pub water_mark: i32,
    pub vwalldo: i32,
    /// Accepted as `waitHall`; the example's detail does not show it.
    #[serde(skip)]
    pub wait_hall: i32,
}

impl Default for Attributes {
    /// The request table's defaults.
    fn default() -> Self {
        Attributes {
            auto_open_camera: 0,
            auto_open_microphone: 0,
            mic_use_local: 1,
            camera_use_local: 1,
            login_ivr: 1,
            only_invitee: 0,
            only_comp: 0,
            can_join_adv: 1,
            virtual_members: 0,
            water_mark: 0,
            vwalldo: 2000,
            wait_hall: 0,
        }
    }
}

/// Participant permissions in the shape of the document's `confDetail`
/// example. The request's `allowPicture`/`allowUrl` show inverted as
/// `imForbidPic`/`imForbidUrl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    #[serde(rename = "createWB")]
    pub create_wb: i32,
    #[serde(rename = "saveWB")]
    pub save_wb: i32,
    #[serde(rename = "publicIM")]
    pub public_im: i32,
    #[serde(rename = "privateIM")]
    pub private_im: i32,
    pub record_conf: i32,
    pub upload_doc: i32,
    pub open_microphone: i32,
    pub open_camera: i32,
    pub share_or_upload: i32,
    pub srv_record: i32,
    pub pstn_call: i32,
    pub allow_modify_name: i32,
    pub im_forbid_pic: i32,
    pub im_forbid_url: i32,
    pub allow_share: i32,
}

impl Default for Permission {
    /// The request table's defaults; the four keys it does not list
    /// (createWB, uploadDoc, shareOrUpload, srvRecord) follow their nearest
    /// documented neighbour (allowed, except server recording).
    fn default() -> Self {
        Permission {
            create_wb: 1,
            save_wb: 1,
            public_im: 1,
            private_im: 1,
            record_conf: 0,
            upload_doc: 1,
            open_microphone: 1,
            open_camera: 1,
            share_or_upload: 1,
            srv_record: 0,
            pstn_call: 1,
            allow_modify_name: 1,
            im_forbid_pic: 0,
            im_forbid_url: 0,
            allow_share: 1,
        }
    }
}

/// A conference that has not ended: a row of `/conference/list` and the
/// source of `/conference/{confId}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conference {
    pub conf_id: i64,
    pub subject: String,
    pub conf_type: u8,
    pub schedule_time: i64,
    pub schedule_end_time: i64,
    /// 0 until the meeting starts.
    pub start_time: i64,
    pub end_time: i64,
    pub host_id: i64,
    pub host_name: String,
    pub members: u32,
    pub conf_code: String,
    pub period_type: u8,
    /// -1 for no end; 0 for a non-periodic meeting.
    pub period_end_time: i64,
    /// 0 not started, 1 in progress.
    pub status: u8,
    pub password: String,
    pub owner_id: i64,
    pub invitee_ids: Vec<i64>,
    pub assistant_ids: Vec<i64>,
    pub email_notice: u8,
    pub sms_notice: u8,
    pub attributes: Attributes,
    pub permission: Permission,
    pub vote_ids: Vec<String>,
}

impl Conference {
    /// A not-started instant meeting hosted by the creator, to be filled in.
    pub fn blank(conf_id: i64, subject: String, now: i64) -> Self {
        Conference {
            conf_id,
            subject,
            conf_type: 0,
            schedule_time: now,
            schedule_end_time: 0,
            start_time: 0,
            end_time: 0,
            host_id: CREATOR_USER_ID,
            host_name: CREATOR_NAME.to_string(),
            members: 0,
            conf_code: conf_code_for(conf_id),
            period_type: 0,
            period_end_time: 0,
            status: 0,
            password: String::new(),
            owner_id: CREATOR_USER_ID,
            invitee_ids: Vec::new(),
            assistant_ids: Vec::new(),
            email_notice: 0,
            sms_notice: 0,
            attributes: Attributes::default(),
            permission: Permission::default(),
            vote_ids: Vec::new(),
        }
    }
}

/// A directory user. `userId` is what `hostId`/`inviteIds` refer to; the
/// document's user endpoints never show it, the admin state does.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub user_id: i64,
    pub account: String,
    #[serde(skip)]
    pub password: SecretString,
    pub name: String,
    pub mobile: Option<String>,
    pub department_id: i64,
    pub role_type: u8,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Department {
    pub department_id: i64,
    pub name: String,
    pub parent_id: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    #[serde(rename = "compGUID")]
    pub comp_guid: String,
    pub comp_name: String,
    pub admin: String,
    pub admin_name: String,
    #[serde(skip)]
    pub admin_pwd: SecretString,
}

/// What [`generate`] makes for a fresh world.
pub struct Generated {
    pub conferences: Vec<Conference>,
    /// Sorted by startTime desc, then confId desc (the list order).
    pub history: Vec<HistoryMeeting>,
    /// Sorted by confId, createTime, fileId.
    pub recordings: Vec<Recording>,
    /// The first id for conferences created later.
    pub next_conf_id: i64,
}

pub(crate) mod generate;

pub use generate::*;

#[cfg(test)]
mod tests;
