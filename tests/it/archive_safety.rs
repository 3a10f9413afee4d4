//! A recording is deleted from CloudRoom only when the archive holds the
//! file CloudRoom holds now, proven in the same run; no download can hang.
//! Against the simulator's files (each fault of docs/simulator.md) and a
//! real PostgreSQL.

use crate::archive::{archive, file_requests, local, mirrored, scalar, set_fault, with_location};
use crate::common;

use std::time::{Duration, Instant};

use confsync::jobs::{self, JobContext, RunOptions};
use confsync_sim::files::{self, FileFault, FileValidators};
use confsync_sim::{RunningSimulator, SimConfig};
use serde_json::json;

fn deleting(ctx: &JobContext, cap: usize) -> JobContext {
    with_location(ctx, |a| {
        a.delete_from_cloudroom_after = Some("0s".into());
        a.max_deletes_per_run = cap;
    })
}

fn deletes(sim: &RunningSimulator) -> u64 {
    sim.state.requests("cloudroom", Some("video.delete"), None)
}

async fn plan(ctx: &JobContext) -> confsync::archive::ArchivePlan {
    let archive_ctx =
        jobs::archive::context(ctx, ctx.shutdown.clone(), &Default::default()).unwrap();
    confsync::archive::plan(&archive_ctx).await.unwrap()
}

async fn change_recording(sim: &RunningSimulator, file_id: &str, body: serde_json::Value) {
    let path = format!("/recordings/{file_id}");
    common::admin(sim, reqwest::Method::PUT, &path, Some(body)).await;
}

async fn first_file(db: &common::TestDb) -> (String, i64) {
    sqlx::query_as(
        "select file_id, size_bytes from cloudroom.recordings order by created_at, file_id limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

async fn archived_sha(db: &common::TestDb, file_id: &str) -> Option<(i64, String)> {
    sqlx::query_as(
        "select bytes, sha256 from cloudroom.recording_files where file_id = $1 and archived_at is not null",
    )
    .bind(file_id)
    .fetch_optional(&db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn deletion_turned_on_later_reads_back_and_deletes_within_the_cap() {
    let db = common::migrated_db().await;
    let (sim, ctx) = mirrored(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let plain = local(&ctx, dir.path());
    archive(&plain).await;
    let off = plan(&plain).await;
    assert!(
        off.to_delete.is_empty() && off.deletion_off.is_some(),
        "{off:?}"
    );

    // Archived while deletion was off, never verified: deletable now, read back first.
    let retaining = deleting(&plain, 2);
    let planned = plan(&retaining).await;
    assert_eq!(planned.to_delete.len(), 2, "{planned:?}");
    let over_cap = planned
        .held
        .iter()
        .filter(|h| h.hold == confsync::archive::Hold::OverCap)
        .count();
    let recordings = scalar(&db, "select count(*) from cloudroom.recordings").await;
    assert_eq!(over_cap as i64, recordings - 2, "{planned:?}");
    let lists_before = sim.state.requests("cloudroom", Some("video.list"), None);
    let summary = archive(&retaining).await;
    assert!(summary.error.is_none(), "{summary}");
    assert_eq!(deletes(&sim), 2);
    assert!(sim.state.requests("cloudroom", Some("video.list"), None) > lists_before);
    let audited: Vec<(String, Option<String>, i64)> = sqlx::query_as(
        "select file_id, request_id, code from confsync.archive_deletions order by id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(
        audited
            .iter()
            .all(|(_, id, code)| id.is_some() && *code == 0),
        "{audited:?}"
    );
    assert_eq!(
        audited.iter().map(|a| a.0.clone()).collect::<Vec<_>>(),
        planned.to_delete
    );
    let verified_now = "select count(*) from cloudroom.recording_files where deleted_from_cloudroom_at is not null and verified_at >= archived_at";
    assert_eq!(scalar(&db, verified_now).await, 2);

    // Deleted in the console meanwhile: the listing no longer names it, so no DELETE.
    let next = plan(&retaining).await.to_delete;
    common::admin(
        &sim,
        reqwest::Method::DELETE,
        &format!("/recordings/{}", next[0]),
        None,
    )
    .await;
    archive(&retaining).await;
    assert_eq!(deletes(&sim), 3, "only the one CloudRoom still lists");
}

#[tokio::test]
async fn a_changed_file_is_archived_again_beside_the_old_one_before_any_delete() {
    let db = common::migrated_db().await;
    let (sim, ctx) = mirrored(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let plain = local(&ctx, dir.path());
    archive(&plain).await;
    let (file_id, size) = first_file(&db).await;
    let grown = size + 1000;
    change_recording(&sim, &file_id, json!({ "size": grown })).await;

    // The mirror has not seen the change: the same-run listing has.
    let retaining = deleting(&plain, 1);
    assert_eq!(plan(&retaining).await.to_delete, vec![file_id.clone()]);
    archive(&retaining).await;
    assert_eq!(
        deletes(&sim),
        0,
        "never deleted on the strength of the old copy"
    );

    // Mirrored: archived again as v2, the old object kept, then deleted.
    let full = RunOptions {
        full: true,
        ..RunOptions::default()
    };
    common::run_job(&plain, &jobs::Recordings, &full)
        .await
        .unwrap();
    let planned = plan(&retaining).await;
    assert!(planned.to_archive.contains(&file_id), "{planned:?}");
    assert!(planned
        .held
        .iter()
        .any(|h| h.file_id == file_id
            && matches!(h.hold, confsync::archive::Hold::SizeChanged { .. })));
    let summary = archive(&retaining).await;
    assert!(summary.error.is_none(), "{summary}");
    let (bytes, sha) = archived_sha(&db, &file_id).await.unwrap();
    assert_eq!(
        (bytes, sha),
        (grown, files::sha256_hex(&file_id, grown as u64))
    );
    let kept: (i32, String) = sqlx::query_as(
        "select version, location from cloudroom.recording_file_versions where file_id = $1",
    )
    .bind(&file_id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(kept.0, 1);
    let old = kept.1.strip_prefix("file://").unwrap();
    assert_eq!(
        std::fs::metadata(old).unwrap().len(),
        size as u64,
        "the old object stays"
    );
    let deleted: Vec<String> =
        sqlx::query_scalar("select file_id from confsync.archive_deletions where code = 0")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(deleted, vec![file_id]);
}

#[tokio::test]
async fn an_empty_recording_is_never_archived_as_done_nor_deleted() {
    let db = common::migrated_db().await;
    let (sim, ctx) = mirrored(&db).await;
    let (file_id, _) = first_file(&db).await;
    change_recording(&sim, &file_id, json!({ "size": 0 })).await;
    let full = RunOptions {
        full: true,
        ..RunOptions::default()
    };
    common::run_job(&ctx, &jobs::Recordings, &full)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let retaining = deleting(&local(&ctx, dir.path()), 100);
    let summary = archive(&retaining).await;
    assert!(
        summary.error.as_deref().unwrap_or("").contains("empty"),
        "{summary}"
    );
    assert_eq!(archived_sha(&db, &file_id).await, None);
    let deleted: i64 =
        sqlx::query_scalar("select count(*) from confsync.archive_deletions where file_id = $1")
            .bind(&file_id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(deleted, 0);
    let held = plan(&retaining).await.held;
    let hold = held.iter().find(|h| h.file_id == file_id).unwrap();
    assert!(hold.hold.to_string().contains("empty"), "{hold:?}");
}

/// A cut body whose file changes before the resume: under each validator
/// reading, the object is one whole file, never two spliced.
#[tokio::test]
async fn a_resume_answered_with_other_bytes_is_never_stored_spliced() {
    for validators in [
        FileValidators::Etag,
        FileValidators::LastModified,
        FileValidators::None,
    ] {
        let db = common::migrated_db().await;
        let sim = common::simulator(SimConfig {
            serve_files: true,
            history: 12,
            file_validators: validators,
            ..common::small_sim()
        })
        .await;
        let ctx = common::mirror_context(&sim, &db);
        common::run_mirror(&ctx, &RunOptions::default())
            .await
            .unwrap();
        set_fault(&sim, Some(FileFault::SplicedResume { after_bytes: 2000 })).await;
        let dir = tempfile::tempdir().unwrap();
        let retaining = deleting(&local(&ctx, dir.path()), 100);
        archive(&retaining).await;
        let rows: Vec<(String, i64, String)> = sqlx::query_as(
            "select file_id, bytes, sha256 from cloudroom.recording_files where archived_at is not null",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap();
        assert!(!rows.is_empty(), "{validators:?}");
        for (file_id, bytes, sha) in rows {
            assert_eq!(
                sha,
                files::changed_sha256_hex(&file_id, bytes as u64),
                "{validators:?}: {file_id} is the whole current file"
            );
        }
    }
}

#[tokio::test]
async fn a_stalled_download_fails_within_the_idle_timeout_and_does_not_count_as_done() {
    let db = common::migrated_db().await;
    let (sim, ctx) = mirrored(&db).await;
    set_fault(&sim, Some(FileFault::Stall { after_bytes: 1000 })).await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = with_location(&local(&ctx, dir.path()), |a| {
        a.idle_timeout_seconds = 1;
        a.concurrency = 16;
    });
    let started = Instant::now();
    let summary = archive(&ctx).await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    let error = summary.error.unwrap_or_default();
    assert!(error.contains("no byte arrived for 1 s"), "{error}");
    assert_eq!(
        scalar(
            &db,
            "select count(*) from cloudroom.recording_files where archived_at is not null"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn files_past_max_attempts_wait_until_retry_failed() {
    let db = common::migrated_db().await;
    let (sim, ctx) = mirrored(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = with_location(&local(&ctx, dir.path()), |a| a.max_attempts = 1);
    set_fault(&sim, Some(FileFault::Status { status: 503 })).await;
    archive(&ctx).await;
    set_fault(&sim, None).await;
    let before = file_requests(&sim);
    archive(&ctx).await;
    assert_eq!(
        file_requests(&sim),
        before,
        "past max_attempts: not tried by a plain run"
    );
    let retry = RunOptions {
        retry_failed: true,
        ..RunOptions::default()
    };
    let summary = common::run_job(&ctx, &jobs::Archive, &retry).await.unwrap();
    assert!(summary.error.is_none(), "{summary}");
    assert_eq!(
        scalar(&db, "select count(*) from cloudroom.recording_files where archived_at is null or attempts <> 0").await,
        0
    );
}

#[tokio::test]
async fn a_download_error_never_carries_the_urls_query() {
    let db = common::migrated_db().await;
    let (sim, ctx) = mirrored(&db).await;
    let (file_id, _) = first_file(&db).await;
    // Nothing listens on port 9; the query is a signed URL's secret.
    let signed = "http://127.0.0.1:9/lv/x/f0.mp4?auth_key=SECRET-SIGNATURE";
    change_recording(&sim, &file_id, json!({ "url": signed })).await;
    let full = RunOptions {
        full: true,
        ..RunOptions::default()
    };
    common::run_job(&ctx, &jobs::Recordings, &full)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = archive(&local(&ctx, dir.path())).await;
    let recorded: Vec<Option<String>> = sqlx::query_scalar(
        "select last_error from cloudroom.recording_files union all select error from confsync.sync_runs",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let everything = format!("{summary} {recorded:?}");
    assert!(everything.contains(&file_id), "{everything}");
    assert!(!everything.contains("SECRET-SIGNATURE"), "{everything}");
}

#[tokio::test]
async fn a_download_url_or_redirect_that_leaves_http_is_refused() {
    let db = common::migrated_db().await;
    let (sim, ctx) = mirrored(&db).await;
    let rows: Vec<String> = sqlx::query_scalar(
        "select file_id from cloudroom.recordings order by created_at, file_id limit 2",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    // One URL is a local file; the other redirects to one.
    let redirector = redirect_to("file:///etc/passwd").await;
    change_recording(&sim, &rows[0], json!({ "url": "file:///etc/passwd" })).await;
    change_recording(&sim, &rows[1], json!({ "url": redirector })).await;
    let full = RunOptions {
        full: true,
        ..RunOptions::default()
    };
    common::run_job(&ctx, &jobs::Recordings, &full)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    archive(&local(&ctx, dir.path())).await;
    let errors: Vec<(String, String)> = sqlx::query_as(
        "select file_id, last_error from cloudroom.recording_files where last_error is not null order by file_id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let of = |id: &str| {
        errors
            .iter()
            .find(|(f, _)| f == id)
            .map(|(_, e)| e.clone())
            .unwrap_or_default()
    };
    assert!(of(&rows[0]).contains("not an http(s) URL"), "{errors:?}");
    assert!(
        of(&rows[1]).contains("refused a redirect to file:///etc/passwd"),
        "{errors:?}"
    );
}

/// A server that answers every request 302 to `location`.
async fn redirect_to(location: &'static str) -> String {
    let app = axum::Router::new().fallback(move || async move {
        (
            axum::http::StatusCode::FOUND,
            [(axum::http::header::LOCATION, location)],
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/video.mp4")
}
