//! The state snapshot and the request counters

use super::*;

pub(crate) const ALL_PARTS: [&str; 8] = [
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
pub(crate) struct StateQuery {
    pub(crate) parts: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CounterRow {
    pub vendor: String,
    pub endpoint: String,
    pub status: u16,
    pub code: String,
    pub count: u64,
}

pub(crate) fn counter_rows(state: &SimState) -> Vec<CounterRow> {
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
pub(crate) struct StateView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) conferences: Option<&'a [Conference]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) history: Option<&'a [HistoryMeeting]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) recordings: Option<&'a [Recording]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) users: Option<Vec<&'a crate::data::User>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) departments: Option<Vec<DepartmentView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) companies: Option<Vec<&'a crate::data::Company>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) aliyun: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) counters: Option<Vec<CounterRow>>,
}

pub(crate) fn requested_parts(parts: Option<&str>) -> AdminResult<Vec<&str>> {
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

pub(crate) async fn state_snapshot(
    State(state): AppState,
    Query(query): Query<StateQuery>,
) -> Response {
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

pub(crate) async fn counters(State(state): AppState) -> Json<Vec<CounterRow>> {
    Json(counter_rows(&state))
}
