//! Injected faults and the simulator's clock

use super::*;

pub(crate) async fn set_faults(State(state): AppState, body: Bytes) -> AdminResult<Json<Faults>> {
    let faults: Faults = parse(&body)?;
    *state.faults() = faults.clone();
    Ok(Json(faults))
}

pub(crate) async fn get_faults(State(state): AppState) -> Json<Faults> {
    Json(state.faults().clone())
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Clock {
    pub(crate) skew_seconds: i64,
}

/// Sets how far the simulator's clock runs ahead (positive) or behind.
pub(crate) async fn set_clock(
    State(state): AppState,
    body: Bytes,
) -> AdminResult<Json<serde_json::Value>> {
    let clock: Clock = parse(&body)?;
    state
        .clock_skew
        .store(clock.skew_seconds, Ordering::Relaxed);
    Ok(Json(serde_json::json!({
        "skewSeconds": clock.skew_seconds,
        "now": state.now(),
    })))
}
