//! Faults: the mirror loses nothing and converges under kills, vendor
//! errors, rate limits, clock skew and a database that drops connections.

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use confsync::cloudroom::{CloudRoomClient, ListQuery};
use confsync::jobs::RunOptions;
use confsync_sim::SimConfig;
use rand::{Rng, SeedableRng};

const INCREMENTAL: RunOptions = RunOptions {
    full: false,
    since: None,
    allow_mass_delete: false,
    retry_failed: false,
    alongside: confsync::mirror::follow::Alongside::Alone,
};

/// The environment a `confsync` child needs to mirror `sim` into `db`.
fn child_env(sim: &confsync_sim::RunningSimulator, db: &common::TestDb) -> Vec<(String, String)> {
    vec![
        ("CONFSYNC_DATABASE__URL".into(), db.url.clone()),
        (
            "CONFSYNC_CLOUDROOM__BASE_URL".into(),
            sim.cloudroom_base_url(),
        ),
        (
            "CONFSYNC_CLOUDROOM__SECRET_ID".into(),
            sim.state.config.secret_id.clone(),
        ),
        (
            "CONFSYNC_CLOUDROOM__SECRET_KEY".into(),
            sim.state.config.secret_key.clone(),
        ),
        (
            "CONFSYNC_CLOUDROOM__REQUESTS_PER_MINUTE".into(),
            "60000".into(),
        ),
        (
            "CONFSYNC_CLOUDROOM__HISTORY_START".into(),
            "2022-12-01".into(),
        ),
        ("CONFSYNC_LOGGING__LEVEL".into(), "error".into()),
    ]
}

fn confsync(env: &[(String, String)]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_confsync"));
    cmd.env_remove("CONFSYNC_CONFIG")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    cmd
}

async fn clean_snapshot(
    config: SimConfig,
) -> std::collections::BTreeMap<&'static str, serde_json::Value> {
    let sim = common::simulator(config).await;
    let db = common::migrated_db().await;
    let summaries = common::run_mirror(&common::mirror_context(&sim, &db), &INCREMENTAL)
        .await
        .unwrap();
    assert!(summaries.iter().all(|s| s.error.is_none()));
    common::snapshot(&db.pool).await
}

#[tokio::test]
async fn sigkill_at_twenty_random_points_then_reruns_equal_a_clean_run() {
    // More data and some latency stretch the mirror (several seconds) so the
    // kills land across all three jobs, inside and between transactions.
    let config = SimConfig {
        history: 3000,
        latency_ms: 2,
        ..common::small_sim()
    };
    let clean = clean_snapshot(config.clone()).await;
    let sim = common::simulator(config).await;
    let db = common::migrated_db().await;
    let env = child_env(&sim, &db);
    let mut rng = rand::rngs::StdRng::seed_from_u64(20);
    let mut killed = 0;
    let started = std::time::Instant::now();
    for _ in 0..20 {
        let mut child = confsync(&env).args(["sync", "mirror"]).spawn().unwrap();
        let after = Duration::from_millis(rng.random_range(30..400));
        tokio::select! {
            _ = child.wait() => {}
            _ = tokio::time::sleep(after) => {
                child.start_kill().unwrap(); // SIGKILL
                child.wait().await.unwrap();
                killed += 1;
            }
        }
    }
    assert!(
        killed >= 15,
        "most runs were killed mid-way ({killed} in {:?})",
        started.elapsed()
    );
    let status = confsync(&env)
        .args(["sync", "mirror"])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    assert_eq!(common::snapshot(&db.pool).await, clean);
}

#[tokio::test]
async fn ten_percent_errors_and_429_bursts_converge_with_bounded_retries() {
    let clean = clean_snapshot(common::small_sim()).await;
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let mut ctx = common::mirror_context(&sim, &db);
    common::reconfigure(&mut ctx, |cr| cr.max_retries = 6);
    ctx.cloudroom = Some(
        ctx.cloudroom()
            .unwrap()
            .clone()
            .with_backoff(confsync::retry::Backoff {
                base: Duration::from_millis(5),
                max: Duration::from_millis(50),
                max_retries: 6,
            }),
    );
    sim.state.faults().fail_rate = Some(0.10);
    sim.state.faults().cloudroom_429_next = 5;
    let summaries = common::run_mirror(&ctx, &INCREMENTAL).await.unwrap();
    for s in &summaries {
        assert!(s.error.is_none(), "{s}");
    }
    assert_eq!(common::snapshot(&db.pool).await, clean);
    let failed = sim.state.requests("cloudroom", None, Some(500))
        + sim.state.requests("cloudroom", None, Some(429));
    let retries = ctx.cloudroom().unwrap().stats().retries();
    assert_eq!(
        retries, failed,
        "every failed answer was retried once, nothing more"
    );
    let answered = sim.state.requests("cloudroom", None, Some(200));
    assert!(
        retries * 4 < answered,
        "about 10% retries, not a storm: {retries} for {answered}"
    );
}

#[tokio::test]
async fn at_the_simulators_limit_the_limiter_gets_no_429() {
    let per_minute = 1200;
    let sim = common::simulator(SimConfig {
        rate: confsync_sim::rate::RateFlags {
            list_requests_per_minute: per_minute,
            ..Default::default()
        },
        ..common::small_sim()
    })
    .await;
    let db = common::test_db().await;
    let mut settings = common::settings_for(&sim, &db);
    settings.cloudroom.rate_limits.clear();
    settings.cloudroom.requests_per_minute = Some(per_minute);
    // A secretId of its own, so no other test shares this limiter.
    let client = CloudRoomClient::new(&settings.cloudroom).unwrap();
    let calls = (0..8).map(|_| {
        let client = client.clone();
        tokio::spawn(async move {
            for page in 1..=13 {
                client
                    .list_history(&ListQuery::page(page % 3 + 1, 100))
                    .await
                    .unwrap();
            }
        })
    });
    for call in calls {
        call.await.unwrap();
    }
    assert_eq!(sim.state.requests("cloudroom", None, Some(200)), 104);
    assert_eq!(sim.state.requests("cloudroom", None, Some(429)), 0);
}

#[tokio::test]
async fn a_clock_six_minutes_off_is_named_and_nothing_is_written() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    sim.state
        .clock_skew
        .store(6 * 60, std::sync::atomic::Ordering::Relaxed);
    let summaries = common::run_mirror(&common::mirror_context(&sim, &db), &INCREMENTAL)
        .await
        .unwrap();
    let error = summaries[0].error.clone().expect("the run fails");
    assert!(error.contains("clock"), "{error}");
    assert!(error.contains("22004"), "{error}");
    let rows: i64 = sqlx::query_scalar(
        "select (select count(*) from cloudroom.conferences) + (select count(*) from cloudroom.meeting_history)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(rows, 0);
    let failed: i64 =
        sqlx::query_scalar("select count(*) from confsync.sync_runs where status = 'failed'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(failed >= 1);
}

#[tokio::test]
async fn dropped_database_connections_fail_the_run_clearly_and_a_rerun_completes() {
    let config = SimConfig {
        history: 2000,
        latency_ms: 2,
        ..common::small_sim()
    };
    let clean = clean_snapshot(config.clone()).await;
    let sim = common::simulator(config).await;
    let db = common::migrated_db().await;
    let ctx = common::mirror_context(&sim, &db);
    let name = db.name.clone();
    let killer = tokio::spawn(async move {
        let admin = common::test_db().await;
        // Let the mirror get going, then keep cutting every connection to its
        // database for a while, as a server restart would.
        tokio::time::sleep(Duration::from_millis(200)).await;
        for _ in 0..20 {
            sqlx::query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()")
                .bind(&name)
                .execute(&admin.pool)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let result = common::run_mirror(&ctx, &INCREMENTAL).await;
    killer.await.unwrap();
    let failed_somewhere = match &result {
        Err(e) => format!("{e:#}"),
        Ok(summaries) => summaries
            .iter()
            .filter_map(|s| s.error.clone())
            .collect::<Vec<_>>()
            .join("; "),
    };
    assert!(!failed_somewhere.is_empty(), "the cut was noticed");
    assert!(
        failed_somewhere.contains("database")
            || failed_somewhere.contains("connection")
            || failed_somewhere.contains("transaction"),
        "{failed_somewhere}"
    );
    let summaries = common::run_mirror(&ctx, &INCREMENTAL).await.unwrap();
    assert!(summaries.iter().all(|s| s.error.is_none()), "{summaries:?}");
    assert_eq!(common::snapshot(&db.pool).await, clean);
}
