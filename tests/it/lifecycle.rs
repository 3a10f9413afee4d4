//! The one lifecycle every run goes through: a lost lock, per-run request
//! counts, and runs that stop early recorded as what they are.

use crate::common;
use crate::common::daemon as daemon_helpers;

use std::process::Stdio;
use std::time::{Duration, Instant};

use confsync::jobs::{self, RunOptions};
use confsync_sim::SimConfig;
use daemon_helpers::{child_env, confsync, runs, wait_for};

const FULL: RunOptions = RunOptions {
    full: true,
    since: None,
    allow_mass_delete: false,
    retry_failed: false,
    alongside: confsync::mirror::follow::Alongside::Alone,
};

/// A history of some 30 pages. Runs against it get a budget of 10 history
/// pages a minute, so they are still going, waiting for their budget,
/// whatever the machine's speed (pages are read ahead).
fn slow_history(secret_id: &str) -> SimConfig {
    SimConfig {
        history: 2000,
        latency_ms: 20,
        secret_id: secret_id.into(),
        ..common::small_sim()
    }
}

const PACED: (&str, u32) = ("conference_history", 10);

fn paced(ctx: &mut jobs::JobContext) {
    common::reconfigure(ctx, |cr| {
        cr.rate_limits.insert(PACED.0.into(), PACED.1);
    });
}

async fn history_rows(db: &common::TestDb) -> i64 {
    sqlx::query_scalar("select count(*) from cloudroom.meeting_history")
        .fetch_one(&db.pool)
        .await
        .unwrap_or(0)
}

/// The backend holding this database's job lock.
async fn lock_holder(db: &common::TestDb) -> i32 {
    sqlx::query_scalar(
        "select pid from pg_locks
          where locktype = 'advisory' and granted
            and database = (select oid from pg_database where datname = current_database())",
    )
    .fetch_one(&db.pool)
    .await
    .expect("a job lock is held")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_job_lock_stops_the_run_within_seconds() {
    let sim = common::simulator(slow_history("lifecycleLockLost")).await;
    let db = common::migrated_db().await;
    let mut ctx = common::mirror_context(&sim, &db);
    paced(&mut ctx);
    let run = {
        let ctx = ctx.clone();
        tokio::spawn(async move { common::run_job(&ctx, &jobs::History, &FULL).await })
    };
    wait_for("a committed page", Duration::from_secs(60), || async {
        history_rows(&db).await > 0
    })
    .await;
    // An operator (or a failover) ends the lock's session.
    let pid = lock_holder(&db).await;
    sqlx::query("select pg_terminate_backend($1)")
        .bind(pid)
        .execute(&db.pool)
        .await
        .unwrap();
    let lost_at = Instant::now();
    let summary = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the run stops")
        .unwrap()
        .unwrap();
    let stopped_after = lost_at.elapsed();
    assert!(
        stopped_after < jobs::lifecycle::LOCK_CHECK + Duration::from_secs(3),
        "{stopped_after:?}"
    );
    let error = summary.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("job lock or the run's lease was lost"),
        "{summary}"
    );
    assert!(!summary.cancelled);
    let rows = runs(&db.pool, "history").await;
    assert_eq!(rows[0].status, "failed");
    // The next run resumes from the checkpoint and completes.
    common::reconfigure(&mut ctx, |cr| {
        cr.rate_limits.insert(PACED.0.into(), 0);
    });
    let rerun = common::run_job(&ctx, &jobs::History, &FULL).await.unwrap();
    assert!(rerun.error.is_none(), "{rerun}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_run_counts_only_its_own_requests() {
    let sim = common::simulator(SimConfig {
        latency_ms: 5,
        ..common::small_sim()
    })
    .await;
    let db = common::migrated_db().await;
    let ctx = common::mirror_context(&sim, &db);
    let (conferences, history) = tokio::join!(
        common::run_job(&ctx, &jobs::Conferences, &FULL),
        common::run_job(&ctx, &jobs::History, &FULL),
    );
    let (conferences, history) = (conferences.unwrap(), history.unwrap());
    let answered = |endpoint| sim.state.requests("cloudroom", Some(endpoint), None);
    assert_eq!(conferences.api_calls, answered("conference.list"));
    assert_eq!(history.api_calls, answered("conference.history"));
    assert!(conferences.api_calls > 0 && history.api_calls > 0);
}

/// A simulator that answers in 40 ms and a mirror that reads two
/// conferences' recordings at a time: slow enough to stop mid-pass.
async fn slow_recordings() -> (
    confsync_sim::RunningSimulator,
    common::TestDb,
    confsync::jobs::JobContext,
) {
    let sim = common::simulator(SimConfig {
        latency_ms: 40,
        ..common::small_sim()
    })
    .await;
    let db = common::migrated_db().await;
    let mut ctx = common::mirror_context(&sim, &db);
    common::reconfigure(&mut ctx, |cr| cr.recordings_concurrency = 2);
    (sim, db, ctx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recordings_run_stopped_by_a_shutdown_is_abandoned() {
    let (sim, db, ctx) = slow_recordings().await;
    common::run_job(&ctx, &jobs::History, &FULL).await.unwrap();
    let run = {
        let ctx = ctx.clone();
        tokio::spawn(async move { common::run_job(&ctx, &jobs::Recordings, &FULL).await })
    };
    while sim
        .state
        .requests("cloudroom", Some("video.list"), Some(200))
        < 4
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    ctx.shutdown.cancel();
    let summary = run.await.unwrap().unwrap();
    assert!(summary.cancelled, "{summary}");
    assert_eq!(runs(&db.pool, "recordings").await[0].status, "abandoned");
}

/// A shutdown while the recordings pass follows the history pass stops
/// both: each run is abandoned, no read starts after the mirror returns,
/// and a later mirror stores what the stopped one did not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_stopped_while_recordings_follow_history_is_abandoned_and_resumes() {
    let (sim, db, ctx) = slow_recordings().await;
    let mirror = {
        let ctx = ctx.clone();
        tokio::spawn(async move { common::run_mirror(&ctx, &FULL).await })
    };
    let answered = || sim.state.requests("cloudroom", Some("video.list"), None);
    while answered() < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    ctx.shutdown.cancel();
    let summaries = mirror.await.unwrap().unwrap();
    let stopped: Vec<(&str, bool)> = summaries.iter().map(|s| (s.job, s.cancelled)).collect();
    assert_eq!(
        stopped,
        [
            ("conferences", false),
            ("history", true),
            ("recordings", true)
        ]
    );
    assert_eq!(runs(&db.pool, "recordings").await[0].status, "abandoned");
    let read = answered();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(answered(), read, "no read after the mirror returned");

    let ctx = common::mirror_context(&sim, &db);
    let again = common::run_mirror(&ctx, &FULL).await.unwrap();
    assert!(again.iter().all(|s| s.error.is_none() && !s.cancelled));
    let stored: i64 = sqlx::query_scalar("select count(*) from cloudroom.recordings")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let world = confsync_sim::lock(&sim.state.cloudroom).recordings().len() as i64;
    assert_eq!(stored, world);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_sync_stopped_by_a_signal_or_killed_leaves_no_run_that_looks_alive() {
    let sim = common::simulator(slow_history("lifecycleManualSync")).await;
    let db = common::migrated_db().await;
    let mut env = child_env(&sim, &db);
    let key = format!(
        "CONFSYNC_CLOUDROOM__RATE_LIMITS__{}",
        PACED.0.to_uppercase()
    );
    env.push((key, PACED.1.to_string()));
    for signal in ["-INT", "-KILL"] {
        let mut child = confsync(&env)
            .args(["sync", "history", "--full"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let before = history_rows(&db).await;
        wait_for("a committed page", Duration::from_secs(60), || async {
            history_rows(&db).await > before
        })
        .await;
        let pid = child.id().expect("running").to_string();
        let killed = std::process::Command::new("kill")
            .args([signal, &pid])
            .status();
        assert!(killed.unwrap().success());
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .expect("the sync exits")
            .unwrap();
        let last = runs(&db.pool, "history").await.pop().unwrap();
        match signal {
            // SIGINT: the run commits its page and records itself abandoned.
            "-INT" => {
                assert_eq!(status.code(), Some(1));
                assert_eq!(last.status, "abandoned", "{last:?}");
            }
            // SIGKILL: nothing can record it; the next run that takes the
            // lock marks it abandoned.
            _ => assert_eq!(last.status, "running", "{last:?}"),
        }
    }
    let ctx = common::mirror_context(&sim, &db);
    let rerun = common::run_job(&ctx, &jobs::History, &FULL).await.unwrap();
    assert!(rerun.error.is_none(), "{rerun}");
    let statuses: Vec<String> = runs(&db.pool, "history")
        .await
        .into_iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, ["abandoned", "abandoned", "succeeded"]);
}
