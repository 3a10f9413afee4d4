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

/// Builds the data for `config.seed` around `config.anchor()`.
pub fn generate(config: &SimConfig) -> Generated {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let pools = Pools::new();
    let anchor = config.anchor();
    let (history, recordings) = generate_history(&mut rng, &pools, anchor, config);
    let conferences = generate_conferences(&mut rng, &pools, anchor, config.conferences);
    let next_conf_id = CONFERENCE_ID_BASE + 7 * config.conferences as i64 + 1_000;
    Generated {
        conferences,
        history,
        recordings,
        next_conf_id,
    }
}

/// A six-letter meeting code (the document's example is "abcdef"), stable per id.
pub fn conf_code_for(conf_id: i64) -> String {
    let mut n = conf_id.unsigned_abs().wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..6)
        .map(|_| {
            let letter = (b'a' + (n % 26) as u8) as char;
            n /= 26;
            letter
        })
        .collect()
}

/// Shared text, so a million rows hold a few hundred strings between them.
struct Pools {
    subjects: Vec<Text>,
    recurring: Vec<Text>,
    hosts: Vec<Text>,
    /// `titles[i]` is `hosts[i]` + "的会议", the document's recording title.
    titles: Vec<Text>,
}

const SUBJECTS: &[&str] = &[
    "研发周会",
    "季度复盘",
    "客户演示 · 华东",
    "客户演示 · 华南",
    "客户演示 · 华北",
    "产品评审",
    "技术分享：Rust 异步编程",
    "项目启动会",
    "月度经营分析",
    "招聘面试（后端）",
    "新人入职培训",
    "架构评审",
    "供应商沟通",
    "年度规划",
    "设计评审",
    "安全应急演练",
    "预算评审",
    "市场推广策划",
    "法务合规培训",
    "测试用例评审",
    "Q&A 答疑会",
    "O'Brien 的 1:1",
    "团建方案讨论 🎉",
    "\"双11\" 备战会",
    "跨部门协调会：财务 / 人力 / 行政 / 信息中心联合评审与预算对齐",
];

const RECURRING_SUBJECTS: &[&str] = &[
    "研发周会",
    "每日站会",
    "销售晨会",
    "双周迭代评审",
    "月度经营分析",
    "运维值班交接",
    "管理层例会",
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗",
];
const GIVEN_NAMES: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞",
];
const EXTRA_HOSTS: &[&str] = &["欧阳娜娜", "司马光明", CREATOR_NAME];
/// Generated hosts have ids `HOST_ID_BASE + index into the host pool`.
const HOST_ID_BASE: i64 = 1_000_150_000;

impl Pools {
    fn new() -> Self {
        let mut hosts: Vec<Text> = SURNAMES
            .iter()
            .flat_map(|s| {
                GIVEN_NAMES
                    .iter()
                    .map(move |g| Text::from(format!("{s}{g}")))
            })
            .collect();
        hosts.extend(EXTRA_HOSTS.iter().map(|h| Text::from(*h)));
        let titles = hosts
            .iter()
            .map(|h| Text::from(format!("{h}的会议")))
            .collect();
        Pools {
            subjects: SUBJECTS.iter().map(|s| Text::from(*s)).collect(),
            recurring: RECURRING_SUBJECTS.iter().map(|s| Text::from(*s)).collect(),
            hosts,
            titles,
        }
    }
}

/// Days since the epoch, counted in Asia/Shanghai.
fn shanghai_day(t: i64) -> i64 {
    (t + SHANGHAI_OFFSET).div_euclid(DAY)
}

fn shanghai_day_start(day: i64) -> i64 {
    day * DAY - SHANGHAI_OFFSET
}

fn is_weekend(day: i64) -> bool {
    // Day 0 (1970-01-01) was a Thursday; Monday is 0 here.
    (day + 3).rem_euclid(7) >= 5
}

fn add_month(day: i64) -> i64 {
    let epoch = chrono::NaiveDate::default(); // 1970-01-01
    let date = epoch + chrono::Days::new(day.max(0) as u64);
    date.checked_add_months(chrono::Months::new(1))
        .map(|next| (next - epoch).num_days())
        .unwrap_or(day + 30)
}

/// The day of the occurrence after `day` in a series of `period_type`
/// (1 daily, 2 workdays, 3 weekly, 4 fortnightly, 5 monthly).
fn next_occurrence_day(period_type: u8, day: i64) -> i64 {
    match period_type {
        2 => {
            let mut next = day + 1;
            while is_weekend(next) {
                next += 1;
            }
            next
        }
        3 => day + 7,
        4 => day + 14,
        5 => add_month(day),
        _ => day + 1,
    }
}

/// Upper bound of a series' length in days, to keep it before the anchor.
fn series_span_days(period_type: u8, occurrences: i64) -> i64 {
    let step = match period_type {
        2 => 3,
        3 => 7,
        4 => 14,
        5 => 31,
        _ => 1,
    };
    step * occurrences
}

/// A plausible scheduled start on `day`: 08:00–20:45 Shanghai, on a quarter hour.
fn schedule_on(rng: &mut StdRng, day: i64) -> i64 {
    shanghai_day_start(day) + rng.random_range(8..=20) * 3_600 + rng.random_range(0..4) * 900
}

/// The meeting's features shared by every occurrence of a series.
struct SeriesShape {
    conf_id: i64,
    subject: Text,
    host: usize,
    conf_code: Text,
    conf_type: u8,
    period_type: u8,
}

fn series_conf_id(rng: &mut StdRng, series: i64) -> i64 {
    let id = HISTORY_ID_BASE + series * 7 + rng.random_range(0..7);
    match series % 20 {
        3 => id + HIGH_ID_OFFSET,
        13 => id + HIGHER_ID_OFFSET,
        _ => id,
    }
}

fn random_members(rng: &mut StdRng) -> u32 {
    if rng.random_bool(0.8) {
        rng.random_range(1..=12)
    } else {
        rng.random_range(13..=200)
    }
}

fn generate_history(
    rng: &mut StdRng,
    pools: &Pools,
    anchor: i64,
    config: &SimConfig,
) -> (Vec<HistoryMeeting>, Vec<Recording>) {
    let wanted = config.history;
    let first_day = shanghai_day(anchor - 3 * 365 * DAY);
    // Two days of margin: the latest meeting still ends before the anchor.
    let last_day = shanghai_day(anchor) - 2;
    let mut history = Vec::with_capacity(wanted);
    let mut recordings = Vec::with_capacity(wanted * config.recordings_per_conference);
    let mut series = 0i64;
    while history.len() < wanted {
        let conf_id = series_conf_id(rng, series);
        series += 1;
        // ~8% of series are periodic with 2–10 occurrences: about a third of the rows.
        let periodic = rng.random_bool(0.08);
        let (shape, occurrences) = if periodic {
            let len = rng.random_range(2..=10).min(wanted - history.len());
            let shape = SeriesShape {
                conf_id,
                subject: pools.recurring[rng.random_range(0..pools.recurring.len())].clone(),
                host: rng.random_range(0..pools.hosts.len()),
                conf_code: Text::from(conf_code_for(conf_id)),
                conf_type: 1,
                period_type: rng.random_range(1..=5),
            };
            (shape, len)
        } else {
            let shape = SeriesShape {
                conf_id,
                subject: pools.subjects[rng.random_range(0..pools.subjects.len())].clone(),
                host: rng.random_range(0..pools.hosts.len()),
                conf_code: Text::from(conf_code_for(conf_id)),
                conf_type: u8::from(rng.random_bool(0.7)),
                period_type: 0,
            };
            (shape, 1)
        };
        let span = series_span_days(shape.period_type, occurrences as i64);
        let mut day = rng.random_range(first_day..=(last_day - span).max(first_day));
        if shape.period_type == 2 {
            while is_weekend(day) {
                day += 1;
            }
        }
        for _ in 0..occurrences {
            let meeting = occurrence(rng, pools, &shape, day);
            add_recordings(rng, pools, &meeting, shape.host, config, &mut recordings);
            history.push(meeting);
            day = next_occurrence_day(shape.period_type, day);
        }
    }
    history.sort_unstable_by(|a, b| {
        b.start_time
            .cmp(&a.start_time)
            .then(b.conf_id.cmp(&a.conf_id))
    });
    recordings.sort_unstable_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    (history, recordings)
}

fn occurrence(rng: &mut StdRng, pools: &Pools, shape: &SeriesShape, day: i64) -> HistoryMeeting {
    let scheduled = schedule_on(rng, day);
    let duration = if rng.random_bool(0.9) {
        rng.random_range(10..=120) * 60
    } else {
        rng.random_range(121..=360) * 60
    };
    let (start_time, schedule_time, schedule_end_time) = if shape.conf_type == 1 {
        let planned = rng.random_range(2..=8) * 900;
        // Scheduled meetings start a little early or late.
        (
            scheduled + rng.random_range(-300..=600),
            scheduled,
            scheduled + planned,
        )
    } else {
        // An instant meeting's schedule is its start, with no planned end.
        let start = scheduled + rng.random_range(0..900);
        (start, start, 0)
    };
    HistoryMeeting {
        conf_id: shape.conf_id,
        subject: shape.subject.clone(),
        conf_type: shape.conf_type,
        start_time,
        end_time: start_time + duration,
        host_name: pools.hosts[shape.host].clone(),
        members: random_members(rng),
        period_type: shape.period_type,
        schedule_time,
        schedule_end_time,
        conf_code: shape.conf_code.clone(),
        host_id: HOST_ID_BASE + shape.host as i64,
    }
}

fn add_recordings(
    rng: &mut StdRng,
    pools: &Pools,
    meeting: &HistoryMeeting,
    host: usize,
    config: &SimConfig,
    out: &mut Vec<Recording>,
) {
    let meeting_length = meeting.end_time - meeting.start_time;
    let mut create_time = meeting.end_time;
    for _ in 0..config.recordings_per_conference {
        create_time += rng.random_range(30..=900);
        let duration = rng.random_range(60..=meeting_length.max(61));
        // Every tenth recording is over 2 GiB, so sizes must be 64-bit.
        let size = if out.len() % 10 == 7 {
            rng.random_range((1u64 << 31) + 1..=(1u64 << 33))
        } else {
            duration as u64 * rng.random_range(20_000..=400_000)
        };
        out.push(Recording {
            file_id: FileId::Hex(rng.random::<[u8; 16]>()),
            title: pools.titles[host].clone(),
            conf_id: meeting.conf_id,
            create_time,
            duration,
            size,
            url: None,
            vod_url: None,
        });
    }
}

fn generate_conferences(
    rng: &mut StdRng,
    pools: &Pools,
    anchor: i64,
    count: usize,
) -> Vec<Conference> {
    (0..count)
        .map(|i| {
            let mut conf_id = CONFERENCE_ID_BASE + 7 * i as i64 + rng.random_range(0..7);
            if i % 10 == 3 {
                conf_id += HIGH_ID_OFFSET;
            }
            let host = rng.random_range(0..pools.hosts.len());
            let mut conf = Conference::blank(
                conf_id,
                pools.subjects[rng.random_range(0..pools.subjects.len())].to_string(),
                anchor,
            );
            conf.host_id = HOST_ID_BASE + host as i64;
            conf.owner_id = conf.host_id;
            conf.host_name = pools.hosts[host].to_string();
            conf.password = format!("{:06}", rng.random_range(0..1_000_000));
            conf.conf_type = 1;
            if rng.random_bool(0.2) {
                start_in_progress(rng, anchor, &mut conf);
            } else {
                // Mostly upcoming, a few overdue but not yet started.
                let offset = rng.random_range(-DAY / 900..=30 * DAY / 900) * 900;
                conf.schedule_time = anchor + offset;
            }
            conf.schedule_end_time = conf.schedule_time + rng.random_range(2..=12) * 900;
            if rng.random_bool(0.15) {
                conf.period_type = rng.random_range(1..=5);
                conf.period_end_time = if rng.random_bool(0.5) {
                    -1
                } else {
                    conf.schedule_time + 90 * DAY
                };
            }
            if rng.random_bool(0.2) {
                conf.attributes.can_join_adv = 0;
            }
            conf
        })
        .collect()
}

fn start_in_progress(rng: &mut StdRng, anchor: i64, conf: &mut Conference) {
    conf.status = 1;
    conf.schedule_time = anchor - rng.random_range(1..=24) * 300;
    conf.start_time = conf.schedule_time + rng.random_range(-120..=240);
    conf.members = random_members(rng);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_ids_round_trip_and_order_as_text() {
        let hex = "a1b27fe0212f42458c38aa86858939ee";
        assert!(matches!(FileId::parse(hex), FileId::Hex(_)));
        assert_eq!(FileId::parse(hex).to_string(), hex);
        let decimal = FileId::parse("387702296195782359");
        assert!(matches!(decimal, FileId::Other(_)));
        assert!(decimal < FileId::parse(hex));
    }

    #[test]
    fn workday_series_skip_weekends() {
        // 2026-01-02 was a Friday.
        let friday = shanghai_day(1_767_312_000);
        assert!(!is_weekend(friday));
        assert_eq!(next_occurrence_day(2, friday), friday + 3);
    }

    #[test]
    fn monthly_series_step_by_calendar_month() {
        let jan_31 = shanghai_day(1_769_817_600); // 2026-01-31 Shanghai
        assert_eq!(add_month(jan_31) - jan_31, 28);
    }
}
