//! The CloudRoom half of the simulator over real HTTP, one test per quirk of
//! the vendor document. Requests are signed here by hand (not with
//! confsync's client) so the simulator is checked against the document
//! alone.

use std::collections::{BTreeMap, BTreeSet};

use confsync_sim::cloudroom::{
    API_DISABLED_SECRET_ID, API_DISABLED_SECRET_KEY, PLATFORM_SECRET_ID, PLATFORM_SECRET_KEY,
};
use confsync_sim::{RunningSimulator, SimConfig, DOC_SECRET_ID, DOC_SECRET_KEY};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const ANCHOR: i64 = 1_767_225_600; // small_sim's anchor, 2026-01-01T00:00:00Z

/// Small generated data, no rate limit, anchored at [`ANCHOR`].
fn small_sim() -> SimConfig {
    SimConfig {
        conferences: 30,
        history: 250,
        recordings_per_conference: 1,
        rate: confsync_sim::rate::RateFlags::unlimited(),
        anchor: Some(ANCHOR),
        ..SimConfig::default()
    }
}

/// A simulator on a free port.
async fn simulator(config: SimConfig) -> RunningSimulator {
    confsync_sim::start(SimConfig { port: 0, ..config })
        .await
        .expect("start the simulator")
}
const YEAR: i64 = 365 * 86_400;

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// sha256(secretId + '&' + Timestamp + '&' + secretKey), lowercase hex.
fn sign(secret_id: &str, timestamp: i64, secret_key: &str) -> String {
    hex::encode(Sha256::digest(format!(
        "{secret_id}&{timestamp}&{secret_key}"
    )))
}

/// A hand-rolled CloudRoom caller against one simulator.
struct Api {
    http: reqwest::Client,
    base: String,
    admin: String,
    secret_id: String,
    secret_key: String,
}

impl Api {
    fn new(sim: &RunningSimulator) -> Self {
        Api {
            http: reqwest::Client::new(),
            base: format!("{}/v2", sim.cloudroom_base_url()),
            admin: format!("{}/__admin", sim.base_url()),
            secret_id: DOC_SECRET_ID.to_string(),
            secret_key: DOC_SECRET_KEY.to_string(),
        }
    }

    fn as_caller(&self, secret_id: &str, secret_key: &str) -> Self {
        Api {
            http: self.http.clone(),
            base: self.base.clone(),
            admin: self.admin.clone(),
            secret_id: secret_id.to_string(),
            secret_key: secret_key.to_string(),
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    /// Sends with the three auth headers (plus a request id) for `timestamp`.
    async fn send_at(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        timestamp: i64,
    ) -> (u16, Value) {
        let mut request = self
            .request(method, path)
            .header("X-CR-SecretId", &self.secret_id)
            .header("X-CR-Timestamp", timestamp.to_string())
            .header(
                "X-CR-Signature",
                sign(&self.secret_id, timestamp, &self.secret_key),
            )
            .header("X-CR-RequestId", uuid::Uuid::new_v4().to_string());
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request).await
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.send_at(method, path, body, unix_now()).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(Method::GET, path, None).await
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.admin));
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request).await
    }

    async fn state(&self, parts: &str) -> Value {
        let (status, state) = self
            .admin(Method::GET, &format!("/state?parts={parts}"), None)
            .await;
        assert_eq!(status, 200, "{state}");
        state
    }

    /// Every history row, walking pages of 100 until `remaining` is 0.
    async fn all_history(&self, filter: &str) -> Vec<Value> {
        let mut rows = Vec::new();
        for current in 1.. {
            let (status, page) = self
                .get(&format!(
                    "/conference/history/list?size=100&current={current}{filter}"
                ))
                .await;
            assert_eq!(status, 200, "{page}");
            rows.extend(page["records"].as_array().cloned().unwrap_or_default());
            if page["remaining"] == 0 {
                break;
            }
            assert!(current < 1_000, "remaining never reached 0");
        }
        rows
    }
}

async fn read(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request reaches the simulator");
    let status = response.status().as_u16();
    let text = response.text().await.expect("response body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

fn assert_error(reply: &(u16, Value), status: u16, code: i64) {
    assert_eq!(reply.0, status, "{}", reply.1);
    assert_eq!(reply.1["code"], code, "{}", reply.1);
    assert!(reply.1["msg"].is_string(), "{}", reply.1);
}

async fn small() -> (RunningSimulator, Api) {
    sim_with(small_sim()).await
}

async fn sim_with(config: SimConfig) -> (RunningSimulator, Api) {
    let sim = simulator(config).await;
    let api = Api::new(&sim);
    (sim, api)
}

/// A scheduled meeting starting in an hour, created through the API.
async fn create_meeting(api: &Api, extra: Value) -> i64 {
    let start = unix_now() + 3_600;
    let mut body = json!({
        "subject": "测试会议",
        "orderConfig": { "scheduleTime": start, "scheduleEndTime": start + 3_600 },
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let (status, reply) = api.send(Method::POST, "/conference", Some(body)).await;
    assert_eq!(status, 200, "{reply}");
    reply["confId"].as_i64().expect("confId")
}

// --- authentication ----------------------------------------------------------

#[tokio::test]
async fn missing_auth_headers_are_22001_22002_22003() {
    let (_sim, api) = small().await;
    let path = "/conference/list";
    let none = read(api.request(Method::GET, path)).await;
    assert_error(&none, 400, 22001);
    assert_eq!(none.1["msg"], "header传参X-CR-SecretId不能为空");
    let id_only = read(
        api.request(Method::GET, path)
            .header("X-CR-SecretId", DOC_SECRET_ID),
    )
    .await;
    assert_error(&id_only, 400, 22002);
    let no_signature = read(
        api.request(Method::GET, path)
            .header("X-CR-SecretId", DOC_SECRET_ID)
            .header("X-CR-Timestamp", unix_now().to_string()),
    )
    .await;
    assert_error(&no_signature, 400, 22003);
    assert_eq!(no_signature.1["msg"], "header传参X-CR-Signature不能为空");
}

#[tokio::test]
async fn unknown_paths_answer_json_400() {
    let (_sim, api) = small().await;
    let reply = api.get("/no/such/endpoint").await;
    assert_eq!(reply.0, 404, "{}", reply.1);
    assert_eq!(reply.1["code"], 400);
}

#[tokio::test]
async fn non_integer_timestamp_is_22009() {
    let (_sim, api) = small().await;
    let reply = read(
        api.request(Method::GET, "/conference/list")
            .header("X-CR-SecretId", DOC_SECRET_ID)
            .header("X-CR-Timestamp", "2026-01-01T00:00:00Z")
            .header("X-CR-Signature", "0".repeat(64)),
    )
    .await;
    assert_error(&reply, 400, 22009);
}

#[tokio::test]
async fn unknown_secret_id_is_22006() {
    let (_sim, api) = small().await;
    let stranger = api.as_caller("noSuchSecretId", DOC_SECRET_KEY);
    let reply = stranger.get("/conference/list").await;
    assert_error(&reply, 400, 22006);
    assert_eq!(reply.1["msg"], "账号不存在");
}

#[tokio::test]
async fn wrong_signature_is_22005() {
    let (_sim, api) = small().await;
    let wrong_key = api.as_caller(DOC_SECRET_ID, "not-the-secret-key");
    assert_error(&wrong_key.get("/conference/list").await, 400, 22005);
    // Guava prints lowercase hex; uppercase is a different string.
    let ts = unix_now();
    let upper = read(
        api.request(Method::GET, "/conference/list")
            .header("X-CR-SecretId", DOC_SECRET_ID)
            .header("X-CR-Timestamp", ts.to_string())
            .header(
                "X-CR-Signature",
                sign(DOC_SECRET_ID, ts, DOC_SECRET_KEY).to_uppercase(),
            ),
    )
    .await;
    assert_error(&upper, 400, 22005);
    assert_eq!(upper.1["msg"], "签名无效");
}

#[tokio::test]
async fn clock_skew_over_five_minutes_is_22004() {
    let (_sim, api) = small().await;
    let late = api
        .send_at(Method::GET, "/conference/list", None, unix_now() - 400)
        .await;
    assert_error(&late, 400, 22004);
    assert_eq!(late.1["msg"], "签名过期");
    let slightly_late = api
        .send_at(Method::GET, "/conference/list", None, unix_now() - 240)
        .await;
    assert_eq!(slightly_late.0, 200, "{}", slightly_late.1);

    // The simulator's own clock moved instead of the client's.
    let (status, _) = api
        .admin(Method::POST, "/clock", Some(json!({ "skewSeconds": 360 })))
        .await;
    assert_eq!(status, 200);
    assert_error(&api.get("/conference/list").await, 400, 22004);
    api.admin(Method::POST, "/clock", Some(json!({ "skewSeconds": -200 })))
        .await;
    assert_eq!(api.get("/conference/list").await.0, 200);
}

#[tokio::test]
async fn api_disabled_enterprise_is_22007() {
    let (_sim, api) = small().await;
    let disabled = api.as_caller(API_DISABLED_SECRET_ID, API_DISABLED_SECRET_KEY);
    let reply = disabled.get("/conference/list").await;
    assert_error(&reply, 400, 22007);
    assert_eq!(reply.1["msg"], "企业未开放API接口权限");
}

#[tokio::test]
async fn company_endpoints_need_platform_credentials() {
    let (_sim, api) = small().await;
    let company = json!({
        "compGUID": "mytestGUID",
        "compName": "测试CompName",
        "admin": "mytest@cloudroom.com",
        "adminName": "测试01",
        "adminPwd": "123456"
    });
    let refused = api
        .send(Method::POST, "/company", Some(company.clone()))
        .await;
    assert_error(&refused, 500, 22224);
    assert_eq!(refused.1["msg"], "权限不足");

    let platform = api.as_caller(PLATFORM_SECRET_ID, PLATFORM_SECRET_KEY);
    let (status, created) = platform.send(Method::POST, "/company", Some(company)).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["compGUID"], "mytestGUID");
    assert!(created.get("adminPwd").is_none(), "{created}");
    let (status, _) = platform
        .send(
            Method::PUT,
            "/company/mytestGUID",
            Some(json!({ "compName": "改名" })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        api.state("companies").await["companies"][0]["compName"],
        "改名"
    );
    let (status, body) = platform
        .send(Method::DELETE, "/company/mytestGUID", None)
        .await;
    assert_eq!((status, body), (200, json!({})));
    // Platform credentials are not an enterprise's.
    assert_error(&platform.get("/conference/list").await, 500, 22224);
}

// --- rate limit and faults ---------------------------------------------------

#[tokio::test]
async fn over_requests_per_minute_is_429_22008() {
    let (_sim, api) = sim_with(SimConfig {
        rate: confsync_sim::rate::RateFlags {
            list_requests_per_minute: 5,
            list_limit_scope: confsync_sim::rate::ListScope::Shared,
            ..Default::default()
        },
        ..small_sim()
    })
    .await;
    for _ in 0..5 {
        assert_eq!(api.get("/conference/list").await.0, 200);
    }
    let refused = api.get("/conference/history/list").await;
    assert_error(&refused, 429, 22008);
    assert_eq!(refused.1["msg"], "接口超出频率");
    // The window is per secretId.
    let platform = api.as_caller(PLATFORM_SECRET_ID, PLATFORM_SECRET_KEY);
    let other = platform.send(Method::DELETE, "/company/none", None).await;
    assert_eq!(other.1["code"], 400, "{}", other.1);
}

#[tokio::test]
async fn injected_429s_answer_22008() {
    let (_sim, api) = small().await;
    api.admin(
        Method::POST,
        "/faults",
        Some(json!({ "cloudroom_429_next": 2 })),
    )
    .await;
    assert_error(&api.get("/conference/list").await, 429, 22008);
    assert_error(&api.get("/conference/list").await, 429, 22008);
    assert_eq!(api.get("/conference/list").await.0, 200);
}

#[tokio::test]
async fn fail_rate_one_answers_500_code_500() {
    let (_sim, api) = sim_with(SimConfig {
        fail_rate: 1.0,
        ..small_sim()
    })
    .await;
    let reply = api.get("/conference/history/list").await;
    assert_error(&reply, 500, 500);
    assert_eq!(reply.1["msg"], "服务器内部异常");
    // Authentication comes before injected faults.
    let stranger = api.as_caller("noSuchSecretId", DOC_SECRET_KEY);
    assert_error(&stranger.get("/conference/list").await, 400, 22006);
}

// --- paging --------------------------------------------------------------------

#[tokio::test]
async fn size_outside_1_to_100_means_20() {
    let (_sim, api) = small().await;
    for size in ["0", "101", "-3"] {
        let (status, page) = api
            .get(&format!("/conference/history/list?size={size}"))
            .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(
            page["records"].as_array().map(Vec::len),
            Some(20),
            "size={size}"
        );
        assert_eq!(page["total"], 250);
    }
    let (_, default) = api.get("/conference/history/list").await;
    assert_eq!(default["records"].as_array().map(Vec::len), Some(20));
    let (_, hundred) = api.get("/conference/history/list?size=100").await;
    assert_eq!(hundred["records"].as_array().map(Vec::len), Some(100));
    let (_, videos) = api
        .get(&format!(
            "/video/{}?size=0",
            default["records"][0]["confId"]
        ))
        .await;
    assert!(videos["records"].is_array(), "{videos}");
}

#[tokio::test]
async fn current_past_the_end_returns_page_one() {
    let (_sim, api) = small().await;
    let (_, first) = api.get("/conference/history/list?size=100&current=1").await;
    for current in ["4", "1000", "0", "-1", "99999999999999999999"] {
        let (status, page) = api
            .get(&format!(
                "/conference/history/list?size=100&current={current}"
            ))
            .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["records"], first["records"], "current={current}");
        assert_eq!(page["remaining"], 1, "current={current}");
    }
}

#[tokio::test]
async fn remaining_is_0_only_on_the_last_page() {
    let (_sim, api) = small().await;
    let (_, second) = api.get("/conference/history/list?size=100&current=2").await;
    assert_eq!(second["remaining"], 1);
    let (_, last) = api.get("/conference/history/list?size=100&current=3").await;
    assert_eq!(last["remaining"], 0);
    assert_eq!(last["total"], 250);
    assert_eq!(last["records"].as_array().map(Vec::len), Some(50));
    let (_, conferences) = api.get("/conference/list?size=100").await;
    assert_eq!(conferences["remaining"], 0);
    assert_eq!(conferences["total"], 30);
}

#[tokio::test]
async fn query_window_over_a_year_is_22236() {
    let (_sim, api) = small().await;
    for list in ["/conference/history/list", "/conference/list"] {
        let over = api
            .get(&format!(
                "{list}?startTime={}&endTime={ANCHOR}",
                ANCHOR - YEAR - 1
            ))
            .await;
        assert_error(&over, 500, 22236);
        assert_eq!(over.1["msg"], "查询时间间隔不能超过一年");
        let (status, page) = api
            .get(&format!(
                "{list}?startTime={}&endTime={ANCHOR}",
                ANCHOR - YEAR
            ))
            .await;
        assert_eq!(status, 200, "{page}");
    }
}

#[tokio::test]
async fn history_window_bounds_are_inclusive() {
    let (_sim, api) = small().await;
    let (_, page) = api.get("/conference/history/list?size=100&current=2").await;
    let row = &page["records"][7];
    let start = row["startTime"].as_i64().expect("startTime");
    let (_, exact) = api
        .get(&format!(
            "/conference/history/list?startTime={start}&endTime={start}"
        ))
        .await;
    let records = exact["records"].as_array().cloned().unwrap_or_default();
    assert!(records.contains(row), "{exact}");
    assert!(records.iter().all(|r| r["startTime"] == start));
    // One bound only: open on the other side.
    let since = api.all_history(&format!("&startTime={start}")).await;
    assert!(since.iter().all(|r| r["startTime"].as_i64() >= Some(start)));
    let until = api.all_history(&format!("&endTime={start}")).await;
    assert!(until.iter().all(|r| r["startTime"].as_i64() <= Some(start)));
    assert!(
        since.len() + until.len() > 250,
        "the boundary row is in both"
    );
}

#[tokio::test]
async fn lists_are_in_the_documented_order() {
    let (_sim, api) = small().await;
    let history = api.all_history("").await;
    assert_eq!(history.len(), 250);
    let keys: Vec<(i64, i64)> = history
        .iter()
        .map(|r| {
            (
                r["startTime"].as_i64().unwrap(),
                r["confId"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] > w[1]),
        "startTime desc, confId desc"
    );
    let (_, conferences) = api.get("/conference/list?size=100").await;
    let schedule: Vec<i64> = conferences["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["scheduleTime"].as_i64().unwrap())
        .collect();
    assert!(schedule.windows(2).all(|w| w[0] >= w[1]));
    let record = &conferences["records"][0];
    for key in [
        "confId",
        "subject",
        "confType",
        "scheduleTime",
        "scheduleEndTime",
        "startTime",
        "endTime",
        "hostName",
        "members",
        "confCode",
        "periodType",
        "status",
        "password",
        "ownerId",
    ] {
        assert!(
            record.get(key).is_some(),
            "conference list lacks {key}: {record}"
        );
    }
    for key in [
        "confId",
        "subject",
        "confType",
        "startTime",
        "endTime",
        "hostName",
        "members",
        "periodType",
        "scheduleTime",
        "scheduleEndTime",
        "confCode",
    ] {
        assert!(history[0].get(key).is_some(), "history lacks {key}");
    }
}

#[tokio::test]
async fn search_user_id_filters_by_host() {
    let (_sim, api) = small().await;
    let state = api.state("conferences").await;
    let owner = state["conferences"][0]["ownerId"].as_i64().unwrap();
    let (_, page) = api
        .get(&format!("/conference/list?size=100&searchUserId={owner}"))
        .await;
    let records = page["records"].as_array().unwrap();
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| r["ownerId"] == owner));
    let (_, nobody) = api.get("/conference/history/list?searchUserId=1").await;
    assert_eq!(nobody["total"], 0);
}

// --- generated data ------------------------------------------------------------

#[tokio::test]
async fn periodic_meetings_repeat_their_conf_id() {
    let (_sim, api) = small().await;
    let mut starts: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    let mut periods = BTreeMap::new();
    for row in api.all_history("").await {
        let conf_id = row["confId"].as_i64().unwrap();
        starts
            .entry(conf_id)
            .or_default()
            .insert(row["startTime"].as_i64().unwrap());
        periods.insert(conf_id, row["periodType"].as_i64().unwrap());
    }
    let repeated: Vec<_> = starts.iter().filter(|(_, s)| s.len() > 1).collect();
    assert!(!repeated.is_empty(), "no periodic series in history");
    for (conf_id, _) in &repeated {
        assert!((1..=5).contains(&periods[conf_id]), "series {conf_id}");
    }
    let periodic_rows: usize = repeated.iter().map(|(_, s)| s.len()).sum();
    assert!(
        (40..=160).contains(&periodic_rows),
        "about a third of 250 rows should be periodic, got {periodic_rows}"
    );
}

#[tokio::test]
async fn ids_and_sizes_above_2_31_are_present() {
    let (_sim, api) = small().await;
    let history = api.all_history("").await;
    let big = history
        .iter()
        .filter_map(|r| r["confId"].as_i64())
        .find(|id| *id > i64::from(i32::MAX))
        .expect("a confId above 2^31");
    let (_, videos) = api.get(&format!("/video/{big}")).await;
    assert_eq!(videos["records"][0]["confId"], big);

    let state = api.state("recordings").await;
    let large = state["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["size"].as_u64() > Some(1 << 31))
        .expect("a recording above 2 GiB");
    let (_, videos) = api
        .get(&format!("/video/{}?size=100", large["confId"]))
        .await;
    let listed = videos["records"].as_array().unwrap();
    assert!(listed.iter().any(|r| r["size"] == large["size"]));
    assert!(history.iter().any(|r| r["scheduleEndTime"] == 0));
}

#[tokio::test]
async fn recordings_follow_the_document_shape() {
    let (_sim, api) = small().await;
    let (_, history) = api.get("/conference/history/list").await;
    let meeting = &history["records"][0];
    let (_, videos) = api.get(&format!("/video/{}", meeting["confId"])).await;
    let video = &videos["records"][0];
    let file_id = video["fileId"].as_str().unwrap();
    assert_eq!(file_id.len(), 32);
    assert!(file_id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        video["url"],
        format!("http://www.cloudroom.com/lv//vod/{file_id}/f0.mp4?download")
    );
    assert_eq!(
        video["vodUrl"],
        format!("http://www.cloudroom.com/vod/{file_id}")
    );
    assert!(video["createTime"].as_i64() > meeting["endTime"].as_i64());
    assert_eq!(videos["remaining"], 0);

    let (status, body) = api
        .send(Method::DELETE, &format!("/video/{file_id}"), None)
        .await;
    assert_eq!((status, body), (200, json!({})));
    let again = api
        .send(Method::DELETE, &format!("/video/{file_id}"), None)
        .await;
    assert_error(&again, 500, 21030);
    assert_eq!(again.1["msg"], "录像不存在");
    assert_error(&api.get("/video/123").await, 500, 22201);
    assert_error(&api.get("/video/abc").await, 500, 400);
}

#[tokio::test]
async fn same_seed_gives_same_data() {
    let parts = "conferences,history,recordings";
    let (_a, api_a) = small().await;
    let (_b, api_b) = small().await;
    let (_c, api_c) = sim_with(SimConfig {
        seed: 7,
        ..small_sim()
    })
    .await;
    let a = api_a.state(parts).await;
    assert_eq!(a["history"].as_array().map(Vec::len), Some(250));
    assert_eq!(a["conferences"].as_array().map(Vec::len), Some(30));
    assert_eq!(a, api_b.state(parts).await);
    assert_ne!(a, api_c.state(parts).await);
}

// --- conferences ---------------------------------------------------------------

#[tokio::test]
async fn conference_detail_follows_the_document_example() {
    let (_sim, api) = small().await;
    // 2021-04-14 15:07:31 Shanghai is the example's time; use the same wall clock a year on.
    let start = unix_now() + 86_400;
    let (status, created) = api
        .send(
            Method::POST,
            "/conference",
            Some(json!({
                "subject": "会议主题",
                "password": "1234",
                "orderConfig": {
                    "scheduleTime": start,
                    "scheduleEndTime": start + 7_200,
                    "periodType": 3,
                    "periodEndTime": -1
                },
                "attributes": { "vwallo": 4, "autoOpenCamera": 1, "allowJoin": 1 },
                "permission": { "allowPicture": 0 }
            })),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let conf_id = created["confId"].as_i64().unwrap();
    let (status, detail) = api.get(&format!("/conference/{conf_id}")).await;
    assert_eq!(status, 200, "{detail}");
    let detail = &detail["confDetail"];
    assert_eq!(detail["confId"], conf_id);
    assert_eq!(detail["status"], 0);
    assert_eq!(detail["password"], "1234");
    let expected = chrono::DateTime::from_timestamp(start, 0)
        .unwrap()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    assert_eq!(detail["orderConfig"]["scheduleTime"], expected);
    assert_eq!(detail["orderConfig"]["periodType"], 3);
    assert_eq!(detail["attributes"]["vwalldo"], 4);
    assert_eq!(detail["attributes"]["autoOpenCamera"], 1);
    assert_eq!(detail["attributes"]["onlyComp"], 1);
    assert_eq!(detail["permission"]["imForbidPic"], 1);
    assert!(detail["permission"].get("createWB").is_some());
    for key in [
        "url",
        "publicUrl",
        "hostId",
        "hostName",
        "pstnNum",
        "pstnPwd",
    ] {
        assert!(detail.get(key).is_some(), "detail lacks {key}");
    }
    assert_error(&api.get("/conference/1").await, 500, 22201);
    assert_error(&api.get("/conference/notanumber").await, 500, 400);
}

#[tokio::test]
async fn the_documents_own_create_example_succeeds() {
    let (_sim, api) = small().await;
    let example = json!({ "subject": "创建会议", "order": 1, "orderConfig": { "periodType": 0 }, "attributes": { "waterMark": 1 } });
    let (status, reply) = api.send(Method::POST, "/conference", Some(example)).await;
    assert_eq!(status, 200, "{reply}");
    assert!(reply["confId"].as_i64().is_some());
    assert_eq!(reply.as_object().map(|o| o.len()), Some(1), "{reply}");
}

#[tokio::test]
async fn create_conference_validations_use_the_document_codes() {
    let (_sim, api) = small().await;
    let now = unix_now();
    let at = |start: i64, end: i64| json!({ "scheduleTime": start, "scheduleEndTime": end });
    let cases = [
        (json!({}), 22209),
        (json!({ "subject": "   " }), 22209),
        (json!({ "subject": "长".repeat(51) }), 22212),
        (json!({ "subject": "s", "password": "12ab" }), 22210),
        (json!({ "subject": "s", "password": "123" }), 22210),
        (
            json!({ "subject": "s", "orderConfig": at(now - 600, now + 600) }),
            22215,
        ),
        (
            json!({ "subject": "s", "orderConfig": at(now + 7_200, now + 3_600) }),
            22218,
        ),
        (
            json!({ "subject": "s", "orderConfig": at(now + 60, now + 90_000) }),
            22222,
        ),
        (
            json!({ "subject": "s", "orderConfig": { "scheduleEndTime": now + 60 } }),
            22214,
        ),
        (
            json!({ "subject": "s", "orderConfig": { "scheduleTime": now + 60 } }),
            22217,
        ),
        (
            json!({ "subject": "s", "orderConfig": { "scheduleTime": "明天", "scheduleEndTime": now } }),
            22216,
        ),
        (
            json!({ "subject": "s", "orderConfig": { "scheduleTime": now + 60, "scheduleEndTime": "x" } }),
            22219,
        ),
        (
            json!({ "subject": "s", "orderConfig": { "scheduleTime": now + 60, "scheduleEndTime": now + 120, "periodType": 9 } }),
            22220,
        ),
        (
            json!({ "subject": "s", "orderConfig": { "scheduleTime": now + 60, "scheduleEndTime": now + 120, "periodType": 1 } }),
            22211,
        ),
        (
            json!({ "subject": "s", "orderConfig": { "scheduleTime": now + 60, "scheduleEndTime": now + 120, "periodType": 1, "periodEndTime": "x" } }),
            22213,
        ),
        (
            json!({ "subject": "s", "orderConfig": { "scheduleTime": now + 60, "scheduleEndTime": now + 120, "periodType": 1, "periodEndTime": now } }),
            22221,
        ),
        (json!({ "subject": "s", "hostId": 42 }), 22223),
        (
            json!({ "subject": "s", "attributes": { "vwallo": 99 } }),
            22225,
        ),
        (
            json!({ "subject": "s", "attributes": { "virtualMembers": 2001 } }),
            22226,
        ),
        (json!({ "subject": "s", "inviteIds": [42] }), 22228),
        (
            json!({ "subject": "s", "assistantInfos": [1, 2, 3, 4, 5] }),
            22234,
        ),
        (json!({ "subject": "s", "assistantInfos": [42] }), 22235),
        (json!({ "subject": 5 }), 400),
    ];
    for (body, code) in cases {
        let reply = api
            .send(Method::POST, "/conference", Some(body.clone()))
            .await;
        assert_eq!(reply.0, 500, "{body} -> {}", reply.1);
        assert_eq!(reply.1["code"], code, "{body} -> {}", reply.1);
    }
    let bad_json = read(
        api.request(Method::POST, "/conference")
            .header("X-CR-SecretId", DOC_SECRET_ID)
            .header("X-CR-Timestamp", now.to_string())
            .header("X-CR-Signature", sign(DOC_SECRET_ID, now, DOC_SECRET_KEY))
            .body("{not json"),
    )
    .await;
    assert_error(&bad_json, 500, 400);
    assert_eq!(bad_json.1["msg"], "请求地址或参数错误");
}

#[tokio::test]
async fn invitees_and_hosts_must_be_directory_users() {
    let (_sim, api) = small().await;
    for (account, role) in [("host@example.com", 2), ("plain@example.com", 3)] {
        let (status, _) = api
            .send(
                Method::POST,
                "/user",
                Some(json!({ "account": account, "password": "p", "name": account, "roleType": role })),
            )
            .await;
        assert_eq!(status, 200);
    }
    let users = api.state("users").await;
    let id_of = |account: &str| {
        users["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["account"] == account)
            .and_then(|u| u["userId"].as_i64())
            .unwrap()
    };
    let (host, plain) = (id_of("host@example.com"), id_of("plain@example.com"));
    let conf_id = create_meeting(&api, json!({ "hostId": host, "inviteIds": [plain] })).await;
    let (_, detail) = api.get(&format!("/conference/{conf_id}")).await;
    assert_eq!(detail["confDetail"]["hostName"], "host@example.com");
    assert_eq!(detail["confDetail"]["inviteeInfos"][0]["inviteId"], plain);
    // An ordinary user may not arrange meetings.
    let refused = api
        .send(
            Method::POST,
            "/conference",
            Some(json!({ "subject": "s", "hostId": plain })),
        )
        .await;
    assert_error(&refused, 500, 22224);
    // Updates spell the invitee list `inviteeIds`; `inviteIds` is ignored there.
    let update = |key: &str| json!({ key: [42] });
    let ignored = api
        .send(
            Method::PUT,
            &format!("/conference/{conf_id}"),
            Some(update("inviteIds")),
        )
        .await;
    assert_eq!(ignored.0, 200);
    let checked = api
        .send(
            Method::PUT,
            &format!("/conference/{conf_id}"),
            Some(update("inviteeIds")),
        )
        .await;
    assert_error(&checked, 500, 22228);
}

#[tokio::test]
async fn join_checks_use_the_document_codes() {
    let (_sim, api) = small().await;
    let conf_id = create_meeting(&api, json!({ "password": "654321" })).await;
    let join = |query: String| format!("/conference/{conf_id}/join?{query}");
    assert_error(&api.get(&join("nickName=".into())).await, 500, 22230);
    assert_error(
        &api.get(&join(format!("nickName={}", "名".repeat(31))))
            .await,
        500,
        22232,
    );
    assert_error(
        &api.get(&join("nickName=a&userType=2".into())).await,
        500,
        22231,
    );
    assert_error(
        &api.get(&join("nickName=a&password=000000".into())).await,
        500,
        22202,
    );
    let (status, joined) = api
        .get(&join("nickName=%E5%BC%A0%E4%B8%89&password=654321".into()))
        .await;
    assert_eq!(status, 200, "{joined}");
    assert!(joined["crmt"].as_str().unwrap().starts_with("CRMT:"));
    assert_error(&api.get("/conference/1/join?nickName=a").await, 500, 22201);

    let (_, early) = api
        .admin(
            Method::POST,
            "/conferences",
            Some(json!({ "subject": "等主持人", "canJoinAdv": 0 })),
        )
        .await;
    let early_id = early["confId"].as_i64().unwrap();
    let waiting = api
        .get(&format!("/conference/{early_id}/join?nickName=a"))
        .await;
    assert_error(&waiting, 500, 22203);
    let host = api
        .get(&format!(
            "/conference/{early_id}/join?nickName=a&userType=1"
        ))
        .await;
    assert_eq!(host.0, 200);

    let (_, only_comp) = api
        .send(
            Method::POST,
            "/conference",
            Some(json!({ "subject": "内部", "attributes": { "allowJoin": 1 } })),
        )
        .await;
    let path = format!("/conference/{}/join?nickName=outsider", only_comp["confId"]);
    assert_error(&api.get(&path).await, 500, 22206);
    let (_, only_invited) = api
        .send(
            Method::POST,
            "/conference",
            Some(json!({ "subject": "邀请制", "attributes": { "allowJoin": 2 } })),
        )
        .await;
    let path = format!(
        "/conference/{}/join?nickName=outsider",
        only_invited["confId"]
    );
    assert_error(&api.get(&path).await, 500, 22205);
}

#[tokio::test]
async fn started_or_ended_meetings_cannot_be_updated() {
    let (_sim, api) = small().await;
    let conf_id = create_meeting(&api, json!({})).await;
    let (status, body) = api
        .send(
            Method::PUT,
            &format!("/conference/{conf_id}"),
            Some(json!({ "subject": "新主题" })),
        )
        .await;
    assert_eq!((status, body), (200, json!({})));
    let (_, detail) = api.get(&format!("/conference/{conf_id}")).await;
    assert_eq!(detail["confDetail"]["subject"], "新主题");

    api.admin(
        Method::PUT,
        &format!("/conferences/{conf_id}"),
        Some(json!({ "status": 1, "startTime": unix_now() })),
    )
    .await;
    let started = api
        .send(
            Method::PUT,
            &format!("/conference/{conf_id}"),
            Some(json!({ "subject": "x" })),
        )
        .await;
    assert_error(&started, 500, 22227);
    assert_eq!(started.1["msg"], "会议已开始或已结束");
    api.send(Method::POST, &format!("/conference/{conf_id}/end"), None)
        .await;
    let ended = api
        .send(
            Method::PUT,
            &format!("/conference/{conf_id}"),
            Some(json!({ "subject": "x" })),
        )
        .await;
    assert_error(&ended, 500, 22227);
    assert_error(
        &api.send(
            Method::PUT,
            "/conference/1",
            Some(json!({ "subject": "x" })),
        )
        .await,
        500,
        22201,
    );
}

#[tokio::test]
async fn ending_a_conference_moves_it_into_history() {
    let (_sim, api) = small().await;
    let conf_id = create_meeting(&api, json!({ "subject": "要结束的会" })).await;
    let (_, listed) = api.get("/conference/list?size=100").await;
    assert!(listed["records"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["confId"] == conf_id));

    let before = unix_now();
    let (status, body) = api
        .send(Method::POST, &format!("/conference/{conf_id}/end"), None)
        .await;
    assert_eq!((status, body), (200, json!({})));
    let (_, listed) = api.get("/conference/list?size=100").await;
    assert!(!listed["records"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["confId"] == conf_id));
    let (_, detail) = api.get(&format!("/conference/{conf_id}")).await;
    assert_eq!(detail["confDetail"]["status"], 2);

    let recent = api
        .all_history(&format!("&startTime={}", before - 60))
        .await;
    let row = recent
        .iter()
        .find(|r| r["confId"] == conf_id)
        .expect("ended meeting in history");
    assert_eq!(row["subject"], "要结束的会");
    assert!(row["endTime"].as_i64() >= Some(before));
    assert_error(
        &api.send(Method::POST, &format!("/conference/{conf_id}/end"), None)
            .await,
        500,
        22204,
    );
    assert_error(
        &api.get(&format!("/conference/{conf_id}/join?nickName=a"))
            .await,
        500,
        22204,
    );
    assert_error(
        &api.send(Method::DELETE, &format!("/conference/{conf_id}"), None)
            .await,
        500,
        22204,
    );

    let doomed = create_meeting(&api, json!({})).await;
    let (status, _) = api
        .send(Method::DELETE, &format!("/conference/{doomed}"), None)
        .await;
    assert_eq!(status, 200);
    assert_error(&api.get(&format!("/conference/{doomed}")).await, 500, 22201);
}

// --- users and departments -----------------------------------------------------

async fn create_department(api: &Api, name: &str, parent_id: i64) -> Value {
    let (status, dept) = api
        .send(
            Method::POST,
            "/department",
            Some(json!({ "name": name, "parentId": parent_id })),
        )
        .await;
    assert_eq!(status, 200, "{dept}");
    dept
}

async fn user_in_state(api: &Api, account: &str) -> Value {
    let state = api.state("users").await;
    state["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["account"] == account)
        .cloned()
        .expect("user in state")
}

#[tokio::test]
async fn deleting_a_department_moves_its_users_to_root_as_ordinary() {
    let (_sim, api) = small().await;
    let web = create_department(&api, "web", 1).await;
    let web_id = web["departmentId"].as_i64().unwrap();
    assert!(web_id >= 1_000, "{web}");
    assert_eq!(web["parentId"], 1);
    assert_eq!(web["fullPath"], "公司 > web");
    let test3 = create_department(&api, "test3", web_id).await;
    assert_eq!(test3["fullPath"], "公司 > web > test3");
    let test3_id = test3["departmentId"].as_i64().unwrap();

    let (status, user) = api
        .send(
            Method::POST,
            "/user",
            Some(json!({
                "account": "test@cloudroom.com", "password": "123456", "name": "test",
                "mobile": "18927450001", "departmentId": test3_id, "roleType": 4, "email": "test@163.com"
            })),
        )
        .await;
    assert_eq!(status, 200, "{user}");
    assert!(user.get("password").is_none());
    assert_eq!(user["departmentId"], test3_id);

    let blocked = api
        .send(Method::DELETE, &format!("/department/{web_id}"), None)
        .await;
    assert_error(&blocked, 500, 400);
    let (status, body) = api
        .send(Method::DELETE, &format!("/department/{test3_id}"), None)
        .await;
    assert_eq!((status, body), (200, json!({})));
    let moved = user_in_state(&api, "test@cloudroom.com").await;
    assert_eq!(moved["departmentId"], 1);
    assert_eq!(moved["roleType"], 3);
    assert_error(
        &api.send(Method::DELETE, &format!("/department/{test3_id}"), None)
            .await,
        500,
        400,
    );
}

#[tokio::test]
async fn updating_a_department_recomputes_its_path() {
    let (_sim, api) = small().await;
    let a = create_department(&api, "a", 1).await["departmentId"]
        .as_i64()
        .unwrap();
    let b = create_department(&api, "b", 1).await["departmentId"]
        .as_i64()
        .unwrap();
    let (status, moved) = api
        .send(
            Method::PUT,
            &format!("/department/{b}"),
            Some(json!({ "name": "b2", "parentId": a })),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["fullPath"], "公司 > a > b2");
    let cycle = api
        .send(
            Method::PUT,
            &format!("/department/{a}"),
            Some(json!({ "name": "a", "parentId": b })),
        )
        .await;
    assert_error(&cycle, 500, 400);
    let orphan = api
        .send(
            Method::POST,
            "/department",
            Some(json!({ "name": "x", "parentId": 999_999 })),
        )
        .await;
    assert_error(&orphan, 500, 400);
}

#[tokio::test]
async fn user_update_without_department_moves_to_root() {
    let (_sim, api) = small().await;
    let dept = create_department(&api, "研发", 1).await["departmentId"]
        .as_i64()
        .unwrap();
    let account = "li.lei@example.com";
    api.send(
        Method::POST,
        "/user",
        Some(json!({ "account": account, "password": "pw", "name": "李雷", "mobile": "13800000000", "departmentId": dept, "roleType": 4 })),
    )
    .await;
    let duplicate = api
        .send(
            Method::POST,
            "/user",
            Some(json!({ "account": account, "password": "pw", "name": "x" })),
        )
        .await;
    assert_error(&duplicate, 500, 400);

    let (status, body) = api
        .send(
            Method::PUT,
            &format!("/user/{account}"),
            Some(json!({ "name": "李雷雷" })),
        )
        .await;
    assert_eq!((status, body), (200, json!({})));
    let user = user_in_state(&api, account).await;
    assert_eq!(user["name"], "李雷雷");
    assert_eq!(user["departmentId"], 1);
    assert_eq!(user["roleType"], 2);
    assert_eq!(user["mobile"], Value::Null);

    // Sending the whole record keeps everything.
    api.send(
        Method::PUT,
        &format!("/user/{account}"),
        Some(
            json!({ "name": "李雷", "mobile": "13800000000", "departmentId": dept, "roleType": 4 }),
        ),
    )
    .await;
    let user = user_in_state(&api, account).await;
    assert_eq!(
        (user["departmentId"].as_i64(), user["roleType"].as_i64()),
        (Some(dept), Some(4))
    );

    assert_error(
        &api.send(Method::PUT, "/user/nobody", Some(json!({}))).await,
        500,
        400,
    );
    let (status, _) = api
        .send(Method::DELETE, &format!("/user/{account}"), None)
        .await;
    assert_eq!(status, 200);
    assert_error(
        &api.send(Method::DELETE, &format!("/user/{account}"), None)
            .await,
        500,
        400,
    );
}

// --- admin ---------------------------------------------------------------------

#[tokio::test]
async fn admin_changes_are_visible_through_the_api() {
    let (_sim, api) = small().await;
    let start = ANCHOR - 3_600;
    let (status, row) = api
        .admin(
            Method::POST,
            "/history",
            Some(json!({ "confId": 5_000_000_001i64, "subject": "后台补录", "startTime": start, "endTime": start + 1_800 })),
        )
        .await;
    assert_eq!(status, 200, "{row}");
    let window = format!("/conference/history/list?startTime={start}&endTime={start}");
    let (_, page) = api.get(&window).await;
    assert_eq!(page["records"][0]["subject"], "后台补录");

    api.admin(
        Method::PUT,
        &format!("/history/5000000001/{start}"),
        Some(json!({ "subject": "改过的主题", "members": 9 })),
    )
    .await;
    let (_, page) = api.get(&window).await;
    assert_eq!(page["records"][0]["subject"], "改过的主题");
    assert_eq!(page["records"][0]["members"], 9);

    let (status, recording) = api
        .admin(
            Method::POST,
            "/recordings",
            Some(json!({ "confId": 5_000_000_001i64, "createTime": start + 2_000 })),
        )
        .await;
    assert_eq!(status, 200, "{recording}");
    let file_id = recording["fileId"].as_str().unwrap().to_string();
    api.admin(
        Method::PUT,
        &format!("/recordings/{file_id}"),
        Some(json!({ "url": "http://example.invalid/moved.mp4" })),
    )
    .await;
    let (_, videos) = api.get("/video/5000000001").await;
    assert_eq!(
        videos["records"][0]["url"],
        "http://example.invalid/moved.mp4"
    );
    api.admin(Method::DELETE, &format!("/recordings/{file_id}"), None)
        .await;
    let (_, videos) = api.get("/video/5000000001").await;
    assert_eq!(videos["total"], 0);

    let (status, _) = api
        .admin(
            Method::DELETE,
            &format!("/history/5000000001/{start}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (_, page) = api.get(&window).await;
    assert!(page["records"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["confId"] != 5_000_000_001i64));

    let (_, conf) = api
        .admin(
            Method::POST,
            "/conferences",
            Some(json!({ "subject": "后台会议", "status": 1, "members": 3 })),
        )
        .await;
    let conf_id = conf["confId"].as_i64().unwrap();
    let (_, listed) = api
        .get(&format!(
            "/conference/list?size=100&searchUserId={}",
            conf["ownerId"]
        ))
        .await;
    let record = listed["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["confId"] == conf_id)
        .cloned();
    assert_eq!(record.map(|r| r["status"].clone()), Some(json!(1)));
    api.admin(Method::POST, &format!("/conferences/{conf_id}/end"), None)
        .await;
    let (_, detail) = api.get(&format!("/conference/{conf_id}")).await;
    assert_eq!(detail["confDetail"]["status"], 2);
}

#[tokio::test]
async fn requests_are_counted_per_endpoint_status_and_code() {
    let (_sim, api) = small().await;
    api.get("/conference/history/list").await;
    api.get("/conference/history/list").await;
    api.get("/conference/1").await;
    let (status, counters) = api.admin(Method::GET, "/counters", None).await;
    assert_eq!(status, 200);
    let count = |endpoint: &str, status: u16, code: &str| {
        counters
            .as_array()
            .unwrap()
            .iter()
            .find(|c| {
                c["vendor"] == "cloudroom"
                    && c["endpoint"] == endpoint
                    && c["status"] == status
                    && c["code"] == code
            })
            .and_then(|c| c["count"].as_u64())
    };
    assert_eq!(count("conference.history", 200, "0"), Some(2));
    assert_eq!(count("conference.get", 500, "22201"), Some(1));
    let state = api.state("counters,aliyun").await;
    assert!(state["counters"].is_array());
    assert!(state.get("aliyun").is_some());
    assert!(state.get("history").is_none());
}
