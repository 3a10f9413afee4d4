//! Test controls under `/__admin/` (JSON, no auth): read the whole state,
//! change the CloudRoom data behind the API's back (as the vendor's own UI
//! would), inject faults and move the simulator's clock.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::cloudroom::{DepartmentView, World};
use super::data::{
    conf_code_for, Conference, FileId, HistoryMeeting, Recording, Text, CREATOR_NAME,
    CREATOR_USER_ID,
};
use super::{lock, Faults, SimState};

/// What an admin route refuses, as `{"error": "..."}`.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = match self {
            AdminError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::Conflict(_) => StatusCode::CONFLICT,
        };
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

type AdminResult<T> = Result<T, AdminError>;
type AppState = State<Arc<SimState>>;

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/state", get(state_snapshot))
        .route("/counters", get(counters))
        .route("/history", post(add_history))
        .route(
            "/history/{conf_id}/{start_time}",
            put(change_history).delete(delete_history),
        )
        .route("/conferences", post(add_conference))
        .route(
            "/conferences/{conf_id}",
            put(change_conference).delete(delete_conference),
        )
        .route("/conferences/{conf_id}/end", post(end_conference))
        .route("/recordings", post(add_recording))
        .route(
            "/recordings/{file_id}",
            put(change_recording).delete(delete_recording),
        )
        .route("/faults", post(set_faults).get(get_faults))
        .route("/clock", post(set_clock))
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> AdminResult<T> {
    serde_json::from_slice(body).map_err(|e| AdminError::BadRequest(format!("bad JSON body: {e}")))
}

/// Serializes while the caller still holds its locks: the state may be a
/// million rows, too many to copy first.
fn json_bytes<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(serde_json::json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}

// --- state and counters ------------------------------------------------------

const ALL_PARTS: [&str; 8] = [
    "conferences",
    "history",
    "recordings",
    "users",
    "departments",
    "companies",
    "aliyun",
    "counters",
];

#[derive(Deserialize)]
struct StateQuery {
    parts: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CounterRow {
    pub vendor: String,
    pub endpoint: String,
    pub status: u16,
    pub code: String,
    pub count: u64,
}

fn counter_rows(state: &SimState) -> Vec<CounterRow> {
    lock(&state.counters)
        .iter()
        .map(|(key, count)| CounterRow {
            vendor: key.vendor.to_string(),
            endpoint: key.endpoint.clone(),
            status: key.status,
            code: key.code.clone(),
            count: *count,
        })
        .collect()
}

#[derive(Serialize, Default)]
struct StateView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    conferences: Option<&'a [Conference]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<&'a [HistoryMeeting]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recordings: Option<&'a [Recording]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    users: Option<Vec<&'a super::data::User>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    departments: Option<Vec<DepartmentView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    companies: Option<Vec<&'a super::data::Company>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aliyun: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counters: Option<Vec<CounterRow>>,
}

fn requested_parts(parts: Option<&str>) -> AdminResult<Vec<&str>> {
    let Some(parts) = parts.filter(|p| !p.trim().is_empty()) else {
        return Ok(ALL_PARTS.to_vec());
    };
    parts
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            ALL_PARTS
                .iter()
                .find(|known| **known == p)
                .copied()
                .ok_or_else(|| {
                    AdminError::BadRequest(format!("unknown part {p:?}; known: {ALL_PARTS:?}"))
                })
        })
        .collect()
}

async fn state_snapshot(State(state): AppState, Query(query): Query<StateQuery>) -> Response {
    let parts = match requested_parts(query.parts.as_deref()) {
        Ok(parts) => parts,
        Err(e) => return e.into_response(),
    };
    let wants = |part: &str| parts.contains(&part);
    // Small parts are copied first so that no two locks are held at once.
    let counters = wants("counters").then(|| counter_rows(&state));
    let aliyun = if wants("aliyun") {
        match serde_json::to_value(&*lock(&state.aliyun)) {
            Ok(v) => Some(v),
            Err(e) => return AdminError::BadRequest(e.to_string()).into_response(),
        }
    } else {
        None
    };
    let world = lock(&state.cloudroom);
    let view = StateView {
        conferences: wants("conferences").then(|| world.conferences()),
        history: wants("history").then(|| world.history()),
        recordings: wants("recordings").then(|| world.recordings()),
        users: wants("users").then(|| world.users().collect()),
        departments: wants("departments").then(|| {
            world
                .departments()
                .filter_map(|d| world.department_view(d.department_id))
                .collect()
        }),
        companies: wants("companies").then(|| world.companies().collect()),
        aliyun,
        counters,
    };
    json_bytes(&view)
}

async fn counters(State(state): AppState) -> Json<Vec<CounterRow>> {
    Json(counter_rows(&state))
}

// --- history -----------------------------------------------------------------

/// Fields of an ended meeting; on POST confId, subject, startTime and
/// endTime are required, on PUT every field is an optional change.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HistoryFields {
    conf_id: Option<i64>,
    subject: Option<String>,
    conf_type: Option<u8>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    host_name: Option<String>,
    host_id: Option<i64>,
    members: Option<u32>,
    period_type: Option<u8>,
    schedule_time: Option<i64>,
    schedule_end_time: Option<i64>,
    conf_code: Option<String>,
}

impl HistoryFields {
    fn into_new(self) -> AdminResult<HistoryMeeting> {
        let missing = |name: &str| AdminError::BadRequest(format!("{name} is required"));
        let conf_id = self.conf_id.ok_or_else(|| missing("confId"))?;
        let start_time = self.start_time.ok_or_else(|| missing("startTime"))?;
        let mut meeting = HistoryMeeting {
            conf_id,
            subject: Text::from(self.subject.clone().ok_or_else(|| missing("subject"))?),
            conf_type: 1,
            start_time,
            end_time: self.end_time.ok_or_else(|| missing("endTime"))?,
            host_name: Text::from(CREATOR_NAME),
            members: 1,
            period_type: 0,
            schedule_time: start_time,
            schedule_end_time: 0,
            conf_code: Text::from(conf_code_for(conf_id)),
            host_id: CREATOR_USER_ID,
        };
        self.apply(&mut meeting);
        Ok(meeting)
    }

    fn apply(self, m: &mut HistoryMeeting) {
        if let Some(v) = self.conf_id {
            m.conf_id = v;
        }
        if let Some(v) = self.subject {
            m.subject = Text::from(v);
        }
        if let Some(v) = self.conf_type {
            m.conf_type = v;
        }
        if let Some(v) = self.start_time {
            m.start_time = v;
        }
        if let Some(v) = self.end_time {
            m.end_time = v;
        }
        if let Some(v) = self.host_name {
            m.host_name = Text::from(v);
        }
        if let Some(v) = self.host_id {
            m.host_id = v;
        }
        if let Some(v) = self.members {
            m.members = v;
        }
        if let Some(v) = self.period_type {
            m.period_type = v;
        }
        if let Some(v) = self.schedule_time {
            m.schedule_time = v;
        }
        if let Some(v) = self.schedule_end_time {
            m.schedule_end_time = v;
        }
        if let Some(v) = self.conf_code {
            m.conf_code = Text::from(v);
        }
    }
}

fn history_conflict(m: &HistoryMeeting) -> AdminError {
    AdminError::Conflict(format!(
        "history already has confId {} at startTime {}",
        m.conf_id, m.start_time
    ))
}

async fn add_history(State(state): AppState, body: Bytes) -> AdminResult<Json<HistoryMeeting>> {
    let meeting = parse::<HistoryFields>(&body)?.into_new()?;
    if !lock(&state.cloudroom).insert_history(meeting.clone()) {
        return Err(history_conflict(&meeting));
    }
    Ok(Json(meeting))
}

fn history_not_found(conf_id: i64, start_time: i64) -> AdminError {
    AdminError::NotFound(format!(
        "no history row with confId {conf_id} and startTime {start_time}"
    ))
}

async fn change_history(
    State(state): AppState,
    Path((conf_id, start_time)): Path<(i64, i64)>,
    body: Bytes,
) -> AdminResult<Json<HistoryMeeting>> {
    let fields: HistoryFields = parse(&body)?;
    let mut world = lock(&state.cloudroom);
    let original = world
        .remove_history(conf_id, start_time)
        .ok_or_else(|| history_not_found(conf_id, start_time))?;
    let mut changed = original.clone();
    fields.apply(&mut changed);
    if !world.insert_history(changed.clone()) {
        world.insert_history(original);
        return Err(history_conflict(&changed));
    }
    Ok(Json(changed))
}

async fn delete_history(
    State(state): AppState,
    Path((conf_id, start_time)): Path<(i64, i64)>,
) -> AdminResult<Json<HistoryMeeting>> {
    lock(&state.cloudroom)
        .remove_history(conf_id, start_time)
        .map(Json)
        .ok_or_else(|| history_not_found(conf_id, start_time))
}

// --- conferences -------------------------------------------------------------

/// Fields of a listed conference; no validation, so tests can set up states
/// the API would refuse (a start in the past, an in-progress meeting).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConferenceFields {
    conf_id: Option<i64>,
    subject: Option<String>,
    conf_type: Option<u8>,
    schedule_time: Option<i64>,
    schedule_end_time: Option<i64>,
    start_time: Option<i64>,
    host_id: Option<i64>,
    host_name: Option<String>,
    members: Option<u32>,
    conf_code: Option<String>,
    period_type: Option<u8>,
    period_end_time: Option<i64>,
    status: Option<u8>,
    password: Option<String>,
    owner_id: Option<i64>,
    invitee_ids: Option<Vec<i64>>,
    can_join_adv: Option<i32>,
}

impl ConferenceFields {
    fn apply(self, c: &mut Conference) {
        macro_rules! set {
            ($($field:ident),*) => {$(
                if let Some(v) = self.$field { c.$field = v; }
            )*};
        }
        set!(
            subject,
            conf_type,
            schedule_time,
            schedule_end_time,
            start_time,
            host_id,
            host_name,
            members,
            conf_code,
            period_type,
            period_end_time,
            status,
            password,
            owner_id,
            invitee_ids
        );
        if let Some(v) = self.can_join_adv {
            c.attributes.can_join_adv = v;
        }
    }
}

async fn add_conference(State(state): AppState, body: Bytes) -> AdminResult<Json<Conference>> {
    let fields: ConferenceFields = parse(&body)?;
    let now = state.now();
    let mut world = lock(&state.cloudroom);
    let conf_id = match fields.conf_id {
        Some(id) => id,
        None => world.allocate_conf_id(),
    };
    // By default a scheduled meeting an hour from now, lasting an hour.
    let mut conf = Conference::blank(conf_id, "模拟会议".to_string(), now + 3_600);
    conf.conf_type = 1;
    conf.schedule_end_time = conf.schedule_time + 3_600;
    fields.apply(&mut conf);
    if !world.insert_conference(conf.clone()) {
        return Err(AdminError::Conflict(format!(
            "conference {conf_id} is already listed"
        )));
    }
    Ok(Json(conf))
}

fn conference_not_found(conf_id: i64) -> AdminError {
    AdminError::NotFound(format!("no listed conference {conf_id}"))
}

async fn change_conference(
    State(state): AppState,
    Path(conf_id): Path<i64>,
    body: Bytes,
) -> AdminResult<Json<Conference>> {
    let fields: ConferenceFields = parse(&body)?;
    if fields.conf_id.is_some_and(|id| id != conf_id) {
        return Err(AdminError::BadRequest("confId cannot change".into()));
    }
    let mut world = lock(&state.cloudroom);
    let conf = world
        .conference_mut(conf_id)
        .ok_or_else(|| conference_not_found(conf_id))?;
    fields.apply(conf);
    Ok(Json(conf.clone()))
}

async fn delete_conference(
    State(state): AppState,
    Path(conf_id): Path<i64>,
) -> AdminResult<Json<Conference>> {
    lock(&state.cloudroom)
        .remove_conference(conf_id)
        .map(Json)
        .ok_or_else(|| conference_not_found(conf_id))
}

/// Ends a meeting as `POST /v2/conference/{confId}/end` would; returns the history row.
async fn end_conference(
    State(state): AppState,
    Path(conf_id): Path<i64>,
) -> AdminResult<Json<HistoryMeeting>> {
    let now = state.now();
    lock(&state.cloudroom)
        .end_conference(conf_id, now)
        .map(Json)
        .map_err(|_| conference_not_found(conf_id))
}

// --- recordings --------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RecordingFields {
    conf_id: Option<i64>,
    file_id: Option<String>,
    title: Option<String>,
    create_time: Option<i64>,
    duration: Option<i64>,
    size: Option<u64>,
    url: Option<String>,
    vod_url: Option<String>,
}

impl RecordingFields {
    fn apply(self, r: &mut Recording) {
        if let Some(v) = self.conf_id {
            r.conf_id = v;
        }
        if let Some(v) = self.file_id {
            r.file_id = FileId::parse(&v);
        }
        if let Some(v) = self.title {
            r.title = Text::from(v);
        }
        if let Some(v) = self.create_time {
            r.create_time = v;
        }
        if let Some(v) = self.duration {
            r.duration = v;
        }
        if let Some(v) = self.size {
            r.size = v;
        }
        if let Some(v) = self.url {
            r.url = Some(Text::from(v));
        }
        if let Some(v) = self.vod_url {
            r.vod_url = Some(Text::from(v));
        }
    }
}

/// A recording for `conf_id` made now, with the document example's size.
fn default_recording(world: &mut World, conf_id: i64, now: i64) -> Recording {
    let title = world
        .latest_history(conf_id)
        .map(|m| format!("{}的会议", m.host_name))
        .unwrap_or_else(|| format!("{CREATOR_NAME}的会议"));
    Recording {
        file_id: world.new_file_id(),
        title: Text::from(title),
        conf_id,
        create_time: now,
        duration: 461,
        size: 6_950_912,
        url: None,
        vod_url: None,
    }
}

fn recording_conflict(file_id: &FileId) -> AdminError {
    AdminError::Conflict(format!("recording {file_id} already exists"))
}

async fn add_recording(State(state): AppState, body: Bytes) -> AdminResult<Json<Recording>> {
    let fields: RecordingFields = parse(&body)?;
    let conf_id = fields
        .conf_id
        .ok_or_else(|| AdminError::BadRequest("confId is required".into()))?;
    let now = state.now();
    let mut world = lock(&state.cloudroom);
    let mut recording = default_recording(&mut world, conf_id, now);
    fields.apply(&mut recording);
    if !world.insert_recording(recording.clone()) {
        return Err(recording_conflict(&recording.file_id));
    }
    Ok(Json(recording))
}

fn recording_not_found(file_id: &FileId) -> AdminError {
    AdminError::NotFound(format!("no recording {file_id}"))
}

async fn change_recording(
    State(state): AppState,
    Path(file_id): Path<String>,
    body: Bytes,
) -> AdminResult<Json<Recording>> {
    let fields: RecordingFields = parse(&body)?;
    let file_id = FileId::parse(&file_id);
    let mut world = lock(&state.cloudroom);
    let original = world
        .remove_recording(&file_id)
        .ok_or_else(|| recording_not_found(&file_id))?;
    let mut changed = original.clone();
    fields.apply(&mut changed);
    if !world.insert_recording(changed.clone()) {
        world.insert_recording(original);
        return Err(recording_conflict(&changed.file_id));
    }
    Ok(Json(changed))
}

async fn delete_recording(
    State(state): AppState,
    Path(file_id): Path<String>,
) -> AdminResult<Json<Recording>> {
    let file_id = FileId::parse(&file_id);
    lock(&state.cloudroom)
        .remove_recording(&file_id)
        .map(Json)
        .ok_or_else(|| recording_not_found(&file_id))
}

// --- faults and clock --------------------------------------------------------

async fn set_faults(State(state): AppState, body: Bytes) -> AdminResult<Json<Faults>> {
    let faults: Faults = parse(&body)?;
    *state.faults() = faults.clone();
    Ok(Json(faults))
}

async fn get_faults(State(state): AppState) -> Json<Faults> {
    Json(state.faults().clone())
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct Clock {
    skew_seconds: i64,
}

/// Sets how far the simulator's clock runs ahead (positive) or behind.
async fn set_clock(State(state): AppState, body: Bytes) -> AdminResult<Json<serde_json::Value>> {
    let clock: Clock = parse(&body)?;
    state
        .clock_skew
        .store(clock.skew_seconds, Ordering::Relaxed);
    Ok(Json(serde_json::json!({
        "skewSeconds": clock.skew_seconds,
        "now": state.now(),
    })))
}
