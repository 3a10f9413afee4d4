//! The CloudRoom v2 API as the vendor document describes it, quirks included:
//! header-signature auth with HTTP 400 codes 22001–22009, a per-secretId
//! request window answering 429/22008, business errors as HTTP 500 with
//! `{"code","msg"}`, success bodies without an envelope, list paging that
//! silently falls back to page 1 and size 20, and user updates where an
//! omitted field takes the document's default rather than keeping its value.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use base64::Engine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use secrecy::SecretString;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::data::{
    self, Attributes, Company, Conference, Department, FileId, HistoryMeeting, Permission,
    Recording, Text, User, CREATOR_NAME, CREATOR_USER_ID, ROLE_DEFAULT, ROLE_ORDINARY,
    ROOT_DEPARTMENT_ID, ROOT_DEPARTMENT_NAME,
};
use super::{lock, SimConfig, SimState};

/// Platform-wide credentials: the only ones the company endpoints accept.
pub const PLATFORM_SECRET_ID: &str = "crPlatformSimId001";
pub const PLATFORM_SECRET_KEY: &str = "PlatformSimKey0000000000000000001";
/// A second enterprise whose API access is switched off: it signs correctly
/// and is still refused with 22007.
pub const API_DISABLED_SECRET_ID: &str = "crApiDisabledSim01";
pub const API_DISABLED_SECRET_KEY: &str = "ApiDisabledSimKey000000000000001";

/// "与服务器时间相差超过5分钟": exactly 300 s of difference is still accepted.
pub const MAX_CLOCK_DIFFERENCE_SECS: i64 = 300;
/// "时间间隔最大一年".
pub const MAX_QUERY_WINDOW_SECS: i64 = 365 * 86_400;
pub const DEFAULT_PAGE_SIZE: usize = 20;
pub const MAX_PAGE_SIZE: i64 = 100;
const MAX_SUBJECT_CHARS: usize = 50;
const MAX_NICKNAME_CHARS: usize = 30;
const MAX_ASSISTANTS: usize = 4;
const MAX_SCHEDULE_SECS: i64 = 24 * 3_600;

/// A refusal as the vendor sends it: an HTTP status and `{"code","msg"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("HTTP {status} code {code}: {msg}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: i64,
    pub msg: Cow<'static, str>,
    /// Seconds for a `Retry-After` header (429 only, when the flag asks).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// Authentication failures are HTTP 400.
    fn auth(code: i64) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            msg: Cow::Borrowed(document_message(code)),
            retry_after: None,
        }
    }

    /// Business failures are HTTP 500 with the document's message.
    pub fn business(code: i64) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code,
            msg: Cow::Borrowed(document_message(code)),
            retry_after: None,
        }
    }

    /// 400 请求地址或参数错误: a malformed path, query or body.
    pub fn bad_request() -> Self {
        Self::business(400)
    }

    /// A failure the document gives no code for: code 400 with a message
    /// that says what is wrong.
    pub fn invalid(msg: &'static str) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: 400,
            msg: Cow::Borrowed(msg),
            retry_after: None,
        }
    }

    fn rate_limited() -> Self {
        ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: 22008,
            msg: Cow::Borrowed(document_message(22008)),
            retry_after: None,
        }
    }

    fn retry_after(self, seconds: Option<u64>) -> Self {
        ApiError {
            retry_after: seconds,
            ..self
        }
    }

    fn body(&self) -> Vec<u8> {
        let body = serde_json::json!({ "code": self.code, "msg": self.msg });
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// The messages of the document's error tables.
fn document_message(code: i64) -> &'static str {
    match code {
        22001 => "header传参X-CR-SecretId不能为空",
        22002 => "header传参X-CR-Timestamp不能为空",
        22003 => "header传参X-CR-Signature不能为空",
        22004 => "签名过期",
        22005 => "签名无效",
        22006 => "账号不存在",
        22007 => "企业未开放API接口权限",
        22008 => "接口超出频率",
        22009 => "header传参X-CR-Timestamp格式不正确",
        400 => "请求地址或参数错误",
        22201 => "会议不存在",
        22202 => "会议密码错误",
        22203 => "会议未开始",
        22204 => "会议已结束",
        22205 => "仅邀请对象可加入会议",
        22206 => "仅企业内用户可加入会议",
        22207 => "获取小程序token异常",
        22208 => "企业暂无小程序配置",
        22209 => "会议主题不能为空",
        22210 => "会议密码为4-6位数字",
        22211 => "周期会议结束时间不能为空",
        22212 => "会议主题不能超过50个字符",
        22213 => "周期会议结束时间格式错误",
        22214 => "预约开始时间不能为空",
        22215 => "预约开始时间不能小于当前时间",
        22216 => "预约开始时间格式错误",
        22217 => "预约结束时间不能为空",
        22218 => "预约结束时间不能小于开始时间",
        22219 => "预约结束时间格式错误",
        22220 => "非法的周期会议类型",
        22221 => "周期会议结束时间不能小于开始时间",
        22222 => "预约时间不能超过24小时",
        22223 => "主持人不存在",
        22224 => "权限不足",
        22225 => "会议分屏数错误",
        22226 => "虚拟人数应在0-2000之间",
        22227 => "会议已开始或已结束",
        22228 => "邀请人不存在",
        22229 => "邀请人不能为空",
        22230 => "昵称不能为空",
        22231 => "参会者类型错误",
        22232 => "昵称不能大于30个字符",
        22233 => "会议记录为空",
        22234 => "联席主持人个数不能超过四个",
        22235 => "联席主持人不存在",
        22236 => "查询时间间隔不能超过一年",
        21030 => "录像不存在",
        _ => "服务器内部异常",
    }
}

type ApiResult<T> = Result<T, ApiError>;

// ---------------------------------------------------------------------------
// The world
// ---------------------------------------------------------------------------

/// Everything CloudRoom knows. History is kept sorted in list order so a page
/// is a slice; `history_keys` finds a confId's occurrences without a scan;
/// recordings are sorted by (confId, createTime, fileId) so one meeting's
/// recordings are a contiguous, already ordered run.
pub struct World {
    conferences: Vec<Conference>,
    history: Vec<HistoryMeeting>,
    history_keys: BTreeSet<(i64, i64)>,
    recordings: Vec<Recording>,
    recording_conf: HashMap<FileId, i64>,
    users: BTreeMap<String, User>,
    departments: BTreeMap<i64, Department>,
    companies: BTreeMap<String, Company>,
    next_conf_id: i64,
    next_department_id: i64,
    next_user_id: i64,
    /// For ids the simulator invents after start-up, so runs stay repeatable.
    rng: StdRng,
    rate_windows: super::rate::RateWindows,
}

impl fmt::Debug for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("World")
            .field("conferences", &self.conferences.len())
            .field("history", &self.history.len())
            .field("recordings", &self.recordings.len())
            .field("users", &self.users.len())
            .field("departments", &self.departments.len())
            .field("companies", &self.companies.len())
            .finish()
    }
}

/// Department ids the API allocates start here, well clear of the root's 1.
const FIRST_DEPARTMENT_ID: i64 = 1_000;
const FIRST_USER_ID: i64 = 1_000_200_001;

impl World {
    pub fn generate(config: &SimConfig) -> World {
        let generated = data::generate(config);
        let history_keys = generated
            .history
            .iter()
            .map(|m| (m.conf_id, m.start_time))
            .collect();
        let recording_conf = generated
            .recordings
            .iter()
            .map(|r| (r.file_id.clone(), r.conf_id))
            .collect();
        World {
            conferences: generated.conferences,
            history: generated.history,
            history_keys,
            recordings: generated.recordings,
            recording_conf,
            users: BTreeMap::new(),
            departments: BTreeMap::new(),
            companies: BTreeMap::new(),
            next_conf_id: generated.next_conf_id,
            next_department_id: FIRST_DEPARTMENT_ID,
            next_user_id: FIRST_USER_ID,
            rng: StdRng::seed_from_u64(config.seed ^ 0x5EED_C10D_0000_0001),
            rate_windows: super::rate::RateWindows::default(),
        }
    }

    pub fn conferences(&self) -> &[Conference] {
        &self.conferences
    }

    /// In list order: startTime desc, then confId desc.
    pub fn history(&self) -> &[HistoryMeeting] {
        &self.history
    }

    /// Ordered by confId, createTime, fileId.
    pub fn recordings(&self) -> &[Recording] {
        &self.recordings
    }

    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }

    pub fn user(&self, account: &str) -> Option<&User> {
        self.users.get(account)
    }

    pub fn departments(&self) -> impl Iterator<Item = &Department> {
        self.departments.values()
    }

    pub fn companies(&self) -> impl Iterator<Item = &Company> {
        self.companies.values()
    }

    /// "公司 > a > b" for department b under top-level a.
    pub fn full_path(&self, department_id: i64) -> String {
        let mut names = Vec::new();
        let mut current = department_id;
        // The depth bound guards against a cycle, which updates refuse anyway.
        while let Some(dept) = self.departments.get(&current) {
            names.push(dept.name.as_str());
            current = dept.parent_id;
            if names.len() > self.departments.len() {
                break;
            }
        }
        names.push(ROOT_DEPARTMENT_NAME);
        names.reverse();
        names.join(" > ")
    }

    pub fn allocate_conf_id(&mut self) -> i64 {
        self.next_conf_id += 1;
        self.next_conf_id
    }

    pub fn new_file_id(&mut self) -> FileId {
        FileId::Hex(self.rng.random())
    }

    // --- history --------------------------------------------------------

    fn history_position(&self, conf_id: i64, start_time: i64) -> Result<usize, usize> {
        self.history
            .binary_search_by(|m| start_time.cmp(&m.start_time).then(conf_id.cmp(&m.conf_id)))
    }

    pub fn find_history(&self, conf_id: i64, start_time: i64) -> Option<&HistoryMeeting> {
        let at = self.history_position(conf_id, start_time).ok()?;
        self.history.get(at)
    }

    /// The latest occurrence of `conf_id`, if it ever ended.
    pub fn latest_history(&self, conf_id: i64) -> Option<&HistoryMeeting> {
        let &(_, start) = self
            .history_keys
            .range((conf_id, i64::MIN)..=(conf_id, i64::MAX))
            .next_back()?;
        self.find_history(conf_id, start)
    }

    /// Adds an ended meeting; `false` when (confId, startTime) already exists.
    pub fn insert_history(&mut self, meeting: HistoryMeeting) -> bool {
        match self.history_position(meeting.conf_id, meeting.start_time) {
            Ok(_) => false,
            Err(at) => {
                self.history_keys
                    .insert((meeting.conf_id, meeting.start_time));
                self.history.insert(at, meeting);
                true
            }
        }
    }

    pub fn remove_history(&mut self, conf_id: i64, start_time: i64) -> Option<HistoryMeeting> {
        let at = self.history_position(conf_id, start_time).ok()?;
        self.history_keys.remove(&(conf_id, start_time));
        Some(self.history.remove(at))
    }

    // --- conferences ----------------------------------------------------

    fn conference_index(&self, conf_id: i64) -> Option<usize> {
        self.conferences.iter().position(|c| c.conf_id == conf_id)
    }

    pub fn conference(&self, conf_id: i64) -> Option<&Conference> {
        self.conferences.iter().find(|c| c.conf_id == conf_id)
    }

    pub fn conference_mut(&mut self, conf_id: i64) -> Option<&mut Conference> {
        self.conferences.iter_mut().find(|c| c.conf_id == conf_id)
    }

    /// `false` when a listed conference already has this confId.
    pub fn insert_conference(&mut self, conference: Conference) -> bool {
        if self.conference_index(conference.conf_id).is_some() {
            return false;
        }
        self.conferences.push(conference);
        true
    }

    pub fn remove_conference(&mut self, conf_id: i64) -> Option<Conference> {
        let at = self.conference_index(conf_id)?;
        Some(self.conferences.remove(at))
    }

    /// Ends a listed conference: it leaves the conference list and becomes a
    /// history row ending `now` (the API then reports it with status 2).
    /// A meeting that never started is taken to have started at its
    /// schedule, or now if that is still ahead.
    pub fn end_conference(&mut self, conf_id: i64, now: i64) -> ApiResult<HistoryMeeting> {
        let Some(conf) = self.remove_conference(conf_id) else {
            return Err(self.missing_conference(conf_id, 22204));
        };
        let start_time = if conf.status == 1 && conf.start_time > 0 {
            conf.start_time.min(now)
        } else {
            conf.schedule_time.min(now)
        };
        let meeting = HistoryMeeting {
            conf_id,
            subject: Text::from(conf.subject),
            conf_type: conf.conf_type,
            start_time,
            end_time: now,
            host_name: Text::from(conf.host_name),
            members: conf.members,
            period_type: conf.period_type,
            schedule_time: conf.schedule_time,
            schedule_end_time: conf.schedule_end_time,
            conf_code: Text::from(conf.conf_code),
            host_id: conf.host_id,
        };
        // Ending a meeting twice within one second: keep the first row.
        self.insert_history(meeting.clone());
        Ok(meeting)
    }

    /// The error for a confId that is not listed: `ended_code` when it is in
    /// history, else 22201 会议不存在.
    fn missing_conference(&self, conf_id: i64, ended_code: i64) -> ApiError {
        if self.latest_history(conf_id).is_some() {
            ApiError::business(ended_code)
        } else {
            ApiError::business(22201)
        }
    }

    // --- recordings -----------------------------------------------------

    fn recording_range(&self, conf_id: i64) -> std::ops::Range<usize> {
        let start = self.recordings.partition_point(|r| r.conf_id < conf_id);
        let end = self.recordings.partition_point(|r| r.conf_id <= conf_id);
        start..end
    }

    pub fn find_recording(&self, file_id: &FileId) -> Option<&Recording> {
        let conf_id = *self.recording_conf.get(file_id)?;
        let range = self.recording_range(conf_id);
        self.recordings[range]
            .iter()
            .find(|r| &r.file_id == file_id)
    }

    /// `false` when the fileId already exists.
    pub fn insert_recording(&mut self, recording: Recording) -> bool {
        if self.recording_conf.contains_key(&recording.file_id) {
            return false;
        }
        let at = self
            .recordings
            .partition_point(|r| r.sort_key() < recording.sort_key());
        self.recording_conf
            .insert(recording.file_id.clone(), recording.conf_id);
        self.recordings.insert(at, recording);
        true
    }

    pub fn remove_recording(&mut self, file_id: &FileId) -> Option<Recording> {
        let conf_id = self.recording_conf.remove(file_id)?;
        let range = self.recording_range(conf_id);
        let offset = self.recordings[range.clone()]
            .iter()
            .position(|r| &r.file_id == file_id)?;
        Some(self.recordings.remove(range.start + offset))
    }
}

// ---------------------------------------------------------------------------
// Auth, rate limit, faults
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Meetings, recordings, users, departments: enterprise credentials.
    Enterprise,
    /// Company management: "需要使用平台全局的 secretId 和 secretKey".
    Platform,
}

/// Who signed a request.
struct Caller {
    secret_id: String,
    scope: Scope,
}

/// The expected `X-CR-Signature`: sha256(secretId + '&' + Timestamp + '&' + secretKey), lowercase hex.
pub fn signature(secret_id: &str, timestamp: i64, secret_key: &str) -> String {
    hex::encode(Sha256::digest(format!(
        "{secret_id}&{timestamp}&{secret_key}"
    )))
}

/// A header's value, with absent and blank both meaning "不能为空".
fn header_text<'a>(headers: &'a HeaderMap, name: &str, missing: i64) -> ApiResult<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::auth(missing))
}

/// Checks the four headers in the order the error table lists them.
/// `X-CR-RequestId` is required by the document but has no error code, so a
/// missing one is tolerated.
fn authenticate(headers: &HeaderMap, config: &SimConfig, now: i64) -> ApiResult<Caller> {
    let secret_id = header_text(headers, "X-CR-SecretId", 22001)?;
    let timestamp = header_text(headers, "X-CR-Timestamp", 22002)?;
    let signed = header_text(headers, "X-CR-Signature", 22003)?;
    let timestamp: i64 = timestamp.parse().map_err(|_| ApiError::auth(22009))?;
    let (secret_key, scope, enabled) = if secret_id == config.secret_id {
        (config.secret_key.as_str(), Scope::Enterprise, true)
    } else if secret_id == PLATFORM_SECRET_ID {
        (PLATFORM_SECRET_KEY, Scope::Platform, true)
    } else if secret_id == API_DISABLED_SECRET_ID {
        (API_DISABLED_SECRET_KEY, Scope::Enterprise, false)
    } else {
        return Err(ApiError::auth(22006));
    };
    if (now - timestamp).abs() > MAX_CLOCK_DIFFERENCE_SECS {
        return Err(ApiError::auth(22004));
    }
    // The vendor signs with Guava's lowercase hex; other casings are invalid.
    if signed != signature(secret_id, timestamp, secret_key) {
        return Err(ApiError::auth(22005));
    }
    if !enabled {
        return Err(ApiError::auth(22007));
    }
    Ok(Caller {
        secret_id: secret_id.to_string(),
        scope,
    })
}

/// The gate every /v2 request passes, in this order:
/// 1. authentication: the gateway must know whose quota to charge, and
///    strangers never spend anyone's quota;
/// 2. the per-secretId rate limit (and injected 429s): still at the gateway;
/// 3. injected server faults (HTTP 500 code 500): they model the backend
///    behind the gateway, so only admitted requests meet them;
/// 4. the credential's scope (22224), a business rule of the backend.
fn admit(state: &SimState, headers: &HeaderMap, endpoint: &str, scope: Scope) -> ApiResult<()> {
    let caller = authenticate(headers, &state.config, state.now())?;
    {
        let mut faults = state.faults();
        if faults.cloudroom_revoked {
            return Err(ApiError::auth(22006));
        }
        if faults.cloudroom_429_next > 0 {
            faults.cloudroom_429_next -= 1;
            return Err(ApiError::rate_limited());
        }
    }
    lock(&state.cloudroom)
        .rate_windows
        .admit(&state.config.rate, &caller.secret_id, endpoint)
        .map_err(|refused| ApiError::rate_limited().retry_after(refused.retry_after))?;
    if state.should_fail() {
        return Err(ApiError::business(500));
    }
    if caller.scope != scope {
        return Err(ApiError::business(22224));
    }
    Ok(())
}

/// Runs one /v2 request: latency, the gate, then `work` under the world
/// lock; counts the outcome and turns it into the vendor's response.
async fn serve<F>(
    state: &SimState,
    headers: &HeaderMap,
    endpoint: &'static str,
    scope: Scope,
    work: F,
) -> Response
where
    F: FnOnce(&mut World, i64) -> ApiResult<Vec<u8>>,
{
    state.add_latency().await;
    let outcome = admit(state, headers, endpoint, scope).and_then(|()| {
        let now = state.now();
        work(&mut lock(&state.cloudroom), now)
    });
    let (status, code, body, retry_after) = match outcome {
        Ok(body) => (StatusCode::OK, "0".to_string(), body, None),
        Err(e) => (e.status, e.code.to_string(), e.body(), e.retry_after),
    };
    state.count("cloudroom", endpoint, status.as_u16(), &code);
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body,
    )
        .into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
    }
    response
}

fn reply<T: Serialize>(value: &T) -> ApiResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(|_| ApiError::business(500))
}

fn empty_reply() -> ApiResult<Vec<u8>> {
    Ok(b"{}".to_vec())
}

// ---------------------------------------------------------------------------
// Request parsing
// ---------------------------------------------------------------------------

type Object = Map<String, Value>;

fn parse_object(body: &[u8]) -> ApiResult<Object> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(ApiError::bad_request()),
    }
}

/// A present, non-null field.
fn field<'a>(object: &'a Object, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|v| !v.is_null())
}

fn opt_str<'a>(object: &'a Object, key: &str) -> ApiResult<Option<&'a str>> {
    match field(object, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad_request()),
    }
}

fn opt_int(object: &Object, key: &str) -> ApiResult<Option<i64>> {
    match field(object, key) {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(ApiError::bad_request),
    }
}

/// An integer that the document gives a format-error code for.
fn opt_int_or(object: &Object, key: &str, format_code: i64) -> ApiResult<Option<i64>> {
    match field(object, key) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| ApiError::business(format_code)),
    }
}

fn opt_int_list(object: &Object, key: &str) -> ApiResult<Option<Vec<i64>>> {
    match field(object, key) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_i64().ok_or_else(ApiError::bad_request))
            .collect::<ApiResult<Vec<_>>>()
            .map(Some),
        Some(_) => Err(ApiError::bad_request()),
    }
}

fn opt_str_list(object: &Object, key: &str) -> ApiResult<Option<Vec<String>>> {
    match field(object, key) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(ApiError::bad_request)
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Some),
        Some(_) => Err(ApiError::bad_request()),
    }
}

fn opt_object<'a>(object: &'a Object, key: &str) -> ApiResult<Option<&'a Object>> {
    match field(object, key) {
        None => Ok(None),
        Some(Value::Object(inner)) => Ok(Some(inner)),
        Some(_) => Err(ApiError::bad_request()),
    }
}

/// A 0/1 switch.
fn opt_flag(object: &Object, key: &str) -> ApiResult<Option<i32>> {
    match opt_int(object, key)? {
        None => Ok(None),
        Some(v @ (0 | 1)) => Ok(Some(v as i32)),
        Some(_) => Err(ApiError::bad_request()),
    }
}

fn parse_id(text: &str) -> ApiResult<i64> {
    text.parse().map_err(|_| ApiError::bad_request())
}

/// The query string's parameters; the first of a repeated name wins and an
/// empty value counts as absent (as a Spring controller reads them).
fn query_params(raw: Option<&str>) -> HashMap<String, String> {
    let mut params = HashMap::new();
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if !value.is_empty() {
            params.entry(key.into_owned()).or_insert(value.into_owned());
        }
    }
    params
}

fn query_int(params: &HashMap<String, String>, key: &str) -> ApiResult<Option<i64>> {
    params.get(key).map(|v| parse_id(v)).transpose()
}

/// Paging parameters outside their range fall back to the defaults ("超出范围
/// 使用默认值"); so does a number too large for a long. Non-numbers are 400.
fn query_paging_int(params: &HashMap<String, String>, key: &str) -> ApiResult<Option<i64>> {
    let Some(text) = params.get(key) else {
        return Ok(None);
    };
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request());
    }
    Ok(text.parse().ok())
}

/// The parameters of the three list endpoints.
#[derive(Debug, Clone, Copy, Default)]
struct ListQuery {
    current: Option<i64>,
    size: Option<i64>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    search_user_id: Option<i64>,
}

impl ListQuery {
    fn parse(raw: Option<&str>, with_filters: bool) -> ApiResult<Self> {
        let params = query_params(raw);
        let mut query = ListQuery {
            current: query_paging_int(&params, "current")?,
            size: query_paging_int(&params, "size")?,
            ..ListQuery::default()
        };
        if with_filters {
            query.start_time = query_int(&params, "startTime")?;
            query.end_time = query_int(&params, "endTime")?;
            query.search_user_id = query_int(&params, "searchUserId")?;
            if let (Some(start), Some(end)) = (query.start_time, query.end_time) {
                if end.saturating_sub(start) > MAX_QUERY_WINDOW_SECS {
                    return Err(ApiError::business(22236));
                }
            }
        }
        Ok(query)
    }

    /// Both bounds inclusive; a missing bound is open.
    fn in_window(&self, t: i64) -> bool {
        self.start_time.is_none_or(|s| t >= s) && self.end_time.is_none_or(|e| t <= e)
    }
}

/// Which slice of `total` records a list answers.
#[derive(Debug, PartialEq, Eq)]
struct Page {
    start: usize,
    end: usize,
    remaining: u8,
}

/// The document's paging: size outside 1..=100 is 20; current below 1 or
/// past the last page is page 1 (so a client walking pages must stop on
/// `remaining`, or it loops over page 1 for ever).
fn paginate(total: usize, current: Option<i64>, size: Option<i64>) -> Page {
    let size = match size {
        Some(s) if (1..=MAX_PAGE_SIZE).contains(&s) => s as usize,
        _ => DEFAULT_PAGE_SIZE,
    };
    let page_start = |c: i64| (c as usize - 1).checked_mul(size);
    let start = match current {
        Some(c) if c >= 1 && page_start(c).is_some_and(|s| s < total) => page_start(c).unwrap_or(0),
        _ => 0,
    };
    let end = (start + size).min(total);
    Page {
        start,
        end,
        remaining: u8::from(end < total),
    }
}

#[derive(Serialize)]
struct ListReply<T> {
    total: usize,
    remaining: u8,
    records: Vec<T>,
}

/// One page of `records` (already filtered and ordered).
fn page_of<T>(
    records: impl Iterator<Item = T> + Clone,
    total: usize,
    query: &ListQuery,
) -> ListReply<T> {
    let page = paginate(total, query.current, query.size);
    ListReply {
        total,
        remaining: page.remaining,
        records: records
            .skip(page.start)
            .take(page.end - page.start)
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// Conferences
// ---------------------------------------------------------------------------

/// A row of `/conference/list`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConferenceRecord<'a> {
    conf_id: i64,
    subject: &'a str,
    conf_type: u8,
    schedule_time: i64,
    schedule_end_time: i64,
    start_time: i64,
    end_time: i64,
    host_name: &'a str,
    members: u32,
    conf_code: &'a str,
    period_type: u8,
    status: u8,
    password: &'a str,
    owner_id: i64,
}

impl<'a> From<&'a Conference> for ConferenceRecord<'a> {
    fn from(c: &'a Conference) -> Self {
        ConferenceRecord {
            conf_id: c.conf_id,
            subject: &c.subject,
            conf_type: c.conf_type,
            schedule_time: c.schedule_time,
            schedule_end_time: c.schedule_end_time,
            start_time: c.start_time,
            end_time: c.end_time,
            host_name: &c.host_name,
            members: c.members,
            conf_code: &c.conf_code,
            period_type: c.period_type,
            status: c.status,
            password: &c.password,
            owner_id: c.owner_id,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PersonInfo {
    invite_id: i64,
    invitee_name: String,
    /// 0 普通用户: the simulator has no terminal or SIP users.
    invitee_type: u8,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderConfigView {
    schedule_time: String,
    schedule_end_time: String,
    period_type: u8,
    period_end_time: String,
}

/// `confDetail`: every field of the document's table.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfDetail {
    conf_id: i64,
    subject: String,
    url: String,
    public_url: String,
    password: String,
    host_id: i64,
    host_name: String,
    invitee_infos: Vec<PersonInfo>,
    /// The document names the type `AssistantInfos` without fields; the
    /// simulator shows assistants in the `InviteeInfo` shape.
    assistant_infos: Vec<PersonInfo>,
    status: u8,
    pstn_num: String,
    pstn_pwd: String,
    email_notice: u8,
    sms_notice: u8,
    order_config: OrderConfigView,
    attributes: Attributes,
    permission: Permission,
}

/// The get reply; a struct rather than `json!` keeps the fields in the document's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DetailReply {
    conf_detail: ConfDetail,
}

/// "yyyy-MM-dd HH:mm:ss" in Asia/Shanghai, as the detail example shows;
/// 0 (no time) and -1 (no period end) show as "".
pub fn shanghai_time(epoch: i64) -> String {
    if epoch <= 0 {
        return String::new();
    }
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| {
            t.with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

/// The parsed `orderConfig` of a create or update.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    conf_type: u8,
    schedule_time: i64,
    schedule_end_time: i64,
    period_type: u8,
    period_end_time: i64,
}

/// Validates `orderConfig` with the document's codes. An `orderConfig`
/// with neither time (as in the document's own create example,
/// `{"periodType": 0}`) keeps `base`'s times (update) or makes an instant
/// meeting starting now (create); otherwise both times are required.
fn parse_schedule(order: &Object, base: Option<Schedule>, now: i64) -> ApiResult<Schedule> {
    let start = opt_int_or(order, "scheduleTime", 22216)?;
    let end = opt_int_or(order, "scheduleEndTime", 22219)?;
    let period_type = opt_int_or(order, "periodType", 22220)?.unwrap_or(0);
    let (conf_type, schedule_time, schedule_end_time) = match (start, end, base) {
        (None, None, Some(base)) => (base.conf_type, base.schedule_time, base.schedule_end_time),
        (None, None, None) if period_type == 0 => (0, now, 0),
        (None, _, _) => return Err(ApiError::business(22214)),
        (Some(_), None, _) => return Err(ApiError::business(22217)),
        (Some(start), Some(end), _) => {
            if start < now {
                return Err(ApiError::business(22215));
            }
            if end < start {
                return Err(ApiError::business(22218));
            }
            if end - start > MAX_SCHEDULE_SECS {
                return Err(ApiError::business(22222));
            }
            (1, start, end)
        }
    };
    let period_type = u8::try_from(period_type)
        .ok()
        .filter(|p| *p <= 5)
        .ok_or_else(|| ApiError::business(22220))?;
    let period_end_time = if period_type == 0 {
        0
    } else {
        let end =
            opt_int_or(order, "periodEndTime", 22213)?.ok_or_else(|| ApiError::business(22211))?;
        if end != -1 && end < schedule_time {
            return Err(ApiError::business(22221));
        }
        end
    };
    Ok(Schedule {
        conf_type,
        schedule_time,
        schedule_end_time,
        period_type,
        period_end_time,
    })
}

fn validate_subject(subject: Option<&str>) -> ApiResult<String> {
    let subject = subject
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::business(22209))?;
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(ApiError::business(22212));
    }
    Ok(subject.to_string())
}

fn validate_password(password: &str) -> ApiResult<String> {
    let digits = password.bytes().all(|b| b.is_ascii_digit());
    if !(4..=6).contains(&password.len()) || !digits {
        return Err(ApiError::business(22210));
    }
    Ok(password.to_string())
}

/// A camera or microphone request value as (autoOpen*, *UseLocal).
fn device_setting(value: i64) -> ApiResult<(i32, i32)> {
    match value {
        -1 => Ok((0, 1)),
        0 | 1 => Ok((value as i32, 0)),
        _ => Err(ApiError::bad_request()),
    }
}

/// Applies an `attributes` request object. `vwallo` is the request table's
/// spelling; `vwalldo` (the detail's) is accepted too.
fn apply_attributes(attributes: &mut Attributes, request: &Object) -> ApiResult<()> {
    if let Some(v) = opt_int(request, "autoOpenCamera")? {
        (attributes.auto_open_camera, attributes.camera_use_local) = device_setting(v)?;
    }
    if let Some(v) = opt_int(request, "autoOpenMicrophone")? {
        (attributes.auto_open_microphone, attributes.mic_use_local) = device_setting(v)?;
    }
    if let Some(v) = opt_flag(request, "canJoinAdv")? {
        attributes.can_join_adv = v;
    }
    if let Some(v) = opt_flag(request, "loginIvr")? {
        attributes.login_ivr = v;
    }
    if let Some(v) = opt_flag(request, "waterMark")? {
        attributes.water_mark = v;
    }
    if let Some(v) = opt_flag(request, "waitHall")? {
        attributes.wait_hall = v;
    }
    if let Some(v) = opt_int(request, "virtualMembers")? {
        if !(0..=2000).contains(&v) {
            return Err(ApiError::business(22226));
        }
        attributes.virtual_members = v as i32;
    }
    let layout = match opt_int(request, "vwallo")? {
        Some(v) => Some(v),
        None => opt_int(request, "vwalldo")?,
    };
    if let Some(v) = layout {
        // 2000 tiles, 0 face-to-face, otherwise a split-screen count; the
        // client offers splits up to 25.
        if !(v == 2000 || (0..=25).contains(&v)) {
            return Err(ApiError::business(22225));
        }
        attributes.vwalldo = v as i32;
    }
    match opt_int(request, "allowJoin")? {
        None => {}
        Some(0) => (attributes.only_comp, attributes.only_invitee) = (0, 0),
        Some(1) => (attributes.only_comp, attributes.only_invitee) = (1, 0),
        Some(2) => (attributes.only_comp, attributes.only_invitee) = (0, 1),
        Some(_) => return Err(ApiError::bad_request()),
    }
    Ok(())
}

/// Applies a `permission` request object (the request table's keys).
fn apply_permission(permission: &mut Permission, request: &Object) -> ApiResult<()> {
    let direct: [(&str, &mut i32); 9] = [
        ("saveWB", &mut permission.save_wb),
        ("publicIM", &mut permission.public_im),
        ("privateIM", &mut permission.private_im),
        ("recordConf", &mut permission.record_conf),
        ("openMicrophone", &mut permission.open_microphone),
        ("openCamera", &mut permission.open_camera),
        ("allowShare", &mut permission.allow_share),
        ("allowModifyName", &mut permission.allow_modify_name),
        ("pstnCall", &mut permission.pstn_call),
    ];
    for (key, slot) in direct {
        if let Some(v) = opt_flag(request, key)? {
            *slot = v;
        }
    }
    if let Some(v) = opt_flag(request, "allowPicture")? {
        permission.im_forbid_pic = 1 - v;
    }
    if let Some(v) = opt_flag(request, "allowUrl")? {
        permission.im_forbid_url = 1 - v;
    }
    Ok(())
}

/// The create and update bodies share every rule; they differ in which
/// fields are required and in the invitee key (`inviteIds` on create,
/// `inviteeIds` on update, exactly as the two tables spell it).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ConferenceWrite {
    Create,
    Update,
}

impl World {
    /// A user's name by user id, counting the enterprise creator.
    fn person_name(&self, user_id: i64) -> Option<&str> {
        if user_id == CREATOR_USER_ID {
            return Some(CREATOR_NAME);
        }
        self.users
            .values()
            .find(|u| u.user_id == user_id)
            .map(|u| u.name.as_str())
    }

    /// 22223 for an unknown host; 22224 when the host is an ordinary user
    /// (roleType 3), who may join but not arrange meetings.
    fn check_host(&self, host_id: i64) -> ApiResult<String> {
        if host_id == CREATOR_USER_ID {
            return Ok(CREATOR_NAME.to_string());
        }
        let user = self
            .users
            .values()
            .find(|u| u.user_id == host_id)
            .ok_or_else(|| ApiError::business(22223))?;
        if user.role_type == ROLE_ORDINARY {
            return Err(ApiError::business(22224));
        }
        Ok(user.name.clone())
    }

    fn check_people(&self, ids: &[i64], unknown_code: i64) -> ApiResult<()> {
        match ids.iter().find(|id| self.person_name(**id).is_none()) {
            Some(_) => Err(ApiError::business(unknown_code)),
            None => Ok(()),
        }
    }

    /// Validates `request` and writes it into `conf`, in the error table's order.
    fn write_conference(
        &self,
        conf: &mut Conference,
        request: &Object,
        mode: ConferenceWrite,
        now: i64,
    ) -> ApiResult<()> {
        let subject = opt_str(request, "subject")?;
        if mode == ConferenceWrite::Create || subject.is_some() {
            conf.subject = validate_subject(subject)?;
        }
        if let Some(password) = opt_str(request, "password")? {
            conf.password = validate_password(password)?;
        }
        if let Some(order) = opt_object(request, "orderConfig")? {
            let base = (mode == ConferenceWrite::Update).then_some(Schedule {
                conf_type: conf.conf_type,
                schedule_time: conf.schedule_time,
                schedule_end_time: conf.schedule_end_time,
                period_type: conf.period_type,
                period_end_time: conf.period_end_time,
            });
            let schedule = parse_schedule(order, base, now)?;
            conf.conf_type = schedule.conf_type;
            conf.schedule_time = schedule.schedule_time;
            conf.schedule_end_time = schedule.schedule_end_time;
            conf.period_type = schedule.period_type;
            conf.period_end_time = schedule.period_end_time;
        }
        if let Some(host_id) = opt_int(request, "hostId")? {
            conf.host_name = self.check_host(host_id)?;
            conf.host_id = host_id;
        }
        if let Some(attributes) = opt_object(request, "attributes")? {
            apply_attributes(&mut conf.attributes, attributes)?;
        }
        if let Some(permission) = opt_object(request, "permission")? {
            apply_permission(&mut conf.permission, permission)?;
        }
        let invitee_key = match mode {
            ConferenceWrite::Create => "inviteIds",
            ConferenceWrite::Update => "inviteeIds",
        };
        if let Some(invitees) = opt_int_list(request, invitee_key)? {
            self.check_people(&invitees, 22228)?;
            conf.invitee_ids = invitees;
        }
        if let Some(assistants) = opt_int_list(request, "assistantInfos")? {
            if assistants.len() > MAX_ASSISTANTS {
                return Err(ApiError::business(22234));
            }
            self.check_people(&assistants, 22235)?;
            conf.assistant_ids = assistants;
        }
        for (key, slot) in [
            ("emailNotice", &mut conf.email_notice),
            ("smsNotice", &mut conf.sms_notice),
        ] {
            if let Some(v) = opt_flag(request, key)? {
                *slot = v as u8;
            }
        }
        // The document's create table spells it `votelds`.
        if let Some(votes) = opt_str_list(request, "votelds")? {
            conf.vote_ids = votes;
        }
        Ok(())
    }

    fn create_conference(&mut self, request: &Object, now: i64) -> ApiResult<i64> {
        let conf_id = self.next_conf_id + 1;
        let mut conf = Conference::blank(conf_id, String::new(), now);
        self.write_conference(&mut conf, request, ConferenceWrite::Create, now)?;
        // Only a valid request uses up an id.
        self.next_conf_id = conf_id;
        self.conferences.push(conf);
        Ok(conf_id)
    }

    fn update_conference(&mut self, conf_id: i64, request: &Object, now: i64) -> ApiResult<()> {
        let Some(index) = self.conference_index(conf_id) else {
            return Err(self.missing_conference(conf_id, 22227));
        };
        let mut conf = self.conferences[index].clone();
        if conf.status != 0 {
            return Err(ApiError::business(22227));
        }
        self.write_conference(&mut conf, request, ConferenceWrite::Update, now)?;
        self.conferences[index] = conf;
        Ok(())
    }

    fn people(&self, ids: &[i64]) -> Vec<PersonInfo> {
        ids.iter()
            .map(|&id| PersonInfo {
                invite_id: id,
                invitee_name: self.person_name(id).unwrap_or_default().to_string(),
                invitee_type: 0,
            })
            .collect()
    }

    fn conference_detail(&self, conf_id: i64) -> ApiResult<ConfDetail> {
        if let Some(conf) = self.conference(conf_id) {
            return Ok(ConfDetail {
                conf_id,
                subject: conf.subject.clone(),
                url: format!("http://www.cloudroom.com/{}", conf.conf_code),
                public_url: format!("http://www.cloudroom.com/p{}", conf.conf_code),
                password: conf.password.clone(),
                host_id: conf.host_id,
                host_name: conf.host_name.clone(),
                invitee_infos: self.people(&conf.invitee_ids),
                assistant_infos: self.people(&conf.assistant_ids),
                status: conf.status,
                pstn_num: pstn_number(conf_id),
                pstn_pwd: pstn_password(conf_id, &conf.password),
                email_notice: conf.email_notice,
                sms_notice: conf.sms_notice,
                order_config: OrderConfigView {
                    schedule_time: shanghai_time(conf.schedule_time),
                    schedule_end_time: shanghai_time(conf.schedule_end_time),
                    period_type: conf.period_type,
                    period_end_time: shanghai_time(conf.period_end_time),
                },
                attributes: conf.attributes.clone(),
                permission: conf.permission.clone(),
            });
        }
        let ended = self
            .latest_history(conf_id)
            .ok_or_else(|| ApiError::business(22201))?;
        Ok(ConfDetail {
            conf_id,
            subject: ended.subject.to_string(),
            url: format!("http://www.cloudroom.com/{}", ended.conf_code),
            public_url: format!("http://www.cloudroom.com/p{}", ended.conf_code),
            password: String::new(),
            host_id: ended.host_id,
            host_name: ended.host_name.to_string(),
            invitee_infos: Vec::new(),
            assistant_infos: Vec::new(),
            status: 2,
            pstn_num: pstn_number(conf_id),
            pstn_pwd: pstn_password(conf_id, ""),
            email_notice: 0,
            sms_notice: 0,
            order_config: OrderConfigView {
                schedule_time: shanghai_time(ended.schedule_time),
                schedule_end_time: shanghai_time(ended.schedule_end_time),
                period_type: ended.period_type,
                period_end_time: String::new(),
            },
            attributes: Attributes::default(),
            permission: Permission::default(),
        })
    }

    /// Checks in this order: nickname (22230, 22232), userType (22231),
    /// existence (22201, 22204 once ended), password (22202), who may join
    /// (22205 only invitees, 22206 only company users, matched by nickname
    /// since joining carries no user id), then 22203 when the meeting has
    /// not started and does not allow joining before the host.
    fn join(&self, conf_id: i64, params: &HashMap<String, String>) -> ApiResult<String> {
        let nick = params
            .get("nickName")
            .map(|n| n.trim())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ApiError::business(22230))?;
        if nick.chars().count() > MAX_NICKNAME_CHARS {
            return Err(ApiError::business(22232));
        }
        let user_type = match params.get("userType") {
            None => 4,
            Some(t) => match t.parse::<u8>() {
                Ok(t @ (1 | 4)) => t,
                _ => return Err(ApiError::business(22231)),
            },
        };
        let conf = self
            .conference(conf_id)
            .ok_or_else(|| self.missing_conference(conf_id, 22204))?;
        let given = params.get("password").map(String::as_str).unwrap_or("");
        if !conf.password.is_empty() && given != conf.password {
            return Err(ApiError::business(22202));
        }
        if conf.attributes.only_invitee == 1 {
            let invited = conf
                .invitee_ids
                .iter()
                .any(|id| self.person_name(*id) == Some(nick));
            if !invited {
                return Err(ApiError::business(22205));
            }
        }
        if conf.attributes.only_comp == 1 {
            let member = nick == CREATOR_NAME || self.users.values().any(|u| u.name == nick);
            if !member {
                return Err(ApiError::business(22206));
            }
        }
        if conf.status == 0 && conf.attributes.can_join_adv == 0 && user_type != 1 {
            return Err(ApiError::business(22203));
        }
        Ok(crmt(conf_id, nick, user_type))
    }

    fn conference_list(&self, query: &ListQuery) -> ListReply<ConferenceRecord<'_>> {
        let mut matching: Vec<&Conference> = self
            .conferences
            .iter()
            .filter(|c| query.in_window(c.schedule_time))
            .filter(|c| {
                query
                    .search_user_id
                    .is_none_or(|u| c.owner_id == u || c.host_id == u || c.invitee_ids.contains(&u))
            })
            .collect();
        matching.sort_unstable_by(|a, b| {
            b.schedule_time
                .cmp(&a.schedule_time)
                .then(b.conf_id.cmp(&a.conf_id))
        });
        let total = matching.len();
        page_of(
            matching.into_iter().map(ConferenceRecord::from),
            total,
            query,
        )
    }

    /// Rows with startTime inside the query window (both ends inclusive),
    /// found by binary search since history is kept in startTime order.
    fn history_window(&self, query: &ListQuery) -> &[HistoryMeeting] {
        let first = self
            .history
            .partition_point(|m| query.end_time.is_some_and(|e| m.start_time > e));
        let last = self
            .history
            .partition_point(|m| query.start_time.is_none_or(|s| m.start_time >= s));
        self.history.get(first..last).unwrap_or_default()
    }

    fn history_list(&self, query: &ListQuery) -> ListReply<&HistoryMeeting> {
        let window = self.history_window(query);
        match query.search_user_id {
            None => page_of(window.iter(), window.len(), query),
            Some(user) => {
                let hosted = window.iter().filter(move |m| m.host_id == user);
                page_of(hosted.clone(), hosted.count(), query)
            }
        }
    }

    /// Recordings of every meeting with this confId (all occurrences of a
    /// periodic one). 22201 when the confId is neither listed, nor in
    /// history, nor has recordings.
    fn video_list(&self, conf_id: i64, query: &ListQuery) -> ApiResult<ListReply<&Recording>> {
        let range = self.recording_range(conf_id);
        let known = !range.is_empty()
            || self.latest_history(conf_id).is_some()
            || self.conference(conf_id).is_some();
        if !known {
            return Err(ApiError::business(22201));
        }
        let recordings = &self.recordings[range];
        Ok(page_of(recordings.iter(), recordings.len(), query))
    }
}

fn pstn_number(conf_id: i64) -> String {
    format!("00862160{:07}", conf_id.rem_euclid(10_000_000))
}

fn pstn_password(conf_id: i64, password: &str) -> String {
    if password.is_empty() {
        format!("{:06}", conf_id.rem_euclid(1_000_000))
    } else {
        password.to_string()
    }
}

/// A CRMT string like the document's: "CRMT:" and base64 of the join ticket.
fn crmt(conf_id: i64, nick: &str, user_type: u8) -> String {
    let token = hex::encode(Sha256::digest(format!("{conf_id}&{nick}&{user_type}")));
    let ticket = format!(
        "-MEETTYPE=B\n-MGRACNT={conf_id};{}\n-MGRNAME={nick}\n-USERTYPE={user_type}\n",
        &token[..32]
    );
    format!(
        "CRMT:{}",
        base64::engine::general_purpose::STANDARD.encode(ticket)
    )
}

// ---------------------------------------------------------------------------
// Users, departments, companies
// ---------------------------------------------------------------------------

/// The user as the create response shows it: no password, no user id.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserReply<'a> {
    account: &'a str,
    name: &'a str,
    mobile: Option<&'a str>,
    department_id: i64,
    role_type: u8,
    email: Option<&'a str>,
}

impl<'a> From<&'a User> for UserReply<'a> {
    fn from(u: &'a User) -> Self {
        UserReply {
            account: &u.account,
            name: &u.name,
            mobile: u.mobile.as_deref(),
            department_id: u.department_id,
            role_type: u.role_type,
            email: u.email.as_deref(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentView {
    pub department_id: i64,
    pub name: String,
    pub parent_id: i64,
    pub full_path: String,
}

// Users, departments and companies: where the document gives no code (an
// account that already exists, an unknown account or department, a
// department with children, a missing required field) the simulator answers
// HTTP 500 with code 400 and a Chinese message naming the problem.

fn required_text<'a>(request: &'a Object, key: &str, missing: &'static str) -> ApiResult<&'a str> {
    opt_str(request, key)?
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::invalid(missing))
}

fn role_type(request: &Object) -> ApiResult<u8> {
    match opt_int(request, "roleType")? {
        None => Ok(ROLE_DEFAULT),
        Some(role @ 1..=5) => Ok(role as u8),
        Some(_) => Err(ApiError::invalid("角色类型错误")),
    }
}

impl World {
    fn department_exists(&self, id: i64) -> bool {
        id == ROOT_DEPARTMENT_ID || self.departments.contains_key(&id)
    }

    /// The departmentId of a user write: omitted means the root ("若部门未
    /// 填写，账号将默认被分配至公司根目录下"), on update as on create.
    fn user_department(&self, request: &Object) -> ApiResult<i64> {
        let id = opt_int(request, "departmentId")?.unwrap_or(ROOT_DEPARTMENT_ID);
        if !self.department_exists(id) {
            return Err(ApiError::invalid("部门不存在"));
        }
        Ok(id)
    }

    fn create_user(&mut self, request: &Object) -> ApiResult<&User> {
        let account = required_text(request, "account", "账号不能为空")?.to_string();
        let password = required_text(request, "password", "密码不能为空")?;
        let name = required_text(request, "name", "昵称不能为空")?.to_string();
        if self.users.contains_key(&account) {
            return Err(ApiError::invalid("账号已存在"));
        }
        let user = User {
            user_id: self.next_user_id,
            account: account.clone(),
            password: SecretString::from(password),
            name,
            mobile: opt_str(request, "mobile")?.map(str::to_string),
            department_id: self.user_department(request)?,
            role_type: role_type(request)?,
            email: opt_str(request, "email")?.map(str::to_string),
        };
        self.next_user_id += 1;
        Ok(self.users.entry(account).or_insert(user))
    }

    /// The document's PUT: an omitted departmentId moves the user to the
    /// root, an omitted roleType resets it to 2, omitted mobile and email
    /// are cleared; only the password and name keep their values (they
    /// cannot be blank). Clients must therefore send the whole record.
    fn update_user(&mut self, account: &str, request: &Object) -> ApiResult<()> {
        if !self.users.contains_key(account) {
            return Err(ApiError::invalid("账号不存在"));
        }
        let department_id = self.user_department(request)?;
        let role_type = role_type(request)?;
        let name = opt_str(request, "name")?.map(str::trim);
        if name.is_some_and(str::is_empty) {
            return Err(ApiError::invalid("昵称不能为空"));
        }
        let password = opt_str(request, "password")?;
        let mobile = opt_str(request, "mobile")?.map(str::to_string);
        let email = opt_str(request, "email")?.map(str::to_string);
        let user = self
            .users
            .get_mut(account)
            .ok_or_else(|| ApiError::invalid("账号不存在"))?;
        if let Some(name) = name {
            user.name = name.to_string();
        }
        if let Some(password) = password.filter(|p| !p.is_empty()) {
            user.password = SecretString::from(password);
        }
        user.department_id = department_id;
        user.role_type = role_type;
        user.mobile = mobile;
        user.email = email;
        Ok(())
    }

    pub fn department_view(&self, id: i64) -> Option<DepartmentView> {
        let dept = self.departments.get(&id)?;
        Some(DepartmentView {
            department_id: id,
            name: dept.name.clone(),
            parent_id: dept.parent_id,
            full_path: self.full_path(id),
        })
    }

    /// The name and parentId both endpoints require.
    fn department_fields(&self, request: &Object) -> ApiResult<(String, i64)> {
        let name = required_text(request, "name", "部门名称不能为空")?.to_string();
        let parent_id =
            opt_int(request, "parentId")?.ok_or_else(|| ApiError::invalid("上级部门id不能为空"))?;
        if !self.department_exists(parent_id) {
            return Err(ApiError::invalid("上级部门不存在"));
        }
        Ok((name, parent_id))
    }

    fn create_department(&mut self, request: &Object) -> ApiResult<DepartmentView> {
        let (name, parent_id) = self.department_fields(request)?;
        let id = self.next_department_id;
        self.next_department_id += 1;
        self.departments.insert(
            id,
            Department {
                department_id: id,
                name,
                parent_id,
            },
        );
        self.department_view(id)
            .ok_or_else(|| ApiError::business(500))
    }

    /// Whether `ancestor` is `id` or above it.
    fn is_ancestor_or_self(&self, ancestor: i64, mut id: i64) -> bool {
        for _ in 0..=self.departments.len() {
            if id == ancestor {
                return true;
            }
            match self.departments.get(&id) {
                Some(dept) => id = dept.parent_id,
                None => return false,
            }
        }
        false
    }

    fn update_department(&mut self, id: i64, request: &Object) -> ApiResult<DepartmentView> {
        if !self.departments.contains_key(&id) {
            return Err(ApiError::invalid("部门不存在"));
        }
        let (name, parent_id) = self.department_fields(request)?;
        if self.is_ancestor_or_self(id, parent_id) {
            return Err(ApiError::invalid("上级部门不能是本部门或其下级部门"));
        }
        if let Some(dept) = self.departments.get_mut(&id) {
            dept.name = name;
            dept.parent_id = parent_id;
        }
        self.department_view(id)
            .ok_or_else(|| ApiError::business(500))
    }

    /// "删除部门，部门下的成员，会移动到根目录后，角色修改成普通用户".
    fn delete_department(&mut self, id: i64) -> ApiResult<()> {
        if !self.departments.contains_key(&id) {
            return Err(ApiError::invalid("部门不存在"));
        }
        if self.departments.values().any(|d| d.parent_id == id) {
            return Err(ApiError::invalid("部门下存在子部门，不能删除"));
        }
        self.departments.remove(&id);
        for user in self.users.values_mut().filter(|u| u.department_id == id) {
            user.department_id = ROOT_DEPARTMENT_ID;
            user.role_type = ROLE_ORDINARY;
        }
        Ok(())
    }

    fn create_company(&mut self, request: &Object) -> ApiResult<&Company> {
        let guid = required_text(request, "compGUID", "企业唯一标识不能为空")?.to_string();
        let company = Company {
            comp_guid: guid.clone(),
            comp_name: required_text(request, "compName", "企业名称不能为空")?.to_string(),
            admin: required_text(request, "admin", "管理员账号不能为空")?.to_string(),
            admin_name: required_text(request, "adminName", "管理员昵称不能为空")?.to_string(),
            admin_pwd: SecretString::from(required_text(
                request,
                "adminPwd",
                "管理员密码不能为空",
            )?),
        };
        if self.companies.contains_key(&guid) {
            return Err(ApiError::invalid("企业已存在"));
        }
        Ok(self.companies.entry(guid).or_insert(company))
    }
}

// ---------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/conference", post(create_conference))
        .route("/conference/list", get(list_conferences))
        .route("/conference/history/list", get(list_history))
        .route(
            "/conference/{conf_id}",
            get(get_conference)
                .put(update_conference)
                .delete(delete_conference),
        )
        .route("/conference/{conf_id}/join", get(join_conference))
        .route("/conference/{conf_id}/end", post(end_conference))
        .route("/video/{id}", get(list_videos).delete(delete_video))
        .route("/company", post(create_company))
        .route(
            "/company/{guid}",
            put(update_company).delete(delete_company),
        )
        .route("/user", post(create_user))
        .route("/user/{account}", put(update_user).delete(delete_user))
        .route("/department", post(create_department))
        .route(
            "/department/{id}",
            put(update_department).delete(delete_department),
        )
        .fallback(unknown_route)
}

type AppState = State<Arc<SimState>>;

async fn unknown_route() -> Response {
    let error = ApiError::bad_request();
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        error.body(),
    )
        .into_response()
}

async fn create_conference(State(state): AppState, headers: HeaderMap, body: Bytes) -> Response {
    serve(
        &state,
        &headers,
        "conference.create",
        Scope::Enterprise,
        |world, now| {
            let request = parse_object(&body)?;
            let conf_id = world.create_conference(&request, now)?;
            reply(&serde_json::json!({ "confId": conf_id }))
        },
    )
    .await
}

async fn update_conference(
    State(state): AppState,
    Path(conf_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(
        &state,
        &headers,
        "conference.update",
        Scope::Enterprise,
        |world, now| {
            let conf_id = parse_id(&conf_id)?;
            let request = parse_object(&body)?;
            world.update_conference(conf_id, &request, now)?;
            empty_reply()
        },
    )
    .await
}

async fn get_conference(
    State(state): AppState,
    Path(conf_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(
        &state,
        &headers,
        "conference.get",
        Scope::Enterprise,
        |world, _| {
            let conf_detail = world.conference_detail(parse_id(&conf_id)?)?;
            reply(&DetailReply { conf_detail })
        },
    )
    .await
}

async fn join_conference(
    State(state): AppState,
    Path(conf_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    serve(
        &state,
        &headers,
        "conference.join",
        Scope::Enterprise,
        |world, _| {
            let conf_id = parse_id(&conf_id)?;
            let crmt = world.join(conf_id, &query_params(query.as_deref()))?;
            reply(&serde_json::json!({ "crmt": crmt }))
        },
    )
    .await
}

async fn end_conference(
    State(state): AppState,
    Path(conf_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(
        &state,
        &headers,
        "conference.end",
        Scope::Enterprise,
        |world, now| {
            world.end_conference(parse_id(&conf_id)?, now)?;
            empty_reply()
        },
    )
    .await
}

async fn delete_conference(
    State(state): AppState,
    Path(conf_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(
        &state,
        &headers,
        "conference.delete",
        Scope::Enterprise,
        |world, _| {
            let conf_id = parse_id(&conf_id)?;
            // An ended meeting is history, not something to delete: 22204.
            world
                .remove_conference(conf_id)
                .ok_or_else(|| world.missing_conference(conf_id, 22204))?;
            empty_reply()
        },
    )
    .await
}

async fn list_conferences(
    State(state): AppState,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    serve(
        &state,
        &headers,
        "conference.list",
        Scope::Enterprise,
        |world, _| {
            let query = ListQuery::parse(query.as_deref(), true)?;
            reply(&world.conference_list(&query))
        },
    )
    .await
}

async fn list_history(
    State(state): AppState,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    serve(
        &state,
        &headers,
        "conference.history",
        Scope::Enterprise,
        |world, _| {
            let query = ListQuery::parse(query.as_deref(), true)?;
            reply(&world.history_list(&query))
        },
    )
    .await
}

async fn list_videos(
    State(state): AppState,
    Path(conf_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    serve(
        &state,
        &headers,
        "video.list",
        Scope::Enterprise,
        |world, _| {
            let conf_id = parse_id(&conf_id)?;
            let query = ListQuery::parse(query.as_deref(), false)?;
            reply(&world.video_list(conf_id, &query)?)
        },
    )
    .await
}

async fn delete_video(
    State(state): AppState,
    Path(file_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(
        &state,
        &headers,
        "video.delete",
        Scope::Enterprise,
        |world, _| {
            world
                .remove_recording(&FileId::parse(&file_id))
                .ok_or_else(|| ApiError::business(21030))?;
            empty_reply()
        },
    )
    .await
}

async fn create_company(State(state): AppState, headers: HeaderMap, body: Bytes) -> Response {
    serve(
        &state,
        &headers,
        "company.create",
        Scope::Platform,
        |world, _| {
            let request = parse_object(&body)?;
            reply(world.create_company(&request)?)
        },
    )
    .await
}

async fn update_company(
    State(state): AppState,
    Path(guid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(
        &state,
        &headers,
        "company.update",
        Scope::Platform,
        |world, _| {
            let request = parse_object(&body)?;
            let name = required_text(&request, "compName", "企业名称不能为空")?.to_string();
            let company = world
                .companies
                .get_mut(&guid)
                .ok_or_else(|| ApiError::invalid("企业不存在"))?;
            company.comp_name = name;
            empty_reply()
        },
    )
    .await
}

async fn delete_company(
    State(state): AppState,
    Path(guid): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(
        &state,
        &headers,
        "company.delete",
        Scope::Platform,
        |world, _| {
            world
                .companies
                .remove(&guid)
                .ok_or_else(|| ApiError::invalid("企业不存在"))?;
            empty_reply()
        },
    )
    .await
}

async fn create_user(State(state): AppState, headers: HeaderMap, body: Bytes) -> Response {
    serve(
        &state,
        &headers,
        "user.create",
        Scope::Enterprise,
        |world, _| {
            let request = parse_object(&body)?;
            let user = world.create_user(&request)?;
            reply(&UserReply::from(user))
        },
    )
    .await
}

async fn update_user(
    State(state): AppState,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(
        &state,
        &headers,
        "user.update",
        Scope::Enterprise,
        |world, _| {
            let request = parse_object(&body)?;
            world.update_user(&account, &request)?;
            empty_reply()
        },
    )
    .await
}

async fn delete_user(
    State(state): AppState,
    Path(account): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(
        &state,
        &headers,
        "user.delete",
        Scope::Enterprise,
        |world, _| {
            world
                .users
                .remove(&account)
                .ok_or_else(|| ApiError::invalid("账号不存在"))?;
            empty_reply()
        },
    )
    .await
}

async fn create_department(State(state): AppState, headers: HeaderMap, body: Bytes) -> Response {
    serve(
        &state,
        &headers,
        "department.create",
        Scope::Enterprise,
        |world, _| {
            let request = parse_object(&body)?;
            reply(&world.create_department(&request)?)
        },
    )
    .await
}

async fn update_department(
    State(state): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(
        &state,
        &headers,
        "department.update",
        Scope::Enterprise,
        |world, _| {
            let id = parse_id(&id)?;
            let request = parse_object(&body)?;
            reply(&world.update_department(id, &request)?)
        },
    )
    .await
}

async fn delete_department(
    State(state): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(
        &state,
        &headers,
        "department.delete",
        Scope::Enterprise,
        |world, _| {
            world.delete_department(parse_id(&id)?)?;
            empty_reply()
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_document_example() {
        assert_eq!(
            signature(
                super::super::DOC_SECRET_ID,
                1_622_098_479,
                super::super::DOC_SECRET_KEY
            ),
            "edda74671f313bc7c081bf6e11c8da9ebe73224e4aadba96f6ae2c6ba4550f25"
        );
    }

    #[test]
    fn paging_falls_back_to_defaults() {
        assert_eq!(
            paginate(45, None, None),
            Page {
                start: 0,
                end: 20,
                remaining: 1
            }
        );
        assert_eq!(
            paginate(45, Some(3), Some(20)),
            Page {
                start: 40,
                end: 45,
                remaining: 0
            }
        );
        assert_eq!(
            paginate(45, Some(4), Some(20)),
            Page {
                start: 0,
                end: 20,
                remaining: 1
            }
        );
        assert_eq!(
            paginate(45, Some(0), Some(101)),
            Page {
                start: 0,
                end: 20,
                remaining: 1
            }
        );
        assert_eq!(
            paginate(0, Some(1), Some(10)),
            Page {
                start: 0,
                end: 0,
                remaining: 0
            }
        );
        assert_eq!(
            paginate(45, Some(i64::MAX), Some(100)),
            Page {
                start: 0,
                end: 45,
                remaining: 0
            }
        );
    }

    #[test]
    fn detail_times_are_shanghai_wall_clock() {
        // The document's example: 2021-04-14 15:07:31 in Shanghai.
        assert_eq!(shanghai_time(1_618_384_051), "2021-04-14 15:07:31");
        assert_eq!(shanghai_time(0), "");
        assert_eq!(shanghai_time(-1), "");
    }
}
