//! Conference records and views, and the rules of the create and update bodies.

use super::*;

/// A row of `/conference/list`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConferenceRecord<'a> {
    pub(crate) conf_id: i64,
    pub(crate) subject: &'a str,
    pub(crate) conf_type: u8,
    pub(crate) schedule_time: i64,
    pub(crate) schedule_end_time: i64,
    pub(crate) start_time: i64,
    pub(crate) end_time: i64,
    pub(crate) host_name: &'a str,
    pub(crate) members: u32,
    pub(crate) conf_code: &'a str,
    pub(crate) period_type: u8,
    pub(crate) status: u8,
    pub(crate) password: &'a str,
    pub(crate) owner_id: i64,
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
pub(crate) struct PersonInfo {
    pub(crate) invite_id: i64,
    pub(crate) invitee_name: String,
    /// 0 普通用户: the simulator has no terminal or SIP users.
    pub(crate) invitee_type: u8,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderConfigView {
    pub(crate) schedule_time: String,
    pub(crate) schedule_end_time: String,
    pub(crate) period_type: u8,
    pub(crate) period_end_time: String,
}

/// `confDetail`: every field of the document's table.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfDetail {
    pub(crate) conf_id: i64,
    pub(crate) subject: String,
    pub(crate) url: String,
    pub(crate) public_url: String,
    pub(crate) password: String,
    pub(crate) host_id: i64,
    pub(crate) host_name: String,
    pub(crate) invitee_infos: Vec<PersonInfo>,
    /// The document names the type `AssistantInfos` without fields; the
    /// simulator shows assistants in the `InviteeInfo` shape.
    pub(crate) assistant_infos: Vec<PersonInfo>,
    pub(crate) status: u8,
    pub(crate) pstn_num: String,
    pub(crate) pstn_pwd: String,
    pub(crate) email_notice: u8,
    pub(crate) sms_notice: u8,
    pub(crate) order_config: OrderConfigView,
    pub(crate) attributes: Attributes,
    pub(crate) permission: Permission,
}

/// The get reply; a struct rather than `json!` keeps the fields in the document's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DetailReply {
    pub(crate) conf_detail: ConfDetail,
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
pub(crate) struct Schedule {
    pub(crate) conf_type: u8,
    pub(crate) schedule_time: i64,
    pub(crate) schedule_end_time: i64,
    pub(crate) period_type: u8,
    pub(crate) period_end_time: i64,
}

/// Validates `orderConfig` with the document's codes. An `orderConfig`
/// with neither time (as in the document's own create example,
/// `{"periodType": 0}`) keeps `base`'s times (update) or makes an instant
/// meeting starting now (create); otherwise both times are required.
pub(crate) fn parse_schedule(
    order: &Object,
    base: Option<Schedule>,
    now: i64,
) -> ApiResult<Schedule> {
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

pub(crate) fn validate_subject(subject: Option<&str>) -> ApiResult<String> {
    let subject = subject
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::business(22209))?;
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(ApiError::business(22212));
    }
    Ok(subject.to_string())
}

pub(crate) fn validate_password(password: &str) -> ApiResult<String> {
    let digits = password.bytes().all(|b| b.is_ascii_digit());
    if !(4..=6).contains(&password.len()) || !digits {
        return Err(ApiError::business(22210));
    }
    Ok(password.to_string())
}

/// A camera or microphone request value as (autoOpen*, *UseLocal).
pub(crate) fn device_setting(value: i64) -> ApiResult<(i32, i32)> {
    match value {
        -1 => Ok((0, 1)),
        0 | 1 => Ok((value as i32, 0)),
        _ => Err(ApiError::bad_request()),
    }
}

/// Applies an `attributes` request object. `vwallo` is the request table's
/// spelling; `vwalldo` (the detail's) is accepted too.
pub(crate) fn apply_attributes(attributes: &mut Attributes, request: &Object) -> ApiResult<()> {
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
pub(crate) fn apply_permission(permission: &mut Permission, request: &Object) -> ApiResult<()> {
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
