//! The daemon against the simulator and a real PostgreSQL: ticks, no
//! overlap in one process or across two, abandoned runs, the job lock.

use crate::common;
use crate::common::daemon as daemon_helpers;

use std::collections::BTreeSet;
use std::time::Duration;

use confsync::jobs::{self, RunOptions, RunOutcome};
use confsync::store::locks::JobLock;
use confsync_sim::SimConfig;
use daemon_helpers::{assert_no_overlap, daemon_settings, runs, wait_for, SHUTDOWN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_every_second_runs_records_its_runs_and_never_overlaps_itself() {
    // Each conference pass takes about 1.2 s, longer than the schedule's period.
    let sim = common::simulator(SimConfig {
        latency_ms: 1200,
        ..common::small_sim()
    })
    .await;
    let db = common::migrated_db().await;
    let mut settings = daemon_settings(&sim, &db);
    settings.schedule.conferences = "* * * * * *".into();
    let running = confsync::app::start_daemon(settings).await.unwrap();
    wait_for("three finished runs", Duration::from_secs(30), || async {
        runs(&db.pool, "conferences")
            .await
            .iter()
            .filter(|r| r.finished_at.is_some())
            .count()
            >= 3
    })
    .await;
    assert!(running.shutdown(SHUTDOWN).await);

    let rows = runs(&db.pool, "conferences").await;
    assert!(rows.iter().all(|r| r.status == "succeeded"), "{rows:?}");
    assert_no_overlap(&rows);
    let ticks: Vec<_> = rows.iter().map(|r| r.scheduled_for.unwrap()).collect();
    assert!(
        ticks.iter().all(|t| t.timestamp_subsec_nanos() == 0),
        "ticks are whole seconds: {ticks:?}"
    );
    // The ticks that fell while a run was going were skipped, not queued.
    assert!(
        ticks
            .windows(2)
            .any(|w| w[1] - w[0] > chrono::Duration::seconds(1)),
        "{ticks:?}"
    );
    let conferences: i64 = sqlx::query_scalar("select count(*) from cloudroom.conferences")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(conferences, 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_sharing_one_database_never_run_the_same_job_at_the_same_tick() {
    let sim = common::simulator(SimConfig {
        latency_ms: 150,
        ..common::small_sim()
    })
    .await;
    let db = common::migrated_db().await;
    let mut settings = daemon_settings(&sim, &db);
    settings.schedule.conferences = "* * * * * *".into();
    settings.schedule.recordings = "* * * * * *".into();
    let first = confsync::app::start_daemon(settings.clone()).await.unwrap();
    let second = confsync::app::start_daemon(settings).await.unwrap();
    wait_for("six conference runs", Duration::from_secs(30), || async {
        runs(&db.pool, "conferences").await.len() >= 6
    })
    .await;
    assert!(first.shutdown(SHUTDOWN).await);
    assert!(second.shutdown(SHUTDOWN).await);

    for job in ["conferences", "recordings"] {
        let rows = runs(&db.pool, job).await;
        assert!(rows.len() >= 2, "{job}: {rows:?}");
        assert!(rows.iter().all(|r| r.status == "succeeded"), "{rows:?}");
        assert_no_overlap(&rows);
        let ticks: BTreeSet<_> = rows.iter().map(|r| r.scheduled_for.unwrap()).collect();
        assert_eq!(ticks.len(), rows.len(), "one run per tick: {rows:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_left_running_are_abandoned_at_start_unless_their_lock_is_held() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    for job in ["history", "recordings"] {
        sqlx::query("insert into confsync.sync_runs (job) values ($1)")
            .bind(job)
            .execute(&db.pool)
            .await
            .unwrap();
    }
    // Another process is running recordings right now.
    let held = JobLock::try_acquire(&db.pool, "default", "recordings")
        .await
        .unwrap()
        .expect("lock is free");
    let running = confsync::app::start_daemon(daemon_settings(&sim, &db))
        .await
        .unwrap();
    let history = runs(&db.pool, "history").await;
    assert_eq!(history[0].status, "abandoned");
    assert!(history[0].finished_at.is_some());
    assert_eq!(runs(&db.pool, "recordings").await[0].status, "running");
    assert!(running.shutdown(SHUTDOWN).await);
    held.release().await.unwrap();
}

#[tokio::test]
async fn a_job_whose_lock_is_held_is_skipped_not_failed() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let ctx = common::mirror_context(&sim, &db);
    let held = JobLock::try_acquire(&db.pool, "default", "conferences")
        .await
        .unwrap()
        .expect("lock is free");
    let outcome = jobs::run_job(&ctx, &jobs::Conferences, &RunOptions::default())
        .await
        .unwrap();
    assert!(matches!(outcome, RunOutcome::Busy), "{outcome:?}");
    assert!(runs(&db.pool, "conferences").await.is_empty());

    // The CLI says so and exits 0.
    let env = daemon_helpers::child_env(&sim, &db);
    let out = daemon_helpers::confsync(&env)
        .args(["sync", "conferences"])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("skipped"), "{stderr}");
    held.release().await.unwrap();

    let summary = common::run_job(&ctx, &jobs::Conferences, &RunOptions::default())
        .await
        .unwrap();
    assert!(summary.error.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_run_is_recorded_and_the_schedule_carries_on() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let mut settings = daemon_settings(&sim, &db);
    settings.schedule.conferences = "* * * * * *".into();
    settings.cloudroom.max_retries = 0;
    // Every request fails until the test clears the fault.
    sim.state.faults().fail_rate = Some(1.0);
    let running = confsync::app::start_daemon(settings).await.unwrap();
    wait_for("two failed runs", Duration::from_secs(30), || async {
        runs(&db.pool, "conferences")
            .await
            .iter()
            .filter(|r| r.status == "failed")
            .count()
            >= 2
    })
    .await;
    sim.state.faults().fail_rate = Some(0.0);
    wait_for("a successful run", Duration::from_secs(30), || async {
        runs(&db.pool, "conferences")
            .await
            .iter()
            .any(|r| r.status == "succeeded")
    })
    .await;
    assert!(running.shutdown(SHUTDOWN).await);
    let failed = runs(&db.pool, "conferences").await;
    let error = failed[0].error.clone().unwrap();
    // The error chain, not just the outermost context.
    assert!(error.contains("page 1") && error.contains("500"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_records_one_row_around_its_three_full_passes() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let mut settings = daemon_settings(&sim, &db);
    // Starts with conferences on the same ticks, as the defaults do on Sundays.
    settings.schedule.reconcile = "*/3 * * * * *".into();
    settings.schedule.conferences = "* * * * * *".into();
    let running = confsync::app::start_daemon(settings).await.unwrap();
    wait_for("a finished reconcile", Duration::from_secs(60), || async {
        runs(&db.pool, "reconcile")
            .await
            .iter()
            .any(|r| r.finished_at.is_some())
    })
    .await;
    assert!(running.shutdown(SHUTDOWN).await);

    let reconcile = runs(&db.pool, "reconcile").await[0].clone();
    assert_eq!(reconcile.status, "succeeded", "{reconcile:?}");
    let (passes, inserted): (i64, i64) = sqlx::query_as(
        "select count(distinct job), sum(rows_inserted)::bigint from confsync.sync_runs
          where full_pass and job <> 'reconcile' and started_at >= $1 and finished_at <= $2",
    )
    .bind(reconcile.started_at)
    .bind(reconcile.finished_at)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(passes, 3);
    let (full, recorded): (bool, i64) =
        sqlx::query_as("select full_pass, rows_inserted from confsync.sync_runs where id = $1")
            .bind(reconcile.id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(full);
    assert_eq!(recorded, inserted);
    assert_no_overlap(&runs(&db.pool, "conferences").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_job_applies_the_hr_export_on_its_schedule() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let mut settings = daemon_settings(&sim, &db);
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sample-hr.csv");
    settings.directory.source = Some(sample.display().to_string());
    settings.schedule.directory = "*/2 * * * * *".into();
    let running = confsync::app::start_daemon(settings).await.unwrap();
    wait_for("two directory runs", Duration::from_secs(60), || async {
        runs(&db.pool, "directory")
            .await
            .iter()
            .filter(|r| r.finished_at.is_some())
            .count()
            >= 2
    })
    .await;
    assert!(running.shutdown(SHUTDOWN).await);
    let rows = runs(&db.pool, "directory").await;
    assert!(rows.iter().all(|r| r.status == "succeeded"), "{rows:?}");
    assert_no_overlap(&rows);
    let users: i64 = sqlx::query_scalar("select count(*) from directory.users")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(users > 0);
}

/// A company that runs only the Aliyun side (the attendance job) needs no
/// CloudRoom credentials: the daemon builds only the clients its enabled
/// jobs need, and `config check` asks for only those.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aliyun_only_tenant_starts_without_cloudroom_credentials() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let mut settings = daemon_settings(&sim, &db);
    settings.cloudroom.secret_id = None;
    settings.cloudroom.secret_key = None;
    settings.schedule.attendance = "0 */5 * * * *".into();
    assert!(
        confsync::configuration::missing_credentials(&settings).is_empty(),
        "{:?}",
        confsync::configuration::missing_credentials(&settings)
    );
    let running = confsync::app::start_daemon(settings.clone()).await.unwrap();
    assert!(running.shutdown(SHUTDOWN).await);

    // A CloudRoom job switched on needs them, and says so.
    settings.schedule.conferences = "0 */10 * * * *".into();
    let missing = confsync::configuration::missing_credentials(&settings);
    assert!(
        missing.iter().any(|p| p.key == "cloudroom.secret_id"),
        "{missing:?}"
    );
    let refused = confsync::app::start_daemon(settings).await.err().unwrap();
    assert!(
        confsync::causes::of(&refused).contains("CloudRoom client of tenant default"),
        "{refused:#}"
    );
}
