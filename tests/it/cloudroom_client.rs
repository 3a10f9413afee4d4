//! The CloudRoom client over real HTTP against the in-process simulator.
//!
//! Each test runs its own simulator with its own secretId, so that the
//! process-wide per-secretId limiter is not shared between tests.

use crate::common;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use confsync::cloudroom::{
    CloudRoomClient, CloudRoomError, CreateCompany, CreateConference, CreateUser,
    DepartmentRequest, JoinConference, ListQuery, OrderConfig, UpdateCompany, UpdateConference,
    UpdateUser,
};
use confsync::configuration::{CloudRoomSettings, Settings};
use confsync::retry::Backoff;
use confsync_sim::cloudroom::{PLATFORM_SECRET_ID, PLATFORM_SECRET_KEY};
use confsync_sim::rate::RateFlags;
use confsync_sim::{RunningSimulator, SimConfig};
use secrecy::SecretString;

const VENDOR: &str = "cloudroom";

struct Setup {
    sim: RunningSimulator,
    id: String,
    key: String,
}

impl Setup {
    fn settings(&self, requests_per_minute: u32) -> CloudRoomSettings {
        let mut s = Settings::default().cloudroom;
        s.base_url = self.sim.cloudroom_base_url();
        s.secret_id = Some(self.id.clone());
        s.secret_key = Some(SecretString::from(self.key.clone()));
        s.requests_per_minute = Some(requests_per_minute);
        s.timeout_seconds = 5;
        s
    }

    fn client(&self) -> CloudRoomClient {
        CloudRoomClient::new(&self.settings(6000))
            .expect("client")
            .with_backoff(fast_backoff(5))
    }

    fn with_key(&self, id: &str, key: &str) -> CloudRoomClient {
        let mut s = self.settings(6000);
        s.secret_id = Some(id.into());
        s.secret_key = Some(SecretString::from(key.to_string()));
        CloudRoomClient::new(&s)
            .expect("client")
            .with_backoff(fast_backoff(5))
    }

    fn requests(&self, endpoint: &str, status: Option<u16>) -> u64 {
        self.sim.state.requests(VENDOR, Some(endpoint), status)
    }
}

fn fast_backoff(max_retries: u32) -> Backoff {
    Backoff {
        base: Duration::from_millis(20),
        max: Duration::from_millis(200),
        max_retries,
    }
}

/// A simulator whose credentials are unique to the calling test.
async fn setup_with(config: SimConfig) -> Setup {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let id = format!("t{}", &tag[..17]);
    let key = format!("key-{tag}");
    let sim = common::simulator(SimConfig {
        secret_id: id.clone(),
        secret_key: key.clone(),
        ..config
    })
    .await;
    Setup { sim, id, key }
}

async fn setup() -> Setup {
    setup_with(common::small_sim()).await
}

fn assert_no_secret(text: &str, key: &str) {
    assert!(!text.contains(key), "secret leaked: {text}");
}

#[tokio::test]
async fn every_endpoint_once() {
    let s = setup().await;
    let c = s.client();

    let created = c
        .create_conference(&CreateConference {
            subject: "confsync client test".into(),
            password: Some("1234".into()),
            ..CreateConference::default()
        })
        .await
        .expect("conference.create");
    let conf_id = created.conf_id;
    c.update_conference(
        conf_id,
        &UpdateConference {
            subject: Some("renamed".into()),
            ..UpdateConference::default()
        },
    )
    .await
    .expect("conference.update");
    let detail = c.get_conference(conf_id).await.expect("conference.get");
    assert_eq!(detail.conf_id, Some(conf_id));
    assert_eq!(detail.subject.as_deref(), Some("renamed"));
    assert!(detail.raw.is_object());
    let joined = c
        .join_conference(
            conf_id,
            &JoinConference {
                nick_name: "tester".into(),
                password: Some("1234".into()),
                ..JoinConference::default()
            },
        )
        .await
        .expect("conference.join");
    assert!(joined.crmt.starts_with("CRMT:"), "{}", joined.crmt);

    let list = c
        .list_conferences(&ListQuery::page(1, 100))
        .await
        .expect("conference.list");
    assert!(list.total >= 1);
    assert!(!list.records.is_empty());
    assert!(list.records.iter().all(|r| r.raw.is_object()));

    let history = c
        .list_history(&ListQuery::page(1, 20))
        .await
        .expect("conference.history");
    assert!(history.total > 0, "{history:?}");
    assert_eq!(history.records.len(), 20);
    assert!(history.remaining);

    let ended = history.records[0].conf_id.expect("history confId");
    let videos = c
        .list_videos(ended, &ListQuery::page(1, 20))
        .await
        .expect("video.list");
    let file_id = videos
        .records
        .first()
        .and_then(|v| v.file_id.clone())
        .expect("a recording of an ended meeting");
    assert!(videos.records[0].raw.is_object());
    c.delete_video(&file_id).await.expect("video.delete");

    // Ending moves a meeting into history, so deletion needs a second one.
    c.end_conference(conf_id).await.expect("conference.end");
    let doomed = c
        .create_conference(&CreateConference {
            subject: "to be deleted".into(),
            ..CreateConference::default()
        })
        .await
        .expect("second conference.create");
    c.delete_conference(doomed.conf_id)
        .await
        .expect("conference.delete");

    let dept = c
        .create_department(&DepartmentRequest {
            name: "engineering".into(),
            parent_id: 1,
        })
        .await
        .expect("department.create");
    let dept_id = dept.department_id.expect("departmentId");
    let renamed = c
        .update_department(
            dept_id,
            &DepartmentRequest {
                name: "platform".into(),
                parent_id: 1,
            },
        )
        .await
        .expect("department.update");
    assert_eq!(renamed.name.as_deref(), Some("platform"));

    let user = c
        .create_user(&CreateUser {
            account: "alice@example.com".into(),
            password: SecretString::from("initial-pw"),
            name: "Alice".into(),
            mobile: None,
            department_id: Some(dept_id),
            role_type: Some(3),
            email: Some("alice@example.com".into()),
        })
        .await
        .expect("user.create");
    assert_eq!(user.account.as_deref(), Some("alice@example.com"));
    c.update_user(
        "alice@example.com",
        &UpdateUser {
            name: Some("Alice B.".into()),
            ..UpdateUser::default()
        },
    )
    .await
    .expect("user.update");
    c.delete_user("alice@example.com")
        .await
        .expect("user.delete");
    c.delete_department(dept_id)
        .await
        .expect("department.delete");

    let platform = CloudRoomClient::for_platform(
        &s.settings(6000),
        PLATFORM_SECRET_ID,
        SecretString::from(PLATFORM_SECRET_KEY),
    )
    .expect("platform client");
    let company = platform
        .create_company(&CreateCompany {
            comp_guid: "confsync-test-guid".into(),
            comp_name: "测试CompName".into(),
            admin: "admin@example.com".into(),
            admin_name: "测试01".into(),
            admin_pwd: SecretString::from("admin-pw"),
        })
        .await
        .expect("company.create");
    assert_eq!(company.comp_guid.as_deref(), Some("confsync-test-guid"));
    platform
        .update_company(
            "confsync-test-guid",
            &UpdateCompany {
                comp_name: "renamed".into(),
            },
        )
        .await
        .expect("company.update");
    platform
        .delete_company("confsync-test-guid")
        .await
        .expect("company.delete");

    let stats = c.stats().snapshot();
    assert_eq!(stats.by_endpoint.get("conference.create"), Some(&2));
    assert_eq!(s.requests("conference.create", Some(200)), 2);
    for label in [
        "conference.update",
        "conference.get",
        "conference.join",
        "conference.end",
        "conference.delete",
        "conference.list",
        "conference.history",
        "video.list",
        "video.delete",
        "user.create",
        "user.update",
        "user.delete",
        "department.create",
        "department.update",
        "department.delete",
    ] {
        assert_eq!(stats.by_endpoint.get(label), Some(&1), "{label}: {stats:?}");
        assert_eq!(s.requests(label, Some(200)), 1, "{label}");
    }
    for label in ["company.create", "company.update", "company.delete"] {
        assert_eq!(platform.stats().endpoint_calls(label), 1, "{label}");
        assert_eq!(s.requests(label, Some(200)), 1, "{label}");
    }
    assert_eq!(stats.calls, 17);
    assert_eq!(stats.retries, 0);
}

#[tokio::test]
async fn bad_key_is_22005_and_not_retried() {
    let s = setup().await;
    let c = s.with_key(&s.id, "definitely-not-the-key");
    let e = c.list_conferences(&ListQuery::default()).await.unwrap_err();
    assert_eq!(e.code(), Some(22005), "{e}");
    assert!(e.is_auth() && !e.is_retryable());
    assert!(e.to_string().contains("X-CR-Signature"), "{e}");
    assert_eq!(s.requests("conference.list", Some(400)), 1);
    assert_eq!(s.requests("conference.list", None), 1);
    assert_eq!(c.stats().calls(), 1);
    assert_eq!(c.stats().retries(), 0);
    assert_no_secret(&format!("{e} {e:?}"), "definitely-not-the-key");
}

#[tokio::test]
async fn unknown_secret_id_is_22006() {
    let s = setup().await;
    let c = s.with_key("no-such-enterprise", &s.key);
    let e = c.get_conference(12_345_678).await.unwrap_err();
    assert_eq!(e.code(), Some(22006), "{e}");
    assert!(e.is_auth());
    assert_eq!(s.requests("conference.get", None), 1);
    assert_no_secret(&format!("{e} {e:?}"), &s.key);
}

#[tokio::test]
async fn clock_skew_is_22004_naming_the_clock() {
    let s = setup().await;
    s.sim.state.clock_skew.store(6 * 60, Ordering::Relaxed);
    let c = s.client();
    let e = c.list_history(&ListQuery::page(1, 20)).await.unwrap_err();
    assert_eq!(e.code(), Some(22004), "{e}");
    assert!(e.is_auth() && !e.is_retryable());
    let text = e.to_string();
    assert!(text.contains("local clock"), "{text}");
    assert!(text.contains("5 minutes"), "{text}");
    assert_eq!(s.requests("conference.history", None), 1);

    // Within the 5-minute tolerance the same client works again.
    s.sim.state.clock_skew.store(4 * 60, Ordering::Relaxed);
    c.list_history(&ListQuery::page(1, 20))
        .await
        .expect("skew within tolerance");
}

#[tokio::test]
async fn business_errors_carry_code_and_explanation() {
    let s = setup().await;
    let c = s.client();

    let e = c.get_conference(1).await.unwrap_err();
    assert_eq!(e.code(), Some(22201), "{e}");
    assert!(matches!(
        e,
        CloudRoomError::Business {
            http_status: 500,
            ..
        }
    ));
    assert!(!e.is_retryable() && !e.is_auth());
    assert_eq!(e.explanation(), Some("conference not found"));

    let e = c.delete_video("no-such-recording").await.unwrap_err();
    assert_eq!(e.code(), Some(21030), "{e}");
    assert!(e.to_string().contains("recording not found"), "{e}");

    let start = 1_700_000_000;
    let e = c
        .list_history(&ListQuery {
            start_time: Some(start),
            end_time: Some(start + 400 * 86_400),
            ..ListQuery::page(1, 20)
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(22236), "{e}");
    assert!(e.to_string().contains("one year"), "{e}");

    // Business errors are never retried.
    assert_eq!(c.stats().retries(), 0);
    assert_eq!(c.stats().calls(), 3);
}

#[tokio::test]
async fn internal_errors_are_retried_with_fresh_requests() {
    let s = setup().await;
    let c = s.client();
    s.sim.state.faults().fail_next = 2;
    let page = c
        .list_history(&ListQuery::page(1, 20))
        .await
        .expect("third attempt succeeds");
    assert_eq!(page.records.len(), 20);
    assert_eq!(s.requests("conference.history", None), 3);
    assert_eq!(s.requests("conference.history", Some(500)), 2);
    assert_eq!(c.stats().calls(), 3);
    assert_eq!(c.stats().retries(), 2);
}

#[tokio::test]
async fn rate_limited_answers_are_retried() {
    let s = setup().await;
    let c = s.client();
    s.sim.state.faults().cloudroom_429_next = 1;
    c.list_conferences(&ListQuery::page(1, 20))
        .await
        .expect("retried after 429");
    assert_eq!(s.requests("conference.list", Some(429)), 1);
    assert_eq!(s.requests("conference.list", Some(200)), 1);
    let stats = c.stats();
    assert_eq!(stats.rate_limited(), 1);
    assert_eq!(stats.retries(), 1);
    assert_eq!(stats.calls(), 2);
}

#[tokio::test]
async fn retries_stop_at_max_retries() {
    let s = setup().await;
    let c = s.client().with_backoff(fast_backoff(2));
    s.sim.state.faults().fail_next = 10;
    let e = c.list_conferences(&ListQuery::default()).await.unwrap_err();
    assert_eq!(e.code(), Some(500), "{e}");
    assert!(e.is_retryable());
    assert_eq!(s.requests("conference.list", None), 3);
    assert_eq!(c.stats().retries(), 2);
}

/// The server under the document's reading (5 per sliding minute on the
/// list endpoints, here), a client with the same budget.
async fn list_limit_of_five() -> Setup {
    setup_with(SimConfig {
        rate: RateFlags {
            list_requests_per_minute: 5,
            ..RateFlags::default()
        },
        ..common::small_sim()
    })
    .await
}

#[tokio::test]
async fn a_list_budget_goes_at_once_then_waits_for_the_window_without_a_429() {
    let s = list_limit_of_five().await;
    let c = CloudRoomClient::new(&s.settings(5)).expect("client");
    let started = Instant::now();
    for _ in 0..5 {
        c.list_conferences(&ListQuery::page(1, 20))
            .await
            .expect("within budget");
    }
    // Not paced: the whole budget goes at once.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The sixth waits for the window to slide instead of being sent.
    let sixth = tokio::time::timeout(
        Duration::from_secs(2),
        c.list_conferences(&ListQuery::page(1, 20)),
    )
    .await;
    assert!(sixth.is_err(), "the sixth call did not wait");
    assert_eq!(s.sim.state.requests(VENDOR, None, None), 5);
    assert_eq!(s.sim.state.requests(VENDOR, None, Some(429)), 0);
    // Other endpoints have no budget of their own.
    for _ in 0..20 {
        c.list_videos(1, &ListQuery::page(1, 20)).await.ok();
    }
    assert_eq!(s.sim.state.requests(VENDOR, None, Some(429)), 0);
}

#[tokio::test]
async fn clients_of_one_secret_id_share_one_budget() {
    let s = list_limit_of_five().await;
    let a = CloudRoomClient::new(&s.settings(5)).expect("client a");
    let b = CloudRoomClient::new(&s.settings(5)).expect("client b");
    assert!(Arc::ptr_eq(&a.budgets(), &b.budgets()));
    let run = |c: CloudRoomClient| async move {
        for _ in 0..3 {
            c.list_conferences(&ListQuery::page(1, 20))
                .await
                .expect("within budget");
        }
    };
    // Six calls through one budget of five: one waits for the window.
    let both = tokio::time::timeout(Duration::from_secs(2), async {
        tokio::join!(run(a.clone()), run(b.clone()))
    })
    .await;
    assert!(both.is_err(), "six calls fitted a budget of five");
    assert_eq!(s.sim.state.requests(VENDOR, None, None), 5);
    assert_eq!(s.sim.state.requests(VENDOR, None, Some(429)), 0);
}

#[tokio::test]
async fn timeouts_are_retried() {
    let s = setup_with(SimConfig {
        latency_ms: 1_500,
        ..common::small_sim()
    })
    .await;
    let mut settings = s.settings(6000);
    settings.timeout_seconds = 1;
    let c = CloudRoomClient::new(&settings)
        .expect("client")
        .with_backoff(fast_backoff(1));
    let e = c.list_conferences(&ListQuery::default()).await.unwrap_err();
    assert!(matches!(e, CloudRoomError::Timeout { .. }), "{e:?}");
    assert!(e.is_retryable());
    assert_eq!(c.stats().calls(), 2);
    assert_eq!(c.stats().retries(), 1);
}

#[tokio::test]
async fn refused_connections_are_connect_errors() {
    // Bind then drop a listener so the port is very likely closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut settings = Settings::default().cloudroom;
    settings.base_url = format!("http://127.0.0.1:{port}/CLOUDROOM-SERVER");
    settings.secret_id = Some(format!("refused-{port}"));
    settings.secret_key = Some(SecretString::from("refused-secret-key"));
    let c = CloudRoomClient::new(&settings)
        .expect("client")
        .with_backoff(fast_backoff(1));
    let e = c.end_conference(1).await.unwrap_err();
    assert!(matches!(e, CloudRoomError::Connect { .. }), "{e:?}");
    assert_eq!(c.stats().retries(), 1);
    assert_no_secret(&format!("{e} {e:?}"), "refused-secret-key");
}

#[tokio::test]
async fn secrets_never_appear_in_debug_or_errors() {
    let s = setup().await;
    let settings = s.settings(6000);
    let c = s.client();
    assert_no_secret(&format!("{settings:?}"), &s.key);
    assert_no_secret(&format!("{c:?}"), &s.key);

    let mut errors = vec![
        c.get_conference(1).await.unwrap_err(),
        c.delete_video("missing").await.unwrap_err(),
    ];
    s.sim.state.clock_skew.store(3_600, Ordering::Relaxed);
    errors.push(c.end_conference(1).await.unwrap_err());
    s.sim.state.clock_skew.store(0, Ordering::Relaxed);
    errors.push(
        s.with_key(&s.id, "wrong")
            .get_conference(1)
            .await
            .unwrap_err(),
    );
    let mut missing = settings.clone();
    missing.secret_id = None;
    errors.push(CloudRoomClient::new(&missing).unwrap_err());
    for e in &errors {
        assert_no_secret(&format!("{e} | {e:?}"), &s.key);
    }
}

/// Collects formatted tracing output so the test can read it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Tracing's callsite cache is process-wide, and other tests' subscribers
/// come and go beside this one's: the captured logs are checked alone.
#[test]
fn traces_one_span_per_call_without_secrets() {
    common::run_alone("cloudroom_client::traces_one_span_per_call_without_secrets_alone");
}

#[tokio::test]
#[ignore = "run in its own process by traces_one_span_per_call_without_secrets"]
async fn traces_one_span_per_call_without_secrets_alone() {
    let s = setup().await;
    let c = s.client();
    c.list_conferences(&ListQuery::page(1, 1))
        .await
        .expect("warm-up");
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Tests run in parallel threads: another test registering the span's
    // callsite while this scoped subscriber is being installed can cache
    // "nobody is interested". The warm-up call above registered it already;
    // rebuilding now sees this subscriber.
    tracing::callsite::rebuild_interest_cache();

    s.sim.state.faults().fail_next = 1;
    c.list_conferences(&ListQuery::page(1, 20))
        .await
        .expect("retried once");

    let text = String::from_utf8_lossy(&captured.0.lock().unwrap()).to_string();
    assert!(text.contains("cloudroom_call"), "{text}");
    assert!(text.contains("conference.list"), "{text}");
    assert!(text.contains("retrying CloudRoom call"), "{text}");
    assert!(text.contains("status=200"), "{text}");
    assert!(text.contains("attempts=2"), "{text}");
    assert!(text.contains("request_id="), "{text}");
    assert!(text.contains("latency_ms="), "{text}");
    assert_no_secret(&text, &s.key);
}

#[tokio::test]
async fn create_with_schedule_round_trips_through_detail_times() {
    let s = setup().await;
    let c = s.client();
    let start = s.sim.state.now() + 86_400;
    let start = start - start.rem_euclid(60);
    let created = c
        .create_conference(&CreateConference {
            subject: "scheduled".into(),
            order_config: Some(OrderConfig {
                schedule_time: Some(start),
                schedule_end_time: Some(start + 3_600),
                period_type: Some(0),
                period_end_time: None,
            }),
            ..CreateConference::default()
        })
        .await
        .expect("create scheduled");
    let detail = c.get_conference(created.conf_id).await.expect("detail");
    let order = detail.order_config.expect("orderConfig");
    assert_eq!(order.schedule_time.map(|t| t.timestamp()), Some(start));
    assert_eq!(
        order.schedule_end_time.map(|t| t.timestamp()),
        Some(start + 3_600)
    );
}
