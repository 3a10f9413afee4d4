//! Request budgets against a simulator that enforces the document's limits
//! (300/min on the two list endpoints only) and, on request, limits the
//! document does not state. Each test signs with a secretId of its own: the
//! budgets are shared per secretId across the process.

use crate::common;

use std::time::{Duration, Instant};

use confsync::jobs::{self, RunOptions};
use confsync_sim::rate::{ListScope, OtherLimit, RateFlags, RateWindow};
use confsync_sim::{RunningSimulator, SimConfig};

const FULL: RunOptions = RunOptions {
    full: true,
    since: None,
    allow_mass_delete: false,
    retry_failed: false,
    alongside: confsync::mirror::follow::Alongside::Alone,
};

fn sim_config(secret_id: &str, rate: RateFlags) -> SimConfig {
    SimConfig {
        secret_id: secret_id.into(),
        rate,
        latency_ms: 30,
        ..common::small_sim()
    }
}

/// A mirror context with the default budgets (as a user gets them).
fn context(sim: &RunningSimulator, db: &common::TestDb) -> jobs::JobContext {
    let mut ctx = common::mirror_context(sim, db);
    common::reconfigure(&mut ctx, |cr| cr.rate_limits.clear());
    ctx
}

fn answered(sim: &RunningSimulator, endpoint: Option<&str>, status: Option<u16>) -> u64 {
    sim.state.requests("cloudroom", endpoint, status)
}

/// A list limit low enough that a full mirror (one conference page, about
/// five history pages) must wait out one window.
async fn mirror_under_list_limit(
    rate: RateFlags,
    secret_id: &str,
) -> (RunningSimulator, common::TestDb, Vec<jobs::JobSummary>) {
    let per_minute = rate.list_requests_per_minute;
    let sim = common::simulator(sim_config(secret_id, rate)).await;
    let db = common::migrated_db().await;
    let mut ctx = context(&sim, &db);
    common::reconfigure(&mut ctx, |cr| cr.requests_per_minute = Some(per_minute));
    let started = Instant::now();
    let summaries = common::run_mirror(&ctx, &FULL).await.expect("mirror");
    assert!(
        started.elapsed() >= Duration::from_secs(55),
        "the budget waited for the window"
    );
    (sim, db, summaries)
}

/// Mirrors the history, then starts a full recordings pass in the background.
async fn history_then_recordings(
    ctx: &jobs::JobContext,
) -> tokio::task::JoinHandle<anyhow::Result<jobs::JobSummary>> {
    common::run_job(ctx, &jobs::History, &FULL)
        .await
        .expect("history");
    let ctx = ctx.clone();
    tokio::spawn(async move { common::run_job(&ctx, &jobs::Recordings, &FULL).await })
}

async fn conferences_in_history(db: &common::TestDb) -> u64 {
    let n: i64 =
        sqlx::query_scalar("select count(distinct conf_id) from cloudroom.meeting_history")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    n as u64
}

#[tokio::test]
async fn under_the_documented_limits_a_mirror_gets_no_429() {
    no_429_under(RateWindow::Sliding, "rateDocumented01").await;
}

#[tokio::test]
async fn under_limits_counted_in_calendar_minutes_a_mirror_gets_no_429() {
    no_429_under(RateWindow::Fixed, "rateFixedMinute1").await;
}

async fn no_429_under(window: RateWindow, secret_id: &str) {
    let rate = RateFlags {
        list_requests_per_minute: 2,
        rate_window: window,
        ..RateFlags::default()
    };
    let (sim, _db, summaries) = mirror_under_list_limit(rate, secret_id).await;
    for s in &summaries {
        assert!(s.error.is_none(), "{s}");
    }
    let lists = answered(&sim, Some("conference.list"), None)
        + answered(&sim, Some("conference.history"), None);
    assert!(
        lists > 4,
        "the mirror crossed a window: {lists} list requests"
    );
    assert_eq!(answered(&sim, None, Some(429)), 0);
}

#[tokio::test]
async fn when_the_two_lists_share_one_limit_the_mirror_still_completes() {
    let rate = RateFlags {
        list_requests_per_minute: 4,
        list_limit_scope: ListScope::Shared,
        ..RateFlags::default()
    };
    let (sim, db, summaries) = mirror_under_list_limit(rate, "rateSharedLists1").await;
    for s in &summaries {
        assert!(s.error.is_none(), "{s}");
    }
    assert_eq!(
        answered(&sim, Some("video.list"), Some(200)),
        conferences_in_history(&db).await,
        "every conference's recordings were read"
    );
}

#[tokio::test]
async fn an_unstated_limit_on_recordings_is_learned_and_kept() {
    let rate = RateFlags {
        other_requests_per_minute: vec![OtherLimit {
            endpoint: Some("video.list".into()),
            per_minute: 60,
        }],
        ..RateFlags::default()
    };
    let config = SimConfig {
        history: 130,
        ..sim_config("rateLearnVideo01", rate)
    };
    let sim = common::simulator(config).await;
    let db = common::migrated_db().await;
    let ctx = context(&sim, &db);
    let recordings = history_then_recordings(&ctx).await;
    // The first window: 60 accepted, then refusals until the budget is learned.
    tokio::time::sleep(Duration::from_secs(30)).await;
    let early_ok = answered(&sim, Some("video.list"), Some(200));
    let early_refused = answered(&sim, Some("video.list"), Some(429));
    let summary = recordings.await.unwrap().expect("recordings");
    assert!(summary.error.is_none(), "{summary}");
    let late_ok = answered(&sim, Some("video.list"), Some(200)) - early_ok;
    let late_refused = answered(&sim, Some("video.list"), Some(429)) - early_refused;
    assert_eq!(
        early_ok + late_ok,
        conferences_in_history(&db).await,
        "every conference was read"
    );
    assert!(early_refused > 0, "the limit was met");
    assert!(late_ok > 0, "the run went past the first window");
    assert!(
        late_refused * (early_ok + early_refused) < early_refused * (late_ok + late_refused),
        "the share of 429s fell: {early_refused} of {} at first, {late_refused} of {} later",
        early_ok + early_refused,
        late_ok + late_refused
    );
    // Kept for the next run, and exported.
    let (per_minute,): (i32,) = sqlx::query_as(
        "select per_minute from confsync.rate_budgets where vendor = 'cloudroom' and endpoint = 'video.list'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("the learned budget is stored");
    // Near the server's 60: learned from what it accepted, then crept up.
    assert!((30..=70).contains(&per_minute), "{per_minute}");
    assert!(confsync::metrics::render().contains(
        "confsync_rate_budget_requests_per_minute{endpoint=\"video.list\",tenant=\"default\",vendor=\"cloudroom\"}"
    ));
}

#[tokio::test]
async fn refused_credentials_cost_one_request() {
    let sim = common::simulator(sim_config("rateRefusedAtStart", RateFlags::default())).await;
    let db = common::migrated_db().await;
    let ctx = context(&sim, &db);
    common::run_job(&ctx, &jobs::History, &FULL)
        .await
        .expect("history");
    sim.state.faults().cloudroom_revoked = true;
    let summary = common::run_job(&ctx, &jobs::Recordings, &FULL)
        .await
        .expect("run");
    let error = summary.error.expect("the pass fails");
    assert!(error.contains("22006"), "{error}");
    assert_eq!(
        answered(&sim, Some("video.list"), Some(400)),
        1,
        "one refused request, then nothing"
    );
    assert_eq!(answered(&sim, Some("video.list"), None), 1);
}

#[tokio::test]
async fn credentials_revoked_mid_pass_stop_it_at_once() {
    let sim = common::simulator(sim_config("rateRevokedMidRun", RateFlags::default())).await;
    let db = common::migrated_db().await;
    let ctx = context(&sim, &db);
    let concurrency = ctx.settings.cloudroom.recordings_concurrency as u64;
    assert!(
        concurrency >= 16,
        "the default reads at least 16 conferences at once"
    );
    let recordings = history_then_recordings(&ctx).await;
    while answered(&sim, Some("video.list"), Some(200)) < 40 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    sim.state.faults().cloudroom_revoked = true;
    let summary = recordings.await.unwrap().expect("run");
    let error = summary.error.expect("the pass fails");
    assert!(error.contains("22006"), "{error}");
    let refused = answered(&sim, Some("video.list"), Some(400));
    // Only the requests already in flight when the first refusal came back.
    assert!(
        (1..=concurrency).contains(&refused),
        "{refused} refused requests"
    );
    assert!(answered(&sim, Some("video.list"), Some(200)) < 250);
}
