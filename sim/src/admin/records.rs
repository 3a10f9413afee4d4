//! Adding, changing and deleting history, conferences and recordings

use super::*;

/// Fields of an ended meeting; on POST confId, subject, startTime and
/// endTime are required, on PUT every field is an optional change.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct HistoryFields {
    pub(crate) conf_id: Option<i64>,
    pub(crate) subject: Option<String>,
    pub(crate) conf_type: Option<u8>,
    pub(crate) start_time: Option<i64>,
    pub(crate) end_time: Option<i64>,
    pub(crate) host_name: Option<String>,
    pub(crate) host_id: Option<i64>,
    pub(crate) members: Option<u32>,
    pub(crate) period_type: Option<u8>,
    pub(crate) schedule_time: Option<i64>,
    pub(crate) schedule_end_time: Option<i64>,
    pub(crate) conf_code: Option<String>,
}

impl HistoryFields {
    pub(crate) fn into_new(self) -> AdminResult<HistoryMeeting> {
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

    pub(crate) fn apply(self, m: &mut HistoryMeeting) {
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

pub(crate) fn history_conflict(m: &HistoryMeeting) -> AdminError {
    AdminError::Conflict(format!(
        "history already has confId {} at startTime {}",
        m.conf_id, m.start_time
    ))
}

pub(crate) async fn add_history(
    State(state): AppState,
    body: Bytes,
) -> AdminResult<Json<HistoryMeeting>> {
    let meeting = parse::<HistoryFields>(&body)?.into_new()?;
    if !lock(&state.cloudroom).insert_history(meeting.clone()) {
        return Err(history_conflict(&meeting));
    }
    Ok(Json(meeting))
}

pub(crate) fn history_not_found(conf_id: i64, start_time: i64) -> AdminError {
    AdminError::NotFound(format!(
        "no history row with confId {conf_id} and startTime {start_time}"
    ))
}

pub(crate) async fn change_history(
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

pub(crate) async fn delete_history(
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
pub(crate) struct ConferenceFields {
    pub(crate) conf_id: Option<i64>,
    pub(crate) subject: Option<String>,
    pub(crate) conf_type: Option<u8>,
    pub(crate) schedule_time: Option<i64>,
    pub(crate) schedule_end_time: Option<i64>,
    pub(crate) start_time: Option<i64>,
    pub(crate) host_id: Option<i64>,
    pub(crate) host_name: Option<String>,
    pub(crate) members: Option<u32>,
    pub(crate) conf_code: Option<String>,
    pub(crate) period_type: Option<u8>,
    pub(crate) period_end_time: Option<i64>,
    pub(crate) status: Option<u8>,
    pub(crate) password: Option<String>,
    pub(crate) owner_id: Option<i64>,
    pub(crate) invitee_ids: Option<Vec<i64>>,
    pub(crate) can_join_adv: Option<i32>,
}

impl ConferenceFields {
    pub(crate) fn apply(self, c: &mut Conference) {
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

pub(crate) async fn add_conference(
    State(state): AppState,
    body: Bytes,
) -> AdminResult<Json<Conference>> {
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

pub(crate) fn conference_not_found(conf_id: i64) -> AdminError {
    AdminError::NotFound(format!("no listed conference {conf_id}"))
}

pub(crate) async fn change_conference(
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

pub(crate) async fn delete_conference(
    State(state): AppState,
    Path(conf_id): Path<i64>,
) -> AdminResult<Json<Conference>> {
    lock(&state.cloudroom)
        .remove_conference(conf_id)
        .map(Json)
        .ok_or_else(|| conference_not_found(conf_id))
}

/// Ends a meeting as `POST /v2/conference/{confId}/end` would; returns the history row.
pub(crate) async fn end_conference(
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
pub(crate) struct RecordingFields {
    pub(crate) conf_id: Option<i64>,
    pub(crate) file_id: Option<String>,
    pub(crate) title: Option<String>,
    pub(crate) create_time: Option<i64>,
    pub(crate) duration: Option<i64>,
    pub(crate) size: Option<u64>,
    pub(crate) url: Option<String>,
    pub(crate) vod_url: Option<String>,
}

impl RecordingFields {
    pub(crate) fn apply(self, r: &mut Recording) {
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
pub(crate) fn default_recording(world: &mut World, conf_id: i64, now: i64) -> Recording {
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

pub(crate) fn recording_conflict(file_id: &FileId) -> AdminError {
    AdminError::Conflict(format!("recording {file_id} already exists"))
}

pub(crate) async fn add_recording(
    State(state): AppState,
    body: Bytes,
) -> AdminResult<Json<Recording>> {
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

pub(crate) fn recording_not_found(file_id: &FileId) -> AdminError {
    AdminError::NotFound(format!("no recording {file_id}"))
}

pub(crate) async fn change_recording(
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

pub(crate) async fn delete_recording(
    State(state): AppState,
    Path(file_id): Path<String>,
) -> AdminResult<Json<Recording>> {
    let file_id = FileId::parse(&file_id);
    lock(&state.cloudroom)
        .remove_recording(&file_id)
        .map(Json)
        .ok_or_else(|| recording_not_found(&file_id))
}
