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

use super::{lock, Faults, SimState};
use crate::cloudroom::{DepartmentView, World};
use crate::data::{
    conf_code_for, Conference, FileId, HistoryMeeting, Recording, Text, CREATOR_NAME,
    CREATOR_USER_ID,
};

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
        .route("/aliyun/meetings", post(put_aliyun_meeting))
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

mod faults;
mod records;
mod state;

use faults::*;
use records::*;
pub use state::*;

/// Adds or replaces an Aliyun meeting (`SimMeeting` as JSON): tests drive a
/// meeting's joins and leaves by posting it again.
async fn put_aliyun_meeting(State(state): AppState, body: Bytes) -> AdminResult<StatusCode> {
    let meeting: crate::aliyun::SimMeeting = parse(&body)?;
    lock(&state.aliyun)
        .put_meeting(meeting)
        .map_err(AdminError::BadRequest)?;
    Ok(StatusCode::NO_CONTENT)
}
