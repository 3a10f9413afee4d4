//! Routes.

use super::*;

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

pub(crate) type AppState = State<Arc<SimState>>;

pub(crate) async fn unknown_route() -> Response {
    let error = ApiError::bad_request();
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        error.body(),
    )
        .into_response()
}

pub(crate) async fn create_conference(
    State(state): AppState,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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

pub(crate) async fn update_conference(
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

pub(crate) async fn get_conference(
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

pub(crate) async fn join_conference(
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

pub(crate) async fn end_conference(
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

pub(crate) async fn delete_conference(
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

pub(crate) async fn list_conferences(
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
            list_reply(world, &world.conference_list(&query))
        },
    )
    .await
}

pub(crate) async fn list_history(
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
            list_reply(world, &world.history_list(&query))
        },
    )
    .await
}

pub(crate) async fn list_videos(
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
            let other = world
                .recordings()
                .iter()
                .find(|r| r.conf_id != conf_id)
                .and_then(|r| serde_json::to_value(r).ok());
            list_reply_with(world, &world.video_list(conf_id, &query)?, other)
        },
    )
    .await
}

pub(crate) async fn delete_video(
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

pub(crate) async fn create_company(
    State(state): AppState,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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

pub(crate) async fn update_company(
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

pub(crate) async fn delete_company(
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

pub(crate) async fn create_user(
    State(state): AppState,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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

pub(crate) async fn update_user(
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

pub(crate) async fn delete_user(
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

pub(crate) async fn create_department(
    State(state): AppState,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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

pub(crate) async fn update_department(
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

pub(crate) async fn delete_department(
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
