//! The four actions on the in-memory world

use super::*;

pub(crate) fn dispatch(state: &SimState, action: &str, params: &Params) -> Reply {
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
pub(crate) fn batch_entries(params: &Params) -> Result<Vec<Map<String, Value>>, Reply> {
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
pub(crate) fn field(entry: &Map<String, Value>, key: &str) -> Option<String> {
    match entry.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(crate) fn required(
    entry: &Map<String, Value>,
    key: &str,
    index: usize,
) -> Result<String, Reply> {
    field(entry, key).ok_or_else(|| {
        business(
            error_codes::MISSING_USER_FIELD,
            &format!("UserInfo[{index}].{key} is required"),
        )
    })
}

pub(crate) fn parse_user(entry: &Map<String, Value>, index: usize) -> Result<SimUser, Reply> {
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
pub(crate) fn create_user(world: &mut World, params: &Params, now_ms: i64) -> Reply {
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
pub(crate) fn delete_user(world: &mut World, params: &Params) -> Reply {
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

pub(crate) fn get_user(world: &World, params: &Params, absent: AbsentUser) -> Reply {
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

pub(crate) fn list_members(world: &World, params: &Params) -> Reply {
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

pub(crate) fn meeting_json(m: &SimMeeting) -> Value {
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
    pub(crate) fn record(&mut self, action: &str, user_ids: Vec<String>) {
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
