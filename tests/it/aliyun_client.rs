//! The Aliyun CVC client against the in-process simulator, over real HTTP.

use crate::common;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::Value;

use confsync::aliyun::{signature, AliyunClient, AliyunError, UserInfo};
use confsync::configuration::{AliyunSettings, Settings};
use confsync::retry::Backoff;
use confsync_sim::aliyun::error_codes;
use confsync_sim::aliyun::{EXAMPLE_MEETING_UUID, TABLE_MEETING_UUID};
use confsync_sim::{lock, RunningSimulator, SIM_ACCESS_KEY_ID, SIM_ACCESS_KEY_SECRET};

fn settings(sim: &RunningSimulator) -> AliyunSettings {
    AliyunSettings {
        endpoint: sim.aliyun_endpoint(),
        access_key_id: Some(SIM_ACCESS_KEY_ID.into()),
        access_key_secret: Some(SecretString::from(SIM_ACCESS_KEY_SECRET)),
        max_retries: 3,
        timeout_seconds: 5,
        ..Settings::default().aliyun
    }
}

/// Short delays: these tests check what is retried, not how long it waits.
fn client_from(settings: &AliyunSettings) -> AliyunClient {
    AliyunClient::new(settings).unwrap().with_backoff(Backoff {
        base: Duration::from_millis(5),
        max: Duration::from_millis(20),
        max_retries: settings.max_retries,
    })
}

fn user(id: &str) -> UserInfo {
    UserInfo {
        user_id: id.into(),
        user_name: format!("用户 {id}"),
        group_id: "88".into(),
        group_name: "阿里巴巴".into(),
        ..UserInfo::default()
    }
}

fn to_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Common parameters for `action`, signed for `method` over them and `body`.
fn signed_query(
    method: &str,
    action: &str,
    timestamp: &str,
    nonce: &str,
    body: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut query =
        signature::common_params(action, SIM_ACCESS_KEY_ID, "cn-hangzhou", timestamp, nonce);
    let to_sign = signature::string_to_sign(method, &signature::merged(&query, body));
    query.insert(
        "Signature".into(),
        signature::sign(&to_sign, SIM_ACCESS_KEY_SECRET),
    );
    query
}

async fn send(
    sim: &RunningSimulator,
    method: reqwest::Method,
    query: &BTreeMap<String, String>,
    body: &BTreeMap<String, String>,
) -> (u16, Value) {
    let url = format!(
        "{}/?{}",
        sim.aliyun_endpoint(),
        signature::encode_pairs(query)
    );
    let response = reqwest::Client::new()
        .request(method, url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(signature::encode_pairs(body))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// A hand-built signed POST, for what the client would never send.
async fn raw(
    sim: &RunningSimulator,
    action: &str,
    body: &[(&str, &str)],
    nonce: &str,
) -> (u16, Value) {
    let timestamp = signature::format_timestamp(chrono::Utc::now());
    let body = to_map(body);
    let query = signed_query("POST", action, &timestamp, nonce, &body);
    send(sim, reqwest::Method::POST, &query, &body).await
}

#[tokio::test]
async fn create_get_update_delete_round_trip() {
    let sim = common::simulator(common::small_sim()).await;
    let client = client_from(&settings(&sim));
    let mut zhang = user("u-1");
    zhang.user_email = Some("zhang@example.com".into());
    zhang.depart_name = Some("行政部".into());
    let request_id = client
        .create_user_batch(&[zhang.clone(), user("u-2")])
        .await
        .unwrap();
    assert!(!request_id.is_empty());

    let got = client.get_user("u-1").await.unwrap().unwrap();
    assert_eq!(got.user_id, "u-1");
    assert_eq!(got.user_name, "用户 u-1");
    assert_eq!(got.group_name, "阿里巴巴");
    assert_eq!(got.user_email.as_deref(), Some("zhang@example.com"));
    assert_eq!(got.depart_name.as_deref(), Some("行政部"));
    assert_eq!(got.user_mobile, None);
    let created = got.create_time.unwrap();
    assert!(created > 1_600_000_000_000, "milliseconds: {created}");

    // Existing users are updated in place, keeping their creation time.
    zhang.user_name = "张三".into();
    client.create_user_batch(&[zhang]).await.unwrap();
    let got = client.get_user("u-1").await.unwrap().unwrap();
    assert_eq!(got.user_name, "张三");
    assert_eq!(got.create_time, Some(created));

    client
        .delete_user_batch(&["u-1".to_string()])
        .await
        .unwrap();
    let gone = client.get_user("u-1").await.unwrap_err();
    assert!(matches!(gone, AliyunError::Business { .. }), "{gone:?}");
    assert!(client.get_user("u-2").await.unwrap().is_some());
    assert_eq!(client.stats().snapshot().retries, 0);
    sim.stop().await;
}

#[tokio::test]
async fn one_batch_is_one_call_with_every_user() {
    let sim = common::simulator(common::small_sim()).await;
    let client = client_from(&settings(&sim));
    let users: Vec<UserInfo> = (1..=7).map(|i| user(&format!("u-{i}"))).collect();
    client.create_user_batch(&users).await.unwrap();
    assert_eq!(
        sim.state.requests("aliyun", Some("CreateUser"), Some(200)),
        1
    );
    {
        let world = lock(&sim.state.aliyun);
        let counts: Vec<_> = world.log.iter().map(|c| c.count).collect();
        assert_eq!(counts, [Some(7)]);
        assert_eq!(world.users.len(), 7);
    }
    let ids: Vec<String> = users.iter().map(|u| u.user_id.clone()).collect();
    client.delete_user_batch(&ids[..4]).await.unwrap();
    assert_eq!(
        sim.state.requests("aliyun", Some("DeleteUser"), Some(200)),
        1
    );
    assert_eq!(lock(&sim.state.aliyun).users.len(), 3);
    sim.stop().await;
}

#[tokio::test]
async fn list_members_reads_both_documented_spellings() {
    let sim = common::simulator(common::small_sim()).await;
    let client = client_from(&settings(&sim));

    let example = client.list_members(EXAMPLE_MEETING_UUID).await.unwrap();
    assert_eq!(example.meeting_code.as_deref(), Some("12345678"));
    assert_eq!(example.create_date, Some(123_321_321_342));
    assert_eq!(example.members.len(), 2);
    assert_eq!(example.members[0].begin_time.as_deref(), Some("1989123913"));

    let table = client.list_members(TABLE_MEETING_UUID).await.unwrap();
    assert_eq!(table.meeting_code.as_deref(), Some("00420042"));
    assert!(table.create_date.is_some());
    let joins = table
        .members
        .iter()
        .filter(|m| m.user_id.as_deref() == Some("u-101"))
        .count();
    assert_eq!(joins, 2, "a member who joined twice has two records");
    assert!(table.members.iter().any(|m| m.end_time.is_none()));

    let err = client.list_members("no-such-meeting").await.unwrap_err();
    assert!(
        matches!(err, AliyunError::Business { error_code, .. } if error_code == error_codes::MEETING_NOT_FOUND),
        "{err:?}"
    );
    sim.stop().await;
}

#[tokio::test]
async fn business_errors_are_not_retried() {
    let sim = common::simulator(common::small_sim()).await;
    let client = client_from(&settings(&sim));
    let mut nameless = user("u-9");
    nameless.group_name.clear();
    let err = client.create_user_batch(&[nameless]).await.unwrap_err();
    match &err {
        AliyunError::Business {
            error_code,
            message,
            request_id,
            ..
        } => {
            assert_eq!(*error_code, error_codes::MISSING_USER_FIELD);
            assert!(message.contains("groupName"), "{message}");
            assert!(request_id.is_some());
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_retryable());
    assert_eq!(client.stats().snapshot().retries, 0);
    assert!(lock(&sim.state.aliyun).users.is_empty());
    sim.stop().await;
}

#[tokio::test]
async fn count_mismatch_and_malformed_user_info_are_rejected() {
    let sim = common::simulator(common::small_sim()).await;
    let one = r#"[{"userId":"u-1","userName":"a","groupId":"g","groupName":"G"}]"#;

    let (status, body) = raw(
        &sim,
        "CreateUser",
        &[("UserInfo", one), ("Count", "2")],
        "n-1",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["Success"], false);
    assert_eq!(body["ErrorCode"], error_codes::COUNT_MISMATCH);

    let (status, body) = raw(
        &sim,
        "CreateUser",
        &[("UserInfo", "[{"), ("Count", "1")],
        "n-2",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["ErrorCode"], error_codes::MALFORMED_USER_INFO);

    let (status, body) = raw(&sim, "CreateUser", &[("UserInfo", one)], "n-3").await;
    assert_eq!(status, 400);
    assert_eq!(body["Code"], "MissingParameter");
    assert!(body["Message"].as_str().unwrap().contains("Count"));

    let (status, body) = raw(
        &sim,
        "CreateUser",
        &[("UserInfo", one), ("Count", "1")],
        "n-4",
    )
    .await;
    assert_eq!((status, &body["Success"]), (200, &Value::Bool(true)));
    assert_eq!(lock(&sim.state.aliyun).users.len(), 1);
    sim.stop().await;
}

#[tokio::test]
async fn nonce_replay_is_rejected() {
    let sim = common::simulator(common::small_sim()).await;
    let body = [("UserId", "u-1")];
    let (first, _) = raw(&sim, "GetUser", &body, "same-nonce").await;
    assert_eq!(first, 200);
    let (second, answer) = raw(&sim, "GetUser", &body, "same-nonce").await;
    assert_eq!(second, 400);
    assert_eq!(answer["Code"], "SignatureNonceUsed");
    for key in ["RequestId", "HostId", "Message", "Recommend"] {
        assert!(answer[key].is_string(), "{key} in {answer}");
    }
    sim.stop().await;
}

#[tokio::test]
async fn wrong_secret_is_a_signature_mismatch_and_not_retried() {
    let sim = common::simulator(common::small_sim()).await;
    let secret = "not-the-right-secret-4711";
    let client = client_from(&AliyunSettings {
        access_key_secret: Some(SecretString::from(secret)),
        ..settings(&sim)
    });
    let err = client.get_user("u-1").await.unwrap_err();
    assert!(matches!(err, AliyunError::SignatureMismatch(_)), "{err:?}");
    assert_eq!(err.code().as_deref(), Some("SignatureDoesNotMatch"));
    assert!(!err.is_retryable());
    assert_eq!(sim.state.requests("aliyun", Some("GetUser"), None), 1);
    assert_eq!(client.stats().snapshot().retries, 0);

    for shown in [
        format!("{client:?}"),
        format!("{err}"),
        format!("{err:?}"),
        format!("{:?}", settings(&sim)),
    ] {
        assert!(!shown.contains(secret), "{shown}");
        assert!(!shown.contains(SIM_ACCESS_KEY_SECRET), "{shown}");
    }
    sim.stop().await;
}

#[tokio::test]
async fn unknown_access_key_is_reported() {
    let sim = common::simulator(common::small_sim()).await;
    let client = client_from(&AliyunSettings {
        access_key_id: Some("LTAI-unknown".into()),
        ..settings(&sim)
    });
    let err = client.get_user("u-1").await.unwrap_err();
    assert!(matches!(err, AliyunError::AccessKeyNotFound(_)), "{err:?}");
    assert_eq!(err.status(), Some(404));
    sim.stop().await;
}

#[tokio::test]
async fn clock_skew_beyond_fifteen_minutes_names_the_clock() {
    let sim = common::simulator(common::small_sim()).await;
    let client = client_from(&settings(&sim));
    for skew in [16 * 60, -16 * 60] {
        sim.state.clock_skew.store(skew, Ordering::Relaxed);
        let err = client.get_user("u-1").await.unwrap_err();
        assert!(matches!(err, AliyunError::TimestampExpired(_)), "{err:?}");
        assert!(err.to_string().contains("clock"), "{err}");
        assert!(!err.is_retryable());
    }
    // Within the window the same client is fine.
    sim.state.clock_skew.store(10 * 60, Ordering::Relaxed);
    let absent = client.get_user("u-1").await.unwrap_err();
    assert!(matches!(absent, AliyunError::Business { .. }), "{absent:?}");
    sim.stop().await;
}

#[tokio::test]
async fn throttling_is_retried_until_success() {
    let sim = common::simulator(common::small_sim()).await;
    let client = client_from(&settings(&sim));
    sim.state.faults().aliyun_throttle_next = 2;
    client.create_user_batch(&[user("u-1")]).await.unwrap();
    let stats = client.stats().snapshot();
    // `calls` counts HTTP requests, as the CloudRoom client does.
    assert_eq!((stats.calls, stats.retries, stats.failures), (3, 2, 0));
    assert_eq!(
        sim.state.requests("aliyun", Some("CreateUser"), Some(429)),
        2
    );
    assert_eq!(
        sim.state.requests("aliyun", Some("CreateUser"), Some(200)),
        1
    );
    sim.stop().await;
}

#[tokio::test]
async fn server_errors_are_retried_within_the_budget() {
    let sim = common::simulator(common::small_sim()).await;
    let client = client_from(&settings(&sim));
    sim.state.faults().fail_next = 1;
    let meeting = client.list_members(EXAMPLE_MEETING_UUID).await.unwrap();
    assert_eq!(meeting.members.len(), 2);
    assert_eq!(client.stats().snapshot().retries, 1);

    // More failures than retries: the last server error comes back.
    sim.state.faults().fail_next = 10;
    let err = client.get_user("u-1").await.unwrap_err();
    assert!(matches!(err, AliyunError::Server(_)), "{err:?}");
    assert_eq!(err.code().as_deref(), Some("InternalError"));
    assert_eq!(sim.state.requests("aliyun", Some("GetUser"), Some(500)), 4);
    sim.stop().await;
}

#[tokio::test]
async fn missing_credentials_are_a_config_error() {
    let sim = common::simulator(common::small_sim()).await;
    let err = AliyunClient::new(&AliyunSettings {
        access_key_secret: None,
        ..settings(&sim)
    })
    .unwrap_err();
    assert!(matches!(err, AliyunError::Config(_)));
    assert!(
        err.to_string().contains("aliyun.access_key_secret"),
        "{err}"
    );
    sim.stop().await;
}

#[tokio::test]
async fn get_with_every_parameter_in_the_query_is_accepted() {
    let sim = common::simulator(common::small_sim()).await;
    let timestamp = signature::format_timestamp(chrono::Utc::now());
    let mut query = to_map(&[("MeetingUUID", EXAMPLE_MEETING_UUID)]);
    query.extend(signed_query(
        "GET",
        "ListMembers",
        &timestamp,
        "g-1",
        &query,
    ));
    let (status, body) = send(&sim, reqwest::Method::GET, &query, &BTreeMap::new()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["MeetingInfo"]["MeetingUUID"], EXAMPLE_MEETING_UUID);
    sim.stop().await;
}

#[tokio::test]
async fn gateway_checks_answer_aliyun_codes() {
    let sim = common::simulator(common::small_sim()).await;
    let now = signature::format_timestamp(chrono::Utc::now());
    let body = to_map(&[("UserId", "u-1")]);
    let post = reqwest::Method::POST;

    let mut query = signed_query("POST", "GetUser", &now, "c-1", &body);
    query.remove("Signature");
    let (status, answer) = send(&sim, post.clone(), &query, &body).await;
    assert_eq!(
        (status, answer["Code"].as_str()),
        (400, Some("MissingSignature"))
    );

    let query = signed_query("POST", "GetUser", "2024/01/02 03:04:05", "c-2", &body);
    let (status, answer) = send(&sim, post.clone(), &query, &body).await;
    assert_eq!(
        (status, answer["Code"].as_str()),
        (400, Some("InvalidTimeStamp.Format"))
    );

    let query = signed_query("POST", "NoSuchAction", &now, "c-3", &body);
    let (status, answer) = send(&sim, post.clone(), &query, &body).await;
    assert_eq!(
        (status, answer["Code"].as_str()),
        (404, Some("InvalidAction.NotFound"))
    );

    // Changing a signed body parameter breaks the signature.
    let query = signed_query("POST", "GetUser", &now, "c-4", &body);
    let tampered = to_map(&[("UserId", "u-2")]);
    let (status, answer) = send(&sim, post, &query, &tampered).await;
    assert_eq!(
        (status, answer["Code"].as_str()),
        (400, Some("SignatureDoesNotMatch"))
    );
    assert_eq!(sim.state.requests("aliyun", Some("unknown"), Some(404)), 1);
    sim.stop().await;
}

/// Collects what the fmt subscriber writes, for inspecting logs in a test.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Tracing's callsite cache is process-wide, and other tests' subscribers
/// come and go beside this one's: the captured logs are checked alone.
#[test]
fn each_call_has_a_span_and_logs_never_hold_the_secret() {
    common::run_alone("aliyun_client::each_call_has_a_span_and_logs_never_hold_the_secret_alone");
}

#[tokio::test]
#[ignore = "run in its own process by each_call_has_a_span_and_logs_never_hold_the_secret"]
async fn each_call_has_a_span_and_logs_never_hold_the_secret_alone() {
    use tracing_subscriber::fmt::format::FmtSpan;
    let sim = common::simulator(common::small_sim()).await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // #[tokio::test] runs on this thread, so a thread-local default covers it.
    let _guard = tracing::subscriber::set_default(subscriber);

    let client = client_from(&settings(&sim));
    client.create_user_batch(&[user("u-1")]).await.unwrap();
    sim.state.faults().aliyun_throttle_next = 1;
    assert!(client.get_user("u-1").await.unwrap().is_some());
    let wrong = client_from(&AliyunSettings {
        access_key_secret: Some(SecretString::from("wrong-secret-0815")),
        ..settings(&sim)
    });
    wrong.get_user("u-1").await.unwrap_err();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("aliyun_call"), "{logs}");
    assert!(
        logs.contains("endpoint=\"GetUser\"") || logs.contains("endpoint=GetUser"),
        "{logs}"
    );
    assert!(
        logs.contains("code=\"SignatureDoesNotMatch\"")
            || logs.contains("code=SignatureDoesNotMatch"),
        "{logs}"
    );
    assert!(logs.contains("latency_ms="), "{logs}");
    assert!(logs.contains("request_id="), "{logs}");
    assert!(!logs.contains(SIM_ACCESS_KEY_SECRET), "{logs}");
    assert!(!logs.contains("wrong-secret-0815"), "{logs}");
    sim.stop().await;
}

/// The document does not say how GetUser answers for a user that does not
/// exist; the client says "absent" only for the reading that says so in the
/// document's own terms (Success=true, no UserInfo), never from a message.
#[tokio::test]
async fn an_absent_user_is_none_only_when_cvc_says_success_without_one() {
    use confsync_sim::aliyun::AbsentUser;
    for reading in [AbsentUser::Error, AbsentUser::ErrorZh, AbsentUser::Empty] {
        let sim = common::simulator(confsync_sim::SimConfig {
            aliyun_absent_user: reading,
            ..common::small_sim()
        })
        .await;
        let client = client_from(&settings(&sim));
        // The document names no code or message for a missing user: a
        // Success=false answer stays an error, whatever its message says.
        match (reading, client.get_user("nobody").await) {
            (AbsentUser::Empty, Ok(None)) => {}
            (AbsentUser::Error | AbsentUser::ErrorZh, Err(AliyunError::Business { .. })) => {}
            (_, other) => panic!("{reading:?}: {other:?}"),
        }
        client.create_user_batch(&[user("u-1")]).await.unwrap();
        assert!(
            client.get_user("u-1").await.unwrap().is_some(),
            "{reading:?}"
        );
        sim.stop().await;
    }
}
