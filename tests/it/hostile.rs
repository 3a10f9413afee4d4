//! One bad record never stops a mirror: NUL is stored replaced, what cannot
//! be stored is quarantined while the rest is, and run records cannot break.
//! Against the simulator (`--hostile-data` and admin changes) and a real
//! PostgreSQL.

use crate::common;

use confsync::jobs::{self, RunOptions};
use confsync::store::sync_runs::LeaveRunning;
use confsync_sim::SimConfig;
use serde_json::json;

async fn scalar(db: &common::TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

/// Every run of the mirror's three passes: none failed, none running.
async fn assert_runs_clean(db: &common::TestDb) {
    let bad: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "select job, status, error from confsync.sync_runs where status <> 'succeeded'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(bad.is_empty(), "{bad:?}");
}

#[tokio::test]
async fn a_nul_in_a_subject_and_a_title_is_stored_replaced_and_a_rerun_converges() {
    let sim = common::simulator(SimConfig {
        history: 12,
        ..common::small_sim()
    })
    .await;
    let db = common::migrated_db().await;
    let (conf_id, start) = {
        let world = confsync_sim::lock(&sim.state.cloudroom);
        let m = &world.history()[0];
        (m.conf_id, m.start_time)
    };
    let path = format!("/history/{conf_id}/{start}");
    let body = json!({ "subject": "周会\u{0}附件" });
    common::admin(&sim, reqwest::Method::PUT, &path, Some(body)).await;
    let file_id = confsync_sim::lock(&sim.state.cloudroom).recordings()[0]
        .file_id
        .to_string();
    let path = format!("/recordings/{file_id}");
    let body = json!({ "title": "录像\u{0}标题" });
    common::admin(&sim, reqwest::Method::PUT, &path, Some(body)).await;

    let ctx = common::mirror_context(&sim, &db);
    let first = common::run_mirror(&ctx, &RunOptions::default())
        .await
        .unwrap();
    assert!(first.iter().all(|s| s.error.is_none()), "{first:?}");
    assert_runs_clean(&db).await;
    let (subject, original): (String, String) = sqlx::query_as(
        "select subject, raw_original from cloudroom.meeting_history where conf_id = $1 and raw_original is not null",
    )
    .bind(conf_id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(subject, "周会\u{fffd}附件");
    let received: serde_json::Value = serde_json::from_str(&original).unwrap();
    assert_eq!(
        received["subject"], "周会\u{0}附件",
        "the original is recoverable"
    );
    let title: String =
        sqlx::query_scalar("select raw->>'title' from cloudroom.recordings where file_id = $1")
            .bind(&file_id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(title, "录像\u{fffd}标题");

    let again = common::run_mirror(&ctx, &RunOptions::default())
        .await
        .unwrap();
    let rewritten: u64 = again.iter().map(|s| s.rows_inserted + s.rows_updated).sum();
    assert_eq!(rewritten, 0, "{again:?}");
}

#[tokio::test]
async fn hostile_answers_are_stored_or_quarantined_and_nothing_fails() {
    let sim = common::simulator(SimConfig {
        hostile_data: true,
        history: 120,
        recordings_per_conference: 3,
        ..common::small_sim()
    })
    .await;
    let db = common::migrated_db().await;
    let ctx = common::mirror_context(&sim, &db);
    let first = common::run_mirror(&ctx, &RunOptions::default())
        .await
        .unwrap();
    assert!(first.iter().all(|s| s.error.is_none()), "{first:?}");
    assert_runs_clean(&db).await;
    let quarantined: u64 = first.iter().map(|s| s.quarantined).sum();
    assert!(quarantined > 0, "{first:?}");
    let reasons: Vec<(String, String)> = sqlx::query_as(
        "select distinct endpoint, reason from confsync.quarantine where resolved_at is null order by 1, 2",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let has = |endpoint: &str, reason: &str| {
        reasons
            .iter()
            .any(|(e, r)| e == endpoint && r.contains(reason))
    };
    assert!(has("video.list", "twice"), "a fileId twice: {reasons:?}");
    assert!(
        has("video.list", "null") || has("conference.history", "null"),
        "{reasons:?}"
    );
    assert!(has("conference.history", "no confId"), "{reasons:?}");
    // Everything else arrived: every history meeting with a confId is stored.
    let stored = scalar(&db, "select count(*) from cloudroom.meeting_history").await;
    assert!(stored >= 100, "{stored} of 120 meetings stored");
    let recorded = "select count(*) from confsync.sync_runs where quarantined > 0";
    assert!(scalar(&db, recorded).await > 0);

    let open = "select count(*) from confsync.quarantine where resolved_at is null";
    let open_before = scalar(&db, open).await;
    let again = common::run_mirror(&ctx, &RunOptions::default())
        .await
        .unwrap();
    let rewritten: u64 = again.iter().map(|s| s.rows_inserted + s.rows_updated).sum();
    assert_eq!(rewritten, 0, "{again:?}");
    assert_eq!(
        scalar(&db, open).await,
        open_before,
        "the same records, held once"
    );
    assert_runs_clean(&db).await;
}

#[tokio::test]
async fn a_record_fixed_at_the_vendor_is_stored_and_its_quarantine_closed() {
    let sim = common::simulator(SimConfig {
        history: 12,
        ..common::small_sim()
    })
    .await;
    let db = common::migrated_db().await;
    let ctx = common::mirror_context(&sim, &db);
    common::run_mirror(&ctx, &RunOptions::default())
        .await
        .unwrap();
    // Hold one recording by hand, as a run that met it twice would have.
    let file_id = confsync_sim::lock(&sim.state.cloudroom).recordings()[0]
        .file_id
        .to_string();
    sqlx::query(
        "insert into confsync.quarantine (tenant, job, endpoint, record_key, raw, reason)
         values ('default', 'recordings', 'video.list', $1, '{}', 'the same key twice in one answer')",
    )
    .bind(&file_id)
    .execute(&db.pool)
    .await
    .unwrap();
    let full = RunOptions {
        full: true,
        ..RunOptions::default()
    };
    common::run_job(&ctx, &jobs::Recordings, &full)
        .await
        .unwrap();
    let open = "select count(*) from confsync.quarantine where resolved_at is null";
    assert_eq!(scalar(&db, open).await, 0);
}

/// A CloudRoom that answers every request with a message holding NUL and
/// newlines (a forged log line).
async fn hostile_message_server() -> String {
    let app = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            [("content-type", "application/json")],
            "{\"code\":22233,\"msg\":\"bad\\u0000\\n2026-12-05T00:00:00Z  INFO forged line\\r\\n\"}",
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/CLOUDROOM-SERVER")
}

#[tokio::test]
async fn a_vendor_message_with_nul_and_newlines_fails_the_run_in_one_line() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let mut settings = common::settings_for(&sim, &db);
    settings.cloudroom.base_url = hostile_message_server().await;
    let ctx = common::job_context(settings, &db);
    let summary = common::run_job(&ctx, &jobs::Conferences, &RunOptions::default())
        .await
        .unwrap();
    let shown = summary.error.clone().unwrap();
    let (status, recorded): (String, String) =
        sqlx::query_as("select status, error from confsync.sync_runs")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(status, "failed");
    for text in [&shown, &recorded] {
        assert!(
            !text.contains('\n') && !text.contains('\r') && !text.contains('\0'),
            "{text:?}"
        );
        assert!(text.contains("bad\\0\\n2026-12-05"), "{text:?}");
    }
}

#[tokio::test]
async fn a_run_whose_end_cannot_be_written_is_failed_not_left_running() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    // The run's end, as the run saw it (with its page count), is refused.
    sqlx::raw_sql(
        "create function refuse_end() returns trigger language plpgsql as $$
         begin raise exception 'the disk is full'; end $$;
         create trigger refuse_end before update on confsync.sync_runs
            for each row when (new.pages > 0) execute function refuse_end();",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let ctx = common::mirror_context(&sim, &db);
    let outcome = jobs::run_job(&ctx, &jobs::Conferences, &RunOptions::default()).await;
    assert!(outcome.is_ok(), "{outcome:?}");
    let (status, error): (String, String) =
        sqlx::query_as("select status, error from confsync.sync_runs")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(status, "failed");
    assert!(
        error.contains("could not be recorded after 3 attempts"),
        "{error}"
    );
    assert!(error.contains("the disk is full"), "{error}");
}

#[tokio::test]
async fn a_run_taken_over_too_often_is_failed_not_taken_over_again() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let ctx = common::mirror_context(&sim, &db);
    // Scheduled, its heartbeat just past the lease, started and taken over twice.
    let run_id: i64 = sqlx::query_scalar(
        "insert into confsync.sync_runs (job, status, scheduled_for, lease_owner, heartbeat_at, attempts)
         values ('history', 'running', now(), 'gone/1/0001', now() - interval '1 minute', 3) returning id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let stale = confsync::store::sync_runs::stale_runs(&db.pool, &["default".into()], ctx.lease)
        .await
        .unwrap();
    assert!(stale.iter().all(|r| !r.resumable), "{stale:?}");
    jobs::lifecycle::clear_stale(&ctx, "history", LeaveRunning::Resumable)
        .await
        .unwrap();
    let (status, error): (String, String) =
        sqlx::query_as("select status, error from confsync.sync_runs where id = $1")
            .bind(run_id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(status, "failed");
    assert!(error.contains("not finished after 3 attempts"), "{error}");
}
