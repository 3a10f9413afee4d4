//! Daemon processes sharing one database: the work spreads, each
//! (tenant, job, tick) runs once, and a daemon SIGKILLed mid-run has its
//! run finished by another within the lease.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};
use confsync_sim::SimConfig;

use crate::common::daemon::{confsync, sigterm, wait_for};
use crate::common::{self, TestDb};
use crate::tenants::{
    assert_each_tick_once, load, sim_with_tenants, wait_until_mirrored, write_config,
};

/// A `confsync run` child; its log goes to `daemon-<n>.log` beside the configuration.
fn spawn_daemon(config: &Path, n: usize) -> tokio::process::Child {
    let log = config.with_file_name(format!("daemon-{n}.log"));
    confsync(&[])
        .arg("--config")
        .arg(config)
        .arg("run")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start a daemon")
}

async fn stop(mut daemons: Vec<tokio::process::Child>) {
    for daemon in &daemons {
        sigterm(daemon);
    }
    for daemon in &mut daemons {
        let status = tokio::time::timeout(Duration::from_secs(20), daemon.wait()).await;
        assert!(status.expect("daemon exits").unwrap().success());
    }
}

#[tokio::test]
async fn three_daemon_processes_share_the_tenants_and_run_each_tick_once() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, tenants) = sim_with_tenants(4, common::small_sim(), dir.path()).await;
    let db = common::migrated_db().await;
    let schedule = crate::tenants::EVERY_SECOND_MIRROR.replace("* * * * * *", "*/2 * * * * *");
    let extra = format!("[daemon]\nmax_concurrent_runs = 2\nlease_seconds = 6\n{schedule}");
    let path = write_config(dir.path(), &sim, &db, &tenants, (4, true), &extra);
    let daemons: Vec<_> = (0..3).map(|n| spawn_daemon(&path, n)).collect();
    let names = ["t001", "t002", "t003", "t004"];
    wait_until_mirrored(&db, &names, Duration::from_secs(90)).await;
    // A few more ticks after the first mirror: re-syncs that change nothing.
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop(daemons).await;
    assert_each_tick_once(&db.pool).await;
    let owners: Vec<String> = sqlx::query_scalar(
        "select distinct split_part(lease_owner, '/', 2) from confsync.sync_runs",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(
        owners.len() >= 2,
        "the work spread over the daemons: {owners:?}"
    );
    let failing: Vec<String> = sqlx::query_scalar(
        "select distinct tenant from confsync.sync_runs
          where status not in ('succeeded', 'abandoned')",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        failing,
        ["bad"],
        "only the tenant with a wrong secretKey fails"
    );
    // Every tick of every (tenant, job) between the first and the last one
    // a daemon ran is there, unless a run of it was still going.
    assert_no_missed_ticks(&db.pool, 2).await;
}

/// Gaps between a job's consecutive ticks are the schedule's step, or
/// covered by the run before (still going at the skipped tick).
async fn assert_no_missed_ticks(pool: &sqlx::PgPool, step_seconds: i64) {
    let missed: Vec<(String, String, chrono::DateTime<Utc>)> = sqlx::query_as(
        "select tenant, job, scheduled_for from (
            select tenant, job, scheduled_for, finished_at,
                   lead(scheduled_for) over w as next_tick,
                   lag(finished_at) over w as previous_end
              from confsync.sync_runs where scheduled_for is not null
            window w as (partition by tenant, job order by scheduled_for)) t
          where next_tick - scheduled_for > make_interval(secs => $1)
            and finished_at < next_tick - make_interval(secs => $1)",
    )
    .bind(step_seconds as f64)
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(missed.is_empty(), "ticks missed after: {missed:?}");
}

/// The history as a digest: what a reader of the table sees.
async fn history_digest(pool: &sqlx::PgPool) -> (i64, String) {
    sqlx::query_as(
        "select count(*), coalesce(md5(string_agg(conf_id || '@' || start_time || ':' || encode(content_hash, 'hex')
                || ':' || (removed_at is null), ',' order by conf_id, start_time)), '')
           from cloudroom.meeting_history",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The cron expression of the first whole second at least `ahead` from now.
fn at_second(ahead: Duration) -> (String, chrono::DateTime<Utc>) {
    let tick = (Utc::now() + chrono::Duration::from_std(ahead).unwrap())
        .with_nanosecond(0)
        .unwrap()
        + chrono::Duration::seconds(1);
    let expression = format!("{} {} {} * * *", tick.second(), tick.minute(), tick.hour());
    (expression, tick)
}

#[tokio::test]
async fn a_sigkilled_daemons_run_is_finished_by_another_within_the_lease() {
    let dir = tempfile::tempdir().unwrap();
    let config = SimConfig {
        history: 3000,
        ..common::small_sim()
    };
    let (sim, tenants) = sim_with_tenants(1, config, dir.path()).await;
    let db = common::migrated_db().await;
    let (expression, tick) = at_second(Duration::from_secs(4));
    let extra = format!(
        "[daemon]\nlease_seconds = 3\n[schedule]\ntimezone = \"UTC\"\nhistory = \"{expression}\"\n\
         conferences = \"off\"\nrecordings = \"off\"\ndetails = \"off\"\nreconcile = \"off\"\n\
         directory = \"off\"\nattendance = \"off\"\narchive = \"off\"\n"
    );
    let path = write_config(dir.path(), &sim, &db, &tenants, (1, false), &extra);
    let text = std::fs::read_to_string(&path).unwrap();
    // The first daemon runs the tick, slowly enough to be killed mid-run
    // (six history pages, then one every ten seconds); the second has the
    // job too but no tick of it during the test, and no limit.
    let slow = path.with_file_name("slow.toml");
    std::fs::write(
        &slow,
        text.replace("conference_history = 0", "conference_history = 6"),
    )
    .unwrap();
    let yearly = text.replace(
        &format!("history = \"{expression}\""),
        "history = \"0 0 0 1 1 *\"",
    );
    std::fs::write(&path, yearly).unwrap();
    let mut daemons = vec![spawn_daemon(&slow, 0), spawn_daemon(&path, 1)];
    let owner = running_owner(&db, tick).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        daemons[0].id(),
        Some(owner.1),
        "the first daemon runs the tick"
    );
    let status: String = sqlx::query_scalar("select status from confsync.sync_runs where id = $1")
        .bind(owner.0)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(status, "running", "killed mid-run");
    let mut killed = daemons.remove(0);
    killed.start_kill().unwrap();
    killed.wait().await.unwrap();
    let killed_at = Instant::now();

    wait_for(
        "the run to be taken over",
        Duration::from_secs(15),
        || async {
            let attempts: i32 =
                sqlx::query_scalar("select attempts from confsync.sync_runs where id = $1")
                    .bind(owner.0)
                    .fetch_one(&db.pool)
                    .await
                    .unwrap();
            attempts == 2
        },
    )
    .await;
    let took = killed_at.elapsed();
    assert!(
        took < Duration::from_secs(3 + 5),
        "taken over {took:?} after the kill"
    );
    wait_for(
        "the taken-over run to succeed",
        Duration::from_secs(60),
        || async {
            let status: String =
                sqlx::query_scalar("select status from confsync.sync_runs where id = $1")
                    .bind(owner.0)
                    .fetch_one(&db.pool)
                    .await
                    .unwrap();
            status == "succeeded"
        },
    )
    .await;
    stop(daemons).await;
    let runs: i64 = sqlx::query_scalar("select count(*) from confsync.sync_runs")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(runs, 1, "one run for the tick, continued, not a second one");
    assert_eq!(history_digest(&db.pool).await, clean_history(&path).await);
}

/// The id and owner pid of the history run for `tick`, once it is running.
async fn running_owner(db: &TestDb, tick: chrono::DateTime<Utc>) -> (i64, u32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let row: Option<(i64, String)> = sqlx::query_as(
            "select id, lease_owner from confsync.sync_runs
              where job = 'history' and scheduled_for = $1 and status = 'running'",
        )
        .bind(tick)
        .fetch_optional(&db.pool)
        .await
        .unwrap();
        if let Some((id, owner)) = row {
            let pid = owner.split('/').nth(1).unwrap().parse().unwrap();
            return (id, pid);
        }
        assert!(Instant::now() < deadline, "the history run did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The same history mirrored by one uninterrupted run into a fresh database.
async fn clean_history(config: &Path) -> (i64, String) {
    let clean = common::migrated_db().await;
    let loaded = load(config);
    let mut settings = loaded.scoped_to(&loaded.tenant("t001").unwrap());
    settings.database.url = clean.url.clone();
    settings
        .cloudroom
        .rate_limits
        .insert("conference_history".into(), 0);
    let ctx = common::job_context(settings, &clean);
    common::run_job(&ctx, &confsync::jobs::History, &Default::default())
        .await
        .unwrap();
    history_digest(&clean.pool).await
}
