//! A daemon whose archive meets a stalled download: the short jobs keep
//! their slot every tick, the file fails within the idle timeout, and
//! SIGTERM reaches the transfer mid-stream.

use crate::common;
use crate::common::daemon as daemon_helpers;

use std::process::Stdio;
use std::time::{Duration, Instant};

use confsync::jobs::RunOptions;
use confsync_sim::files::FileFault;
use confsync_sim::SimConfig;
use daemon_helpers::{child_env, confsync, runs, sigterm, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_download_never_holds_the_daemon() {
    let sim = common::simulator(SimConfig {
        serve_files: true,
        history: 12,
        ..common::small_sim()
    })
    .await;
    let db = common::migrated_db().await;
    let ctx = common::mirror_context(&sim, &db);
    common::run_mirror(&ctx, &RunOptions::default())
        .await
        .unwrap();
    crate::archive::set_fault(&sim, Some(FileFault::Stall { after_bytes: 100 })).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = child_env(&sim, &db);
    for (key, value) in [
        ("CONFSYNC_DAEMON__MAX_CONCURRENT_RUNS", "1".to_string()),
        ("CONFSYNC_SCHEDULE__CONFERENCES", "* * * * * *".into()),
        ("CONFSYNC_SCHEDULE__ARCHIVE", "* * * * * *".into()),
        (
            "CONFSYNC_ARCHIVE__LOCATION",
            format!("file://{}", dir.path().display()),
        ),
        ("CONFSYNC_ARCHIVE__IDLE_TIMEOUT_SECONDS", "3".into()),
        ("CONFSYNC_ARCHIVE__CONCURRENCY", "1".into()),
        // Longer than the test waits: only a cancellation mid-stream ends it in time.
        ("CONFSYNC_SHUTDOWN_TIMEOUT_SECONDS", "60".into()),
    ] {
        env.push((key.into(), value));
    }
    let mut child = confsync(&env)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let failed_file = "select count(*) from cloudroom.recording_files where last_error like '%no byte arrived for 3 s%'";
    let started = Instant::now();
    wait_for(
        "the first stalled file to fail",
        Duration::from_secs(20),
        || async { common::directory::count(&db, failed_file).await > 0 },
    )
    .await;
    let archive_runs = runs(&db.pool, "archive").await;
    let first = archive_runs.first().expect("an archive run");
    let failed_at: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
        "select min(last_attempt_at) from cloudroom.recording_files where last_error is not null",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let took = (failed_at - first.started_at).num_milliseconds();
    assert!(
        took < 3_000 + 2_000,
        "the stalled file failed {took} ms after the run started"
    );

    // Conferences keeps its slot every tick while the archive holds its own.
    wait_for(
        "three conference runs beside the archive",
        Duration::from_secs(10),
        || async {
            runs(&db.pool, "conferences")
                .await
                .iter()
                .filter(|r| r.status == "succeeded")
                .count()
                >= 3
        },
    )
    .await;
    assert!(runs(&db.pool, "archive")
        .await
        .iter()
        .any(|r| r.status == "running"));

    sigterm(&child);
    let stopping = Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits within 10 s of SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(stopping.elapsed() < Duration::from_secs(10));
    let archive_runs = runs(&db.pool, "archive").await;
    assert!(
        archive_runs.iter().any(|r| r.status == "abandoned"),
        "{archive_runs:?}"
    );
    assert!(
        archive_runs.iter().all(|r| r.status != "running"),
        "{archive_runs:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// Two slow jobs, one slot: the tick of the job that waits for the slot is
/// logged as waiting, not as still running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_waiting_for_a_slot_is_logged_as_waiting() {
    let sim = common::simulator(SimConfig {
        latency_ms: 1500,
        ..common::small_sim()
    })
    .await;
    let db = common::migrated_db().await;
    let mut env = child_env(&sim, &db);
    for (key, value) in [
        ("CONFSYNC_DAEMON__MAX_CONCURRENT_RUNS", "1"),
        ("CONFSYNC_SCHEDULE__CONFERENCES", "* * * * * *"),
        ("CONFSYNC_SCHEDULE__HISTORY", "* * * * * *"),
        ("CONFSYNC_LOGGING__FORMAT", "text"),
    ] {
        env.push((key.into(), value.into()));
    }
    let child = confsync(&env)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    sigterm(&child);
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("still waiting for a run slot (daemon.max_concurrent_runs are all taken)"),
        "{stderr}"
    );
}
