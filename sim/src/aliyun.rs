//! The Aliyun CVC RPC API (2019-10-30) as the gateway and the service answer
//! it: common-parameter, credential, clock, signature and replay checks with
//! the gateway's HTTP error JSON, then the four actions on an in-memory world.
//!
//! Gateway codes and messages are Aliyun's public ones. The CVC document
//! lists no `ErrorCode` values for `Success=false`; the integers used here
//! are the simulator's choice (see [`error_codes`]).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{lock, SimState};
use crate::signing as signature;

/// `ErrorCode` values of `Success=false` answers. The document lists none,
/// so these integers are the simulator's own; confsync must not rely on them
/// (it reads the message too).
pub mod error_codes {
    pub const OK: i64 = 0;
    pub const MALFORMED_USER_INFO: i64 = 40001;
    pub const COUNT_MISMATCH: i64 = 40002;
    pub const MISSING_USER_FIELD: i64 = 40003;
    pub const USER_NOT_FOUND: i64 = 40401;
    pub const MEETING_NOT_FOUND: i64 = 40402;
}

/// The readings of "GetUser for a user that does not exist".
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AbsentUser {
    Error,
    ErrorZh,
    Empty,
}

/// Requests older or newer than this (against the simulator's clock), and
/// nonces seen within it, are refused, as Aliyun does.
const WINDOW_SECS: i64 = 15 * 60;
const ACTIONS: [&str; 4] = ["CreateUser", "DeleteUser", "GetUser", "ListMembers"];
const LOG_LIMIT: usize = 1000;
pub const EXAMPLE_MEETING_UUID: &str = "6c1f361";
pub const TABLE_MEETING_UUID: &str = "3b0e28fd-5614-4013-a23b-0e28fd561401";

#[derive(Debug, Serialize)]
pub struct World {
    pub users: BTreeMap<String, SimUser>,
    pub meetings: BTreeMap<String, SimMeeting>,
    /// Accepted action calls, oldest first (the last [`LOG_LIMIT`]), so tests
    /// can see how a client split its work.
    pub log: VecDeque<LoggedCall>,
    #[serde(skip)]
    nonces: NonceLog,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SimUser {
    pub user_id: String,
    pub user_name: String,
    pub group_id: String,
    pub group_name: String,
    pub user_avatar_url: Option<String>,
    pub depart_id: Option<String>,
    pub depart_name: Option<String>,
    pub user_email: Option<String>,
    pub user_tel: Option<String>,
    pub user_mobile: Option<String>,
    /// Epoch milliseconds of the first CreateUser; an update keeps it.
    pub create_time: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SimMeeting {
    pub uuid: String,
    pub name: String,
    pub code: String,
    pub creator: String,
    pub memo: String,
    pub create_date_ms: i64,
    pub members: Vec<SimMember>,
    /// Answer with the spelling of the document's example (`MemberList`,
    /// `CreateCreate`, numbers) instead of its table's.
    pub example_style: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SimMember {
    pub member_uuid: String,
    pub user_id: String,
    pub user_name: String,
    pub status: String,
    pub begin_ms: i64,
    pub end_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LoggedCall {
    pub action: String,
    pub count: Option<usize>,
    pub user_ids: Vec<String>,
}

/// Nonces with the time they were first seen, oldest first.
#[derive(Debug, Default)]
struct NonceLog {
    order: VecDeque<(i64, String)>,
    seen: HashSet<String>,
}

impl NonceLog {
    /// Records `nonce`; false when it was already used inside the window.
    fn insert(&mut self, nonce: &str, now: i64) -> bool {
        while let Some((at, _)) = self.order.front() {
            if now - *at <= WINDOW_SECS {
                break;
            }
            if let Some((_, old)) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        if !self.seen.insert(nonce.to_string()) {
            return false;
        }
        self.order.push_back((now, nonce.to_string()));
        true
    }
}

impl Default for World {
    fn default() -> Self {
        let meetings = [example_meeting(), table_meeting()]
            .into_iter()
            .map(|m| (m.uuid.clone(), m))
            .collect();
        World {
            users: BTreeMap::new(),
            meetings,
            log: VecDeque::new(),
            nonces: NonceLog::default(),
        }
    }
}

/// The document's ListMembers example, as it gives it.
fn example_meeting() -> SimMeeting {
    let member = |user_id: &str, member_uuid: &str| SimMember {
        member_uuid: member_uuid.into(),
        user_id: user_id.into(),
        user_name: "张三".into(),
        status: "online".into(),
        begin_ms: 1_989_123_913,
        end_ms: Some(19_912_312_312),
    };
    SimMeeting {
        uuid: EXAMPLE_MEETING_UUID.into(),
        name: "测试会议".into(),
        code: "12345678".into(),
        creator: "1001".into(),
        memo: "阿里云测试".into(),
        create_date_ms: 123_321_321_342,
        members: vec![member("001", "qweqweqsdf"), member("002", "qweqweqwe-sdf")],
        example_style: true,
    }
}

/// A meeting spelled as the table says, where one member joined twice.
fn table_meeting() -> SimMeeting {
    let start = 1_767_258_000_000; // 2026-01-01T09:00:00Z
    let member = |user_id: &str, n: i64, status: &str, end: Option<i64>| SimMember {
        member_uuid: format!("member-{user_id}-{n}"),
        user_id: user_id.into(),
        user_name: format!("用户{user_id}"),
        status: status.into(),
        begin_ms: start + n * 60_000,
        end_ms: end,
    };
    SimMeeting {
        uuid: TABLE_MEETING_UUID.into(),
        name: "周例会".into(),
        code: "00420042".into(),
        creator: "u-100".into(),
        memo: String::new(),
        create_date_ms: start - 600_000,
        members: vec![
            member("u-100", 0, "offline", Some(start + 600_000)),
            member("u-101", 1, "offline", Some(start + 300_000)),
            member("u-101", 7, "online", None),
            member("u-102", 2, "ring", None),
        ],
        example_style: false,
    }
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new().route("/", get(rpc).post(rpc))
}

/// One answer: HTTP status, the code it is counted under, the JSON body.
struct Reply {
    status: u16,
    code: String,
    body: Value,
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.body)).into_response()
    }
}

type Params = BTreeMap<String, String>;

async fn rpc(
    State(state): State<Arc<SimState>>,
    method: Method,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Reply {
    state.add_latency().await;
    let params = collect_params(query.as_deref(), &body);
    let action = params.get("Action").map(String::as_str).unwrap_or("");
    // Unknown actions share one label so junk requests cannot grow the counters.
    let label = if ACTIONS.contains(&action) {
        action
    } else {
        "unknown"
    };
    let reply = match check(&state, &method, &params) {
        Ok(()) => dispatch(&state, action, &params),
        Err(reply) => reply,
    };
    state.count("aliyun", label, reply.status, &reply.code);
    reply
}

/// The SDK puts common parameters in the query and action parameters in a
/// form body; the gateway reads both.
fn collect_params(query: Option<&str>, body: &[u8]) -> Params {
    let mut params: Params = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    params.extend(url::form_urlencoded::parse(body).into_owned());
    params
}

fn check(state: &SimState, method: &Method, params: &Params) -> Result<(), Reply> {
    require_common(params)?;
    check_access_key(state, params)?;
    check_timestamp(state, params)?;
    check_signature(state, method, params)?;
    check_nonce(state, params)?;
    check_version_and_action(params)?;
    check_faults(state, params)
}

fn require_common(params: &Params) -> Result<(), Reply> {
    const REQUIRED: [&str; 8] = [
        "AccessKeyId",
        "Signature",
        "Timestamp",
        "SignatureNonce",
        "SignatureMethod",
        "SignatureVersion",
        "Version",
        "Action",
    ];
    match REQUIRED.iter().find(|k| blank(params, k)) {
        None => Ok(()),
        // Aliyun names the two credential parameters in the code itself.
        Some(&"AccessKeyId") => Err(gateway(
            params,
            400,
            "MissingAccessKeyId",
            &missing_message("AccessKeyId"),
        )),
        Some(&"Signature") => Err(gateway(
            params,
            400,
            "MissingSignature",
            &missing_message("Signature"),
        )),
        Some(name) => Err(gateway(
            params,
            400,
            "MissingParameter",
            &missing_message(name),
        )),
    }
}

fn missing_message(name: &str) -> String {
    format!("The input parameter \"{name}\" that is mandatory for processing this request is not supplied.")
}

fn blank(params: &Params, key: &str) -> bool {
    params.get(key).is_none_or(|v| v.is_empty())
}

fn check_access_key(state: &SimState, params: &Params) -> Result<(), Reply> {
    if params.get("AccessKeyId") == Some(&state.config.access_key_id) {
        return Ok(());
    }
    Err(gateway(
        params,
        404,
        "InvalidAccessKeyId.NotFound",
        "Specified access key is not found.",
    ))
}

fn check_timestamp(state: &SimState, params: &Params) -> Result<(), Reply> {
    let text = params.get("Timestamp").map(String::as_str).unwrap_or("");
    let Ok(at) = chrono::NaiveDateTime::parse_from_str(text, signature::TIMESTAMP_FORMAT) else {
        return Err(gateway(
            params,
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        ));
    };
    if (at.and_utc().timestamp() - state.now()).abs() > WINDOW_SECS {
        return Err(gateway(
            params,
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    Ok(())
}

fn check_signature(state: &SimState, method: &Method, params: &Params) -> Result<(), Reply> {
    if params.get("SignatureMethod").map(String::as_str) != Some(signature::SIGNATURE_METHOD) {
        return Err(gateway(
            params,
            400,
            "InvalidSignatureMethod",
            "Specified signature method is not supported.",
        ));
    }
    let to_sign = signature::string_to_sign(method.as_str(), params);
    let expected = signature::sign(&to_sign, &state.config.access_key_secret);
    if params.get("Signature") == Some(&expected) {
        return Ok(());
    }
    // Aliyun echoes its string-to-sign so the caller can diff it with its own.
    let message = format!(
        "Specified signature is not matched with our calculation. server string to sign is:{to_sign}"
    );
    Err(gateway(params, 400, "SignatureDoesNotMatch", &message))
}

fn check_nonce(state: &SimState, params: &Params) -> Result<(), Reply> {
    let nonce = params
        .get("SignatureNonce")
        .map(String::as_str)
        .unwrap_or("");
    if lock(&state.aliyun).nonces.insert(nonce, state.now()) {
        return Ok(());
    }
    Err(gateway(
        params,
        400,
        "SignatureNonceUsed",
        "Specified signature nonce was used already.",
    ))
}

fn check_version_and_action(params: &Params) -> Result<(), Reply> {
    if params.get("Version").map(String::as_str) != Some(signature::API_VERSION) {
        return Err(gateway(
            params,
            400,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        ));
    }
    let action = params.get("Action").map(String::as_str).unwrap_or("");
    if !ACTIONS.contains(&action) {
        return Err(gateway(
            params,
            404,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        ));
    }
    Ok(())
}

/// Throttling answers 429, as today's Aliyun gateway does for
/// Throttling.User (older API references list 400 for the same code; the
/// client keys on the code, not the status).
fn check_faults(state: &SimState, params: &Params) -> Result<(), Reply> {
    let throttled = {
        let mut faults = state.faults();
        let hit = faults.aliyun_throttle_next > 0;
        if hit {
            faults.aliyun_throttle_next -= 1;
        }
        hit
    };
    if throttled {
        return Err(gateway(
            params,
            429,
            "Throttling.User",
            "Request was denied due to user flow control.",
        ));
    }
    if state.should_fail() {
        return Err(gateway(
            params,
            500,
            "InternalError",
            "The request processing has failed due to some unknown error, exception or failure.",
        ));
    }
    Ok(())
}

/// The gateway's error JSON.
fn gateway(params: &Params, status: u16, code: &str, message: &str) -> Reply {
    let region = params
        .get("RegionId")
        .map(String::as_str)
        .unwrap_or("cn-hangzhou");
    Reply {
        status,
        code: code.into(),
        body: json!({
            "RequestId": request_id(),
            "HostId": format!("{}.{region}.aliyuncs.com", signature::PRODUCT),
            "Code": code,
            "Message": message,
            "Recommend": format!("https://api.aliyun.com/troubleshoot?q={code}&product={}", signature::PRODUCT),
        }),
    }
}

/// `Success=false` comes back with HTTP 200, as the document's responses do.
fn business(error_code: i64, message: &str) -> Reply {
    Reply {
        status: 200,
        code: error_code.to_string(),
        body: json!({
            "RequestId": request_id(),
            "Success": false,
            "ErrorCode": error_code,
            "Message": message,
        }),
    }
}

fn success(extra: Map<String, Value>) -> Reply {
    let mut body = Map::new();
    body.insert("RequestId".into(), request_id().into());
    body.insert("Message".into(), "successful!".into());
    body.insert("Success".into(), true.into());
    body.insert("ErrorCode".into(), error_codes::OK.into());
    body.extend(extra);
    Reply {
        status: 200,
        code: error_codes::OK.to_string(),
        body: Value::Object(body),
    }
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

fn dispatch(state: &SimState, action: &str, params: &Params) -> Reply {
    let now_ms = state.now() * 1000;
    let mut world = lock(&state.aliyun);
    match action {
        "CreateUser" => create_user(&mut world, params, now_ms),
        "DeleteUser" => delete_user(&mut world, params),
        "GetUser" => get_user(&world, params, state.config.aliyun_absent_user),
        _ => list_members(&world, params),
    }
}

/// `UserInfo` (a JSON array) and `Count`, checked against each other.
fn batch_entries(params: &Params) -> Result<Vec<Map<String, Value>>, Reply> {
    for name in ["UserInfo", "Count"] {
        if blank(params, name) {
            return Err(gateway(
                params,
                400,
                "MissingParameter",
                &missing_message(name),
            ));
        }
    }
    let count_text = params.get("Count").map(String::as_str).unwrap_or("");
    let Ok(count) = count_text.trim().parse::<usize>() else {
        return Err(gateway(
            params,
            400,
            "InvalidParameter",
            "The specified parameter \"Count\" is not valid.",
        ));
    };
    let text = params.get("UserInfo").map(String::as_str).unwrap_or("");
    let entries = match serde_json::from_str::<Vec<Value>>(text) {
        Ok(list) => list
            .into_iter()
            .map(|v| match v {
                Value::Object(map) => Ok(map),
                _ => Err(()),
            })
            .collect::<Result<Vec<_>, _>>(),
        Err(_) => Err(()),
    };
    let Ok(entries) = entries else {
        return Err(business(
            error_codes::MALFORMED_USER_INFO,
            "UserInfo is not a JSON array of objects",
        ));
    };
    if entries.len() != count {
        let message = format!(
            "Count is {count} but UserInfo holds {} users",
            entries.len()
        );
        return Err(business(error_codes::COUNT_MISMATCH, &message));
    }
    Ok(entries)
}

/// A field as text: strings as they are, numbers in decimal, empty as absent.
fn field(entry: &Map<String, Value>, key: &str) -> Option<String> {
    match entry.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn required(entry: &Map<String, Value>, key: &str, index: usize) -> Result<String, Reply> {
    field(entry, key).ok_or_else(|| {
        business(
            error_codes::MISSING_USER_FIELD,
            &format!("UserInfo[{index}].{key} is required"),
        )
    })
}

fn parse_user(entry: &Map<String, Value>, index: usize) -> Result<SimUser, Reply> {
    Ok(SimUser {
        user_id: required(entry, "userId", index)?,
        user_name: required(entry, "userName", index)?,
        group_id: required(entry, "groupId", index)?,
        group_name: required(entry, "groupName", index)?,
        user_avatar_url: field(entry, "userAvatarUrl"),
        depart_id: field(entry, "departId"),
        depart_name: field(entry, "departName"),
        user_email: field(entry, "userEmail"),
        user_tel: field(entry, "userTel"),
        user_mobile: field(entry, "userMobile"),
        create_time: 0,
    })
}

/// Upserts all users or none: a bad entry rejects the whole call.
fn create_user(world: &mut World, params: &Params, now_ms: i64) -> Reply {
    let users = match batch_entries(params).and_then(|entries| {
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| parse_user(e, i))
            .collect::<Result<Vec<_>, _>>()
    }) {
        Ok(users) => users,
        Err(reply) => return reply,
    };
    let ids = users.iter().map(|u| u.user_id.clone()).collect();
    for mut user in users {
        user.create_time = world
            .users
            .get(&user.user_id)
            .map_or(now_ms, |old| old.create_time);
        world.users.insert(user.user_id.clone(), user);
    }
    world.record("CreateUser", ids);
    success(Map::new())
}

/// Unknown userIds are ignored, so a repeated delete succeeds.
fn delete_user(world: &mut World, params: &Params) -> Reply {
    let ids = match batch_entries(params).and_then(|entries| {
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| required(e, "userId", i))
            .collect::<Result<Vec<_>, _>>()
    }) {
        Ok(ids) => ids,
        Err(reply) => return reply,
    };
    for id in &ids {
        world.users.remove(id);
    }
    world.record("DeleteUser", ids);
    success(Map::new())
}

fn get_user(world: &World, params: &Params, absent: AbsentUser) -> Reply {
    if blank(params, "UserId") {
        return gateway(params, 400, "MissingParameter", &missing_message("UserId"));
    }
    let id = params.get("UserId").map(String::as_str).unwrap_or("");
    let Some(user) = world.users.get(id) else {
        return match absent {
            AbsentUser::Error => business(error_codes::USER_NOT_FOUND, "user does not exist"),
            AbsentUser::ErrorZh => business(error_codes::USER_NOT_FOUND, "用户不存在"),
            AbsentUser::Empty => success(Map::new()),
        };
    };
    let mut info = Map::new();
    info.insert("UserName".into(), user.user_name.clone().into());
    info.insert("CreateTime".into(), user.create_time.into());
    info.insert("GroupId".into(), user.group_id.clone().into());
    info.insert("GroupName".into(), user.group_name.clone().into());
    let optional = [
        ("UserTel", &user.user_tel),
        ("UserEmail", &user.user_email),
        ("UserMobile", &user.user_mobile),
        ("UserAvatarUrl", &user.user_avatar_url),
        ("DepartId", &user.depart_id),
        ("DepartName", &user.depart_name),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            info.insert(key.into(), v.clone().into());
        }
    }
    success(Map::from_iter([(
        "UserInfo".to_string(),
        Value::Object(info),
    )]))
}

fn list_members(world: &World, params: &Params) -> Reply {
    if blank(params, "MeetingUUID") {
        return gateway(
            params,
            400,
            "MissingParameter",
            &missing_message("MeetingUUID"),
        );
    }
    let id = params.get("MeetingUUID").map(String::as_str).unwrap_or("");
    match world.meetings.get(id) {
        Some(meeting) => success(Map::from_iter([(
            "MeetingInfo".to_string(),
            meeting_json(meeting),
        )])),
        None => business(error_codes::MEETING_NOT_FOUND, "meeting does not exist"),
    }
}

fn meeting_json(m: &SimMeeting) -> Value {
    let example = m.example_style;
    let time = |ms: i64| {
        if example {
            json!(ms)
        } else {
            json!(ms.to_string())
        }
    };
    let members: Vec<Value> = m
        .members
        .iter()
        .map(|p| {
            json!({
                "MemberUUID": p.member_uuid,
                "UserId": p.user_id,
                "Status": p.status,
                "BeginTime": time(p.begin_ms),
                "EndTime": p.end_ms.map(time),
                "UserName": p.user_name,
            })
        })
        .collect();
    let code = if example {
        m.code
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| m.code.clone().into())
    } else {
        m.code.clone().into()
    };
    let (date_key, members_key) = if example {
        ("CreateCreate", "MemberList")
    } else {
        ("CreateDate", "MemberInfos")
    };
    json!({
        "MeetingUUID": m.uuid,
        "MeetingCode": code,
        "MeetingName": m.name,
        "UserId": m.creator,
        "Memo": m.memo,
        date_key: m.create_date_ms,
        members_key: members,
    })
}

impl World {
    fn record(&mut self, action: &str, user_ids: Vec<String>) {
        self.log.push_back(LoggedCall {
            action: action.into(),
            count: Some(user_ids.len()),
            user_ids,
        });
        while self.log.len() > LOG_LIMIT {
            self.log.pop_front();
        }
    }
}
