//! The archive against the simulator's files, into a local directory and
//! into a real S3-compatible server (moto, which `.ci/run` installs from
//! PyPI and starts; `TEST_S3_ENDPOINT` overrides where).

use crate::common;

use std::path::Path;

use confsync::jobs::{self, JobContext, RunOptions};
use confsync_sim::files::{self, FileFault};
use confsync_sim::{RunningSimulator, SimConfig};
use serde_json::json;

/// A simulator whose recordings' files are served, mirrored into `db`.
pub(crate) async fn mirrored(db: &common::TestDb) -> (RunningSimulator, JobContext) {
    let sim = common::simulator(SimConfig {
        serve_files: true,
        history: 12,
        ..common::small_sim()
    })
    .await;
    let ctx = common::mirror_context(&sim, db);
    for job in jobs::MIRROR {
        let summary = common::run_job(&ctx, job, &RunOptions::default())
            .await
            .unwrap();
        assert!(summary.error.is_none(), "{summary}");
    }
    (sim, ctx)
}

pub(crate) fn with_location(
    ctx: &JobContext,
    change: impl FnOnce(&mut confsync::archive::settings::ArchiveSettings),
) -> JobContext {
    let mut settings = (*ctx.settings).clone();
    change(&mut settings.archive);
    JobContext {
        settings: std::sync::Arc::new(settings),
        ..ctx.clone()
    }
}

pub(crate) fn local(ctx: &JobContext, dir: &Path) -> JobContext {
    with_location(ctx, |a| a.location = format!("file://{}", dir.display()))
}

pub(crate) async fn archive(ctx: &JobContext) -> jobs::JobSummary {
    common::run_job(ctx, &jobs::Archive, &RunOptions::default())
        .await
        .unwrap()
}

pub(crate) async fn scalar(db: &common::TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

pub(crate) fn file_requests(sim: &RunningSimulator) -> u64 {
    sim.state.requests("files", None, None)
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

pub(crate) async fn set_fault(sim: &RunningSimulator, fault: Option<FileFault>) {
    let files = fault.map_or(json!({}), |f| json!({ "*": f }));
    common::admin(
        sim,
        reqwest::Method::POST,
        "/faults",
        Some(json!({ "files": files })),
    )
    .await;
}

/// Each archived object's sha256 is the simulator's.
async fn assert_archived_whole(db: &common::TestDb, expected: i64) {
    let rows: Vec<(String, i64, String, String)> = sqlx::query_as(
        "select file_id, bytes, sha256, location from cloudroom.recording_files where archived_at is not null",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(rows.len() as i64, expected);
    for (file_id, bytes, sha256, location) in rows {
        assert_eq!(
            sha256,
            files::sha256_hex(&file_id, bytes as u64),
            "{file_id}"
        );
        assert!(
            location.contains("/default/") && location.contains(&file_id),
            "{location}"
        );
    }
}

#[tokio::test]
async fn every_file_is_archived_whole_verified_and_not_read_twice() {
    let db = common::migrated_db().await;
    let (sim, ctx) = mirrored(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = local(&ctx, dir.path());
    let recordings = scalar(&db, "select count(*) from cloudroom.recordings").await;
    assert!(recordings > 5);
    let summary = archive(&ctx).await;
    assert!(summary.error.is_none(), "{summary}");
    assert_archived_whole(&db, recordings).await;
    assert_eq!(files_under(dir.path()).len() as i64, recordings);

    let archive_ctx =
        jobs::archive::context(&ctx, ctx.shutdown.clone(), &Default::default()).unwrap();
    let report = confsync::archive::verify(&archive_ctx, None).await.unwrap();
    assert_eq!((report.checked as i64, report.drift.len()), (recordings, 0));
    assert_eq!(
        scalar(
            &db,
            "select count(*) from cloudroom.recording_files where verified_at is not null"
        )
        .await,
        recordings
    );

    let before = file_requests(&sim);
    archive(&ctx).await;
    assert_eq!(
        file_requests(&sim),
        before,
        "an archived file is not downloaded again"
    );

    // A changed object is drift, and loses its verification.
    let victim = files_under(dir.path()).remove(0);
    std::fs::write(&victim, b"tampered").unwrap();
    let report = confsync::archive::verify(&archive_ctx, None).await.unwrap();
    assert_eq!(report.drift.len(), 1);
    assert!(
        report.drift[0].problem.contains("bytes"),
        "{:?}",
        report.drift
    );
}

#[tokio::test]
async fn a_cut_transfer_resumes_with_range_and_the_archive_is_whole() {
    let db = common::migrated_db().await;
    let (sim, ctx) = mirrored(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = local(&ctx, dir.path());
    set_fault(&sim, Some(FileFault::Cut { after_bytes: 700 })).await;
    let recordings = scalar(&db, "select count(*) from cloudroom.recordings").await;
    let summary = archive(&ctx).await;
    assert!(summary.error.is_none(), "{summary}");
    assert_archived_whole(&db, recordings).await;
    // Each file: the cut request, then the Range request that finished it.
    assert_eq!(
        sim.state.requests("files", None, Some(206)) as i64,
        recordings
    );
}

#[tokio::test]
async fn an_html_page_or_a_short_body_is_never_stored() {
    let db = common::migrated_db().await;
    let (sim, ctx) = mirrored(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = local(&ctx, dir.path());
    for (fault, words) in [
        (FileFault::Html, "HTML"),
        (FileFault::Short { bytes: 100 }, "ended after 100 of"),
    ] {
        set_fault(&sim, Some(fault)).await;
        let summary = archive(&ctx).await;
        let error = summary.error.unwrap_or_default();
        assert!(error.contains(words), "{error}");
        assert_eq!(
            scalar(
                &db,
                "select count(*) from cloudroom.recording_files where archived_at is not null"
            )
            .await,
            0
        );
        assert!(
            files_under(dir.path()).is_empty(),
            "{:?}",
            files_under(dir.path())
        );
    }
}

/// The S3-compatible server of the tests: `TEST_S3_ENDPOINT`, else moto on
/// 127.0.0.1:5100 as `.ci/run` starts it.
async fn s3_endpoint() -> String {
    let endpoint =
        std::env::var("TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:5100".into());
    let reachable = reqwest::get(&endpoint).await.is_ok();
    assert!(
        reachable,
        "no S3-compatible server at {endpoint}: run `moto_server -p 5100` (pip install 'moto[server]'), or set TEST_S3_ENDPOINT"
    );
    endpoint
}

#[tokio::test]
async fn an_s3_archive_is_whole_and_a_failed_upload_leaves_no_multipart_behind() {
    let endpoint = s3_endpoint().await;
    let bucket = format!("confsync-{}", uuid::Uuid::new_v4().simple());
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    let db = common::migrated_db().await;
    let (sim, ctx) = mirrored(&db).await;
    let ctx = with_location(&ctx, |a| {
        a.location = format!("s3://{bucket}/recordings");
        a.access_key_id = Some("test".into());
        a.secret_access_key = Some("test".into());
        for (k, v) in [
            ("aws_endpoint", endpoint.as_str()),
            ("aws_allow_http", "true"),
            ("aws_region", "us-east-1"),
        ] {
            a.options.insert(k.into(), v.into());
        }
    });
    // A failure midway (the whole body refused after the upload began).
    set_fault(&sim, Some(FileFault::Short { bytes: 100 })).await;
    let summary = archive(&ctx).await;
    assert!(summary.error.is_some());
    let uploads = reqwest::get(format!("{endpoint}/{bucket}?uploads"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !uploads.contains("<Upload>"),
        "orphaned multipart uploads: {uploads}"
    );

    set_fault(&sim, None).await;
    let recordings = scalar(&db, "select count(*) from cloudroom.recordings").await;
    let summary = archive(&ctx).await;
    assert!(summary.error.is_none(), "{summary}");
    assert_archived_whole(&db, recordings).await;
    let archive_ctx =
        jobs::archive::context(&ctx, ctx.shutdown.clone(), &Default::default()).unwrap();
    let report = confsync::archive::verify(&archive_ctx, None).await.unwrap();
    assert_eq!((report.checked as i64, report.drift.len()), (recordings, 0));
    let location: String =
        sqlx::query_scalar("select location from cloudroom.recording_files limit 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(
        location.starts_with(&format!("s3://{bucket}/recordings/default/")),
        "{location}"
    );
}

#[tokio::test]
async fn a_run_killed_mid_file_then_rerun_leaves_one_whole_object_per_recording() {
    let db = common::migrated_db().await;
    let (sim, ctx) = mirrored(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let recordings = scalar(&db, "select count(*) from cloudroom.recordings").await;
    // Slow enough that the kill lands inside a file.
    set_fault(
        &sim,
        Some(FileFault::Slow {
            bytes_per_second: 20_000,
        }),
    )
    .await;
    let (_source_dir, source) = common::directory::write_source("hr.csv", b"");
    let mut env = common::directory::child_env(&sim, &db, &source);
    env.push((
        "CONFSYNC_ARCHIVE__LOCATION".into(),
        format!("file://{}", dir.path().display()),
    ));
    let mut child = common::directory::confsync_child(&env)
        .args(["archive", "run"])
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let archived_before = scalar(
        &db,
        "select count(*) from cloudroom.recording_files where archived_at is not null",
    )
    .await;
    assert!(
        archived_before < recordings,
        "the kill came too late to test anything"
    );
    // The run it interrupted left staging files beside the objects.
    set_fault(&sim, None).await;
    let summary = archive(&local(&ctx, dir.path())).await;
    assert!(summary.error.is_none(), "{summary}");
    assert_archived_whole(&db, recordings).await;
    let objects = files_under(dir.path());
    assert_eq!(objects.len() as i64, recordings, "{objects:?}");
    assert!(
        objects.iter().all(|p| !p.to_string_lossy().contains('#')),
        "{objects:?}"
    );
}

#[tokio::test]
async fn the_bandwidth_cap_holds_over_all_transfers() {
    let db = common::migrated_db().await;
    let (_sim, ctx) = mirrored(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let total: i64 = scalar(
        &db,
        "select sum(size_bytes)::bigint from cloudroom.recordings",
    )
    .await;
    // Two seconds' worth at the cap.
    let cap = (total / 2) as u64;
    let capped = with_location(&local(&ctx, dir.path()), |a| a.max_bytes_per_second = cap);
    let started = std::time::Instant::now();
    let summary = archive(&capped).await;
    assert!(summary.error.is_none(), "{summary}");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1800),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_report_tells_archived_from_only_on_cloudroom() {
    let db = common::migrated_db().await;
    let (sim, ctx) = mirrored(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let recordings = scalar(&db, "select count(*) from cloudroom.recordings").await;
    let one: String =
        sqlx::query_scalar("select file_id from cloudroom.recordings order by file_id limit 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    // One file refuses; the rest are archived.
    common::admin(
        &sim,
        reqwest::Method::POST,
        "/faults",
        Some(json!({ "files": { one.clone(): FileFault::Html } })),
    )
    .await;
    archive(&local(&ctx, dir.path())).await;
    let states: Vec<(String, i64)> = sqlx::query_as(
        "select state, recordings from report.recordings_archive_summary order by state",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        states,
        [
            ("archived".to_string(), recordings - 1),
            ("only on CloudRoom".to_string(), 1)
        ]
    );
}
