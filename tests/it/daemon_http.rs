//! `/healthz` and `/metrics` of a running daemon.

use crate::common;
use crate::common::daemon as daemon_helpers;

use std::time::Duration;

use confsync::daemon::{self, http::HealthState};
use daemon_helpers::{daemon_settings, get, runs, wait_for, SHUTDOWN};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_200_until_a_job_fails_too_often_in_a_row() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let mut settings = daemon_settings(&sim, &db);
    // Scheduled, but not due during the test.
    settings.schedule.history = "0 0 3 1 1 *".into();
    settings.health.max_consecutive_failures = 2;
    let running = confsync::app::start_daemon(settings).await.unwrap();
    let url = format!("http://{}/healthz", running.http_addr());

    let (status, body) = get(&url).await;
    assert_eq!(status, 200, "{body}");
    for probe in ["livez", "readyz"] {
        let (status, body) = get(&format!("http://{}/{probe}", running.http_addr())).await;
        assert_eq!((status, body.as_str()), (200, "ok\n"), "{probe}");
    }
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], "ok");
    assert_eq!(health["jobs"][0]["job"], "history");
    assert_eq!(health["jobs"][0]["consecutive_failures"], 0);

    let record = |status: &'static str| {
        let pool = db.pool.clone();
        async move {
            sqlx::query("insert into confsync.sync_runs (job, status, finished_at, error) values ('history', $1, now(), 'boom')")
                .bind(status)
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    record("failed").await;
    record("abandoned").await; // neither counts nor breaks the streak
    assert_eq!(get(&url).await.0, 200);
    record("failed").await;
    let (status, body) = get(&url).await;
    assert_eq!(status, 503, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "unhealthy");
    let reason = health["reason"].as_str().unwrap();
    assert!(
        reason.contains("history failed 2 times in a row"),
        "{reason}"
    );

    record("succeeded").await;
    assert_eq!(get(&url).await.0, 200);
    assert!(running.shutdown(SHUTDOWN).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_far_longer_than_its_job_usually_takes_is_named_stuck() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let mut settings = daemon_settings(&sim, &db);
    settings.schedule.history = "0 0 3 1 1 *".into();
    settings.health.stuck_run_after_seconds = 60;
    let running = confsync::app::start_daemon(settings).await.unwrap();
    let url = format!("http://{}/healthz", running.http_addr());
    // Its successful runs took 10 s; one has been running for 30 s (under
    // the 60 s floor), another since 5 minutes (over it and over 4 x 10 s).
    sqlx::query(
        "insert into confsync.sync_runs (job, status, started_at, finished_at) values
            ('history', 'succeeded', now() - interval '1 day', now() - interval '1 day' + interval '10 s'),
            ('history', 'running', now() - interval '30 s', null)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    assert_eq!(get(&url).await.0, 200);
    let stuck: i64 = sqlx::query_scalar(
        "insert into confsync.sync_runs (job, status, started_at) values ('history', 'running', now() - interval '5 minutes') returning id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let (status, body) = get(&url).await;
    assert_eq!(status, 503, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    let reason = health["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("history run {stuck} is stuck")),
        "{reason}"
    );
    assert!(reason.contains("at most 10 s"), "{reason}");
    let (_, metrics) = get(&format!("http://{}/metrics", running.http_addr())).await;
    let series = format!("confsync_run_stuck_seconds{{confsync_job=\"history\",run_id=\"{stuck}\",tenant=\"default\"}}");
    assert!(metrics.contains(&series), "{metrics}");
    assert!(running.shutdown(SHUTDOWN).await);
}

#[tokio::test]
async fn healthz_is_503_when_the_database_does_not_answer() {
    // Nothing listens on port 9 (discard) here.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy("postgres://postgres@127.0.0.1:9/nothing")
        .unwrap();
    let state = HealthState {
        pool,
        jobs: vec![("default".into(), "conferences")],
        max_consecutive_failures: 3,
        stuck_after: Duration::from_secs(3600),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, daemon::http::router(state))
            .await
            .unwrap()
    });
    let (status, body) = get(&format!("http://{addr}/healthz")).await;
    assert_eq!(status, 503, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["database"], "unreachable");
    assert!(
        health["reason"].as_str().unwrap().contains("database"),
        "{body}"
    );
    // Alive, but not ready: the probes tell the two apart.
    let (status, body) = get(&format!("http://{addr}/readyz")).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("database"), "{body}");
    assert_eq!(get(&format!("http://{addr}/livez")).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_runs_rows_calls_durations_and_last_success() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let mut settings = daemon_settings(&sim, &db);
    settings.schedule.conferences = "* * * * * *".into();
    let running = confsync::app::start_daemon(settings).await.unwrap();
    wait_for("a finished run", Duration::from_secs(30), || async {
        runs(&db.pool, "conferences")
            .await
            .iter()
            .any(|r| r.status == "succeeded")
    })
    .await;
    let response = reqwest::get(format!("http://{}/metrics", running.http_addr()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    assert!(running.shutdown(SHUTDOWN).await);
    for expected in [
        "# TYPE confsync_runs_total counter",
        r#"confsync_runs_total{confsync_job="conferences",outcome="succeeded",tenant="default"}"#,
        // Every series of a scheduled job exists from the start.
        r#"confsync_runs_total{confsync_job="conferences",outcome="failed",tenant="default"}"#,
        r#"confsync_rows_total{kind="inserted",table="cloudroom.conferences",tenant="default"}"#,
        r#"confsync_api_calls_total{code="0",endpoint="conference.list",status="200",tenant="default",vendor="cloudroom"}"#,
        r#"confsync_rate_limiter_wait_seconds_total{tenant="default",vendor="cloudroom"}"#,
        "# TYPE confsync_run_duration_seconds histogram",
        r#"confsync_run_duration_seconds_bucket{confsync_job="conferences",le="+Inf"}"#,
        r#"confsync_last_success_timestamp_seconds{confsync_job="conferences",tenant="default"}"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
}
