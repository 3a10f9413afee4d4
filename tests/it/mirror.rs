//! The mirror against the simulator and a real PostgreSQL.

use crate::common;

use confsync::jobs::{self, JobSummary, RunOptions};
use confsync::mirror::history::WINDOW_SECONDS;
use confsync_sim::lock;
use reqwest::Method;
use serde_json::json;

const FULL: RunOptions = RunOptions {
    full: true,
    since: None,
    allow_mass_delete: false,
    retry_failed: false,
    alongside: confsync::mirror::follow::Alongside::Alone,
};
const INCREMENTAL: RunOptions = RunOptions {
    full: false,
    since: None,
    allow_mass_delete: false,
    retry_failed: false,
    alongside: confsync::mirror::follow::Alongside::Alone,
};

async fn mirror_all(ctx: &jobs::JobContext, options: &RunOptions) -> Vec<JobSummary> {
    let summaries = common::run_mirror(ctx, options).await.expect("mirror runs");
    for s in &summaries {
        assert!(s.error.is_none(), "{s}");
    }
    summaries
}

async fn count(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn first_mirror_matches_the_source_and_a_rerun_rewrites_nothing() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let ctx = common::mirror_context(&sim, &db);
    let first = mirror_all(&ctx, &INCREMENTAL).await;

    let (conferences, history, recordings) = {
        let world = lock(&sim.state.cloudroom);
        (
            world.conferences().len() as i64,
            world.history().len() as i64,
            world.recordings().len() as i64,
        )
    };
    assert_eq!(
        count(&db.pool, "select count(*) from cloudroom.conferences").await,
        conferences
    );
    assert_eq!(
        count(&db.pool, "select count(*) from cloudroom.meeting_history").await,
        history
    );
    assert_eq!(
        count(&db.pool, "select count(*) from cloudroom.recordings").await,
        recordings
    );
    assert_eq!(
        count(&db.pool, "select count(*) from cloudroom.recording_urls").await,
        recordings
    );
    let inserted: u64 = first.iter().map(|s| s.rows_inserted).sum();
    assert_eq!(inserted as i64, conferences + history + recordings);

    // Periodic meetings repeat their confId and are kept apart by start time.
    let repeated = count(
        &db.pool,
        "select count(*) from (select conf_id from cloudroom.meeting_history group by conf_id having count(*) > 1) t",
    )
    .await;
    assert!(repeated > 0, "the simulator generates periodic meetings");

    let xid: i64 = sqlx::query_scalar("select txid_current()")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let second = mirror_all(&ctx, &INCREMENTAL).await;
    for s in &second {
        assert_eq!((s.rows_inserted, s.rows_updated), (0, 0), "{s}");
    }
    assert_eq!(
        rows_written_since(&db.pool, xid).await,
        0,
        "no row was physically rewritten"
    );
    // Big ids survive.
    assert!(
        count(
            &db.pool,
            "select count(*) from cloudroom.meeting_history where conf_id > 2147483647"
        )
        .await
            > 0
    );
}

/// Rows whose current version was written by a transaction after `xid`.
async fn rows_written_since(pool: &sqlx::PgPool, xid: i64) -> i64 {
    let mut total = 0;
    for table in [
        "conferences",
        "meeting_history",
        "recordings",
        "recording_urls",
    ] {
        let sql = format!(
            "select count(*) from cloudroom.{table} where xmin::text::bigint > ({xid} % 4294967296)"
        );
        total += count(pool, &sql).await;
    }
    total
}

#[tokio::test]
async fn history_is_read_in_windows_with_the_minimal_number_of_requests() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let ctx = common::mirror_context(&sim, &db);
    let summary = common::run_job(&ctx, &jobs::History, &INCREMENTAL)
        .await
        .unwrap();
    assert!(summary.error.is_none(), "{summary}");

    // Recompute the windows the job walks and the pages each needs.
    let state: serde_json::Value =
        sqlx::query_scalar("select state from confsync.sync_state where job = 'history'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    // The pass ended at the watermark it recorded.
    let until = state["watermark"].as_i64().unwrap();
    let start = chrono::NaiveDate::from_ymd_opt(2022, 12, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp();
    let starts: Vec<i64> = lock(&sim.state.cloudroom)
        .history()
        .iter()
        .map(|h| h.start_time)
        .collect();
    let mut expected = 0u64;
    let mut window = start;
    while window <= until {
        let end = (window + WINDOW_SECONDS - 1).min(until);
        let n = starts.iter().filter(|&&s| s >= window && s <= end).count() as u64;
        expected += n.div_ceil(100).max(1);
        window = end + 1;
    }
    assert!(expected >= 4, "three years need at least four windows");
    assert_eq!(
        sim.state
            .requests("cloudroom", Some("conference.history"), None),
        expected
    );
    assert_eq!(summary.api_calls, expected);
    // No window was rejected as longer than a year.
    assert_eq!(
        sim.state
            .requests("cloudroom", Some("conference.history"), Some(500)),
        0
    );
}

#[tokio::test]
async fn mutations_are_reflected_by_an_incremental_run_then_a_full_run() {
    // Data anchored today, so that the conference ended below started within the lookback.
    let sim = common::simulator(confsync_sim::SimConfig {
        anchor: None,
        ..common::small_sim()
    })
    .await;
    let db = common::migrated_db().await;
    let ctx = common::mirror_context(&sim, &db);
    mirror_all(&ctx, &INCREMENTAL).await;
    let now = chrono::Utc::now().timestamp();

    // New history: a meeting that just ended, with a recording.
    let new_conf: i64 = 9_100_000_001;
    common::admin(
        &sim,
        Method::POST,
        "history",
        Some(json!({
            "confId": new_conf, "subject": "新会议", "startTime": now - 3600, "endTime": now - 60,
        })),
    )
    .await;
    common::admin(
        &sim,
        Method::POST,
        "recordings",
        Some(json!({"confId": new_conf, "fileId": "new-rec-1"})),
    )
    .await;
    // A conference that ends now moves into history.
    let (ending, deleted_conf, old, old_rec, url_rec) = {
        let world = lock(&sim.state.cloudroom);
        let confs = world.conferences();
        let hist = world.history();
        let old = hist.iter().min_by_key(|h| h.start_time).unwrap();
        let rec = world
            .recordings()
            .iter()
            .find(|r| r.conf_id != old.conf_id)
            .unwrap();
        let other = world
            .recordings()
            .iter()
            .find(|r| r.conf_id != old.conf_id && r.file_id != rec.file_id)
            .unwrap();
        (
            confs[0].conf_id,
            confs[1].conf_id,
            (old.conf_id, old.start_time),
            rec.file_id.to_string(),
            other.file_id.to_string(),
        )
    };
    common::admin(
        &sim,
        Method::POST,
        &format!("conferences/{ending}/end"),
        None,
    )
    .await;
    // An old history row edited, a recording deleted, a download URL changed, a conference deleted.
    common::admin(
        &sim,
        Method::PUT,
        &format!("history/{}/{}", old.0, old.1),
        Some(json!({"subject": "改过的旧会议"})),
    )
    .await;
    common::admin(&sim, Method::DELETE, &format!("recordings/{old_rec}"), None).await;
    common::admin(
        &sim,
        Method::PUT,
        &format!("recordings/{url_rec}"),
        Some(json!({"url": "http://cdn.example/new.mp4?download"})),
    )
    .await;
    common::admin(
        &sim,
        Method::DELETE,
        &format!("conferences/{deleted_conf}"),
        None,
    )
    .await;
    // A recording that appears late for the meeting that just ended.
    common::admin(
        &sim,
        Method::POST,
        "recordings",
        Some(json!({"confId": new_conf, "fileId": "late-rec-2"})),
    )
    .await;

    mirror_all(&ctx, &INCREMENTAL).await;
    let pool = &db.pool;
    assert_eq!(
        count(
            pool,
            &format!("select count(*) from cloudroom.meeting_history where conf_id = {new_conf}")
        )
        .await,
        1
    );
    assert_eq!(
        count(
            pool,
            &format!("select count(*) from cloudroom.recordings where conf_id = {new_conf}")
        )
        .await,
        2
    );
    assert_eq!(
        count(
            pool,
            &format!("select count(*) from cloudroom.meeting_history where conf_id = {ending}")
        )
        .await,
        1
    );
    assert_eq!(count(pool, &format!("select count(*) from cloudroom.conferences where conf_id = {ending} and removed_at is not null")).await, 1);
    assert_eq!(count(pool, &format!("select count(*) from cloudroom.conferences where conf_id = {deleted_conf} and removed_at is not null")).await, 1);

    mirror_all(&ctx, &FULL).await;
    assert_eq!(
        count(pool, &format!("select count(*) from cloudroom.meeting_history where conf_id = {} and subject = '改过的旧会议'", old.0)).await,
        1,
        "the full pass re-reads old history"
    );
    assert_eq!(count(pool, &format!("select count(*) from cloudroom.recordings where file_id = '{old_rec}' and deleted_at is not null")).await, 1);
    assert_eq!(
        count(
            pool,
            &format!("select count(*) from cloudroom.recording_urls where file_id = '{url_rec}'")
        )
        .await,
        2
    );
    assert_eq!(count(pool, &format!("select count(*) from report.recording_url_changes where file_id = '{url_rec}' and is_current")).await, 1);
    assert_eq!(
        count(pool, &format!("select count(*) from cloudroom.recordings where file_id = '{url_rec}' and download_url = 'http://cdn.example/new.mp4?download'")).await,
        1
    );
}

#[tokio::test]
async fn failures_between_pages_then_reruns_give_the_same_tables_as_a_clean_run() {
    let clean_sim = common::simulator(common::small_sim()).await;
    let clean_db = common::migrated_db().await;
    mirror_all(&common::mirror_context(&clean_sim, &clean_db), &INCREMENTAL).await;

    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let mut ctx = common::mirror_context(&sim, &db);
    // No retries: every injected failure aborts the run mid-pass.
    common::reconfigure(&mut ctx, |cr| cr.max_retries = 0);
    sim.state.faults().fail_rate = Some(0.08);
    let mut failed_runs = 0;
    for _ in 0..6 {
        let summaries = common::run_mirror(&ctx, &INCREMENTAL).await.unwrap();
        failed_runs += summaries.iter().filter(|s| s.error.is_some()).count();
    }
    assert!(failed_runs > 0, "some runs were interrupted");
    sim.state.faults().fail_rate = Some(0.0);
    mirror_all(&ctx, &INCREMENTAL).await;
    assert_eq!(
        common::snapshot(&db.pool).await,
        common::snapshot(&clean_db.pool).await
    );
    let failed: i64 = count(
        &db.pool,
        "select count(*) from confsync.sync_runs where status = 'failed'",
    )
    .await;
    assert_eq!(failed as usize, failed_runs);
}

#[tokio::test]
async fn meeting_passwords_stay_out_of_raw_unless_asked_for() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let mut ctx = common::mirror_context(&sim, &db);
    common::run_job(&ctx, &jobs::Conferences, &INCREMENTAL)
        .await
        .unwrap();
    let with_password = "select count(*) from cloudroom.conferences where raw ? 'password'";
    assert_eq!(count(&db.pool, with_password).await, 0);
    common::reconfigure(&mut ctx, |cr| cr.keep_meeting_passwords = true);
    common::run_job(&ctx, &jobs::Conferences, &INCREMENTAL)
        .await
        .unwrap();
    let listed = lock(&sim.state.cloudroom).conferences().len() as i64;
    assert_eq!(count(&db.pool, with_password).await, listed);
}

#[tokio::test]
async fn the_page_one_wrap_is_recognised_against_the_simulator() {
    use confsync::cloudroom::ListQuery;
    use confsync::mirror::paging::{Pager, Verdict, PAGE_SIZE};

    let sim = common::simulator(common::small_sim()).await;
    let db = common::test_db().await;
    let ctx = common::mirror_context(&sim, &db);
    let mut pager = Pager::starting_at(1);
    let first = ctx
        .cloudroom()
        .unwrap()
        .list_history(&ListQuery::page(1, PAGE_SIZE))
        .await
        .unwrap();
    assert!(first.total > 100, "needs at least two pages");
    let key = |p: &confsync::cloudroom::Page<confsync::cloudroom::ConferenceRecord>| {
        p.records.first().map(|r| r.raw.to_string())
    };
    assert_eq!(
        pager.judge(first.total, first.remaining, key(&first)),
        Verdict::Keep { more: true }
    );
    // The list shrinks to one page between two requests: the server answers page 2 with page 1.
    let doomed: Vec<(i64, i64)> = lock(&sim.state.cloudroom)
        .history()
        .iter()
        .skip(50)
        .map(|h| (h.conf_id, h.start_time))
        .collect();
    for (conf_id, start) in doomed {
        common::admin(
            &sim,
            Method::DELETE,
            &format!("history/{conf_id}/{start}"),
            None,
        )
        .await;
    }
    let second = ctx
        .cloudroom()
        .unwrap()
        .list_history(&ListQuery::page(2, PAGE_SIZE))
        .await
        .unwrap();
    assert_eq!(
        key(&second),
        key(&first),
        "the simulator wraps like the real API"
    );
    assert_eq!(
        pager.judge(second.total, second.remaining, key(&second)),
        Verdict::Wrapped
    );
}

/// Meetings deleted in CloudRoom are marked by a full pass, and unmarked
/// when they come back; an incremental pass marks nothing.
#[tokio::test]
async fn a_full_pass_marks_deleted_meetings_and_clears_the_mark_when_they_return() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let ctx = common::mirror_context(&sim, &db);
    common::run_mirror(&ctx, &FULL).await.unwrap();
    let removed: Vec<_> = {
        let mut world = lock(&sim.state.cloudroom);
        let keys: Vec<(i64, i64)> = world
            .history()
            .iter()
            .step_by(50)
            .take(3)
            .map(|m| (m.conf_id, m.start_time))
            .collect();
        keys.iter()
            .map(|(c, s)| world.remove_history(*c, *s).unwrap())
            .collect()
    };
    let marked = || async {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "select conf_id, extract(epoch from start_time)::bigint from cloudroom.meeting_history
              where removed_at is not null order by 1, 2",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap();
        rows
    };
    common::run_job(&ctx, &jobs::History, &INCREMENTAL)
        .await
        .unwrap();
    assert!(
        marked().await.is_empty(),
        "an incremental pass marks nothing"
    );
    let summary = common::run_job(&ctx, &jobs::History, &FULL).await.unwrap();
    assert!(summary.error.is_none(), "{summary}");
    let mut expected: Vec<(i64, i64)> = removed.iter().map(|m| (m.conf_id, m.start_time)).collect();
    expected.sort();
    assert_eq!(marked().await, expected);
    // A second full pass is idempotent: the same three, nothing else.
    common::run_job(&ctx, &jobs::History, &FULL).await.unwrap();
    assert_eq!(marked().await, expected);
    {
        let mut world = lock(&sim.state.cloudroom);
        for meeting in removed {
            assert!(world.insert_history(meeting));
        }
    }
    common::run_job(&ctx, &jobs::History, &FULL).await.unwrap();
    assert!(marked().await.is_empty(), "the meetings came back");
}

/// The document's examples leave out `remaining`: a server that does the
/// same is paged by `total`, and the mirror gets every row.
#[tokio::test]
async fn lists_without_remaining_are_paged_by_total() {
    // Several pages per history window and in the conference list.
    let shape = || confsync_sim::SimConfig {
        conferences: 250,
        history: 1500,
        ..common::small_sim()
    };
    let clean_sim = common::simulator(shape()).await;
    let clean_db = common::migrated_db().await;
    mirror_all(&common::mirror_context(&clean_sim, &clean_db), &FULL).await;
    let sim = common::simulator(confsync_sim::SimConfig {
        omit_remaining: true,
        ..shape()
    })
    .await;
    let db = common::migrated_db().await;
    mirror_all(&common::mirror_context(&sim, &db), &FULL).await;
    assert_eq!(
        common::snapshot(&db.pool).await,
        common::snapshot(&clean_db.pool).await
    );
}

/// `sync mirror` runs the recordings pass alongside the history pass: it
/// reads each conference a committed history page queued while later pages
/// are still read, each conference once, and leaves the queue empty.
#[tokio::test]
async fn recordings_follow_the_history_pass_and_read_each_conference_once() {
    let sim = common::simulator(confsync_sim::SimConfig {
        latency_ms: 15,
        ..common::small_sim()
    })
    .await;
    let db = common::migrated_db().await;
    let ctx = common::mirror_context(&sim, &db);
    let summaries = mirror_all(&ctx, &INCREMENTAL).await;
    let jobs: Vec<&str> = summaries.iter().map(|s| s.job).collect();
    assert_eq!(jobs, ["conferences", "history", "recordings"]);

    let overlapped: bool = sqlx::query_scalar(
        "select (select min(first_seen_at) from cloudroom.recordings)
              < (select finished_at from confsync.sync_runs where job = 'history')",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(
        overlapped,
        "recordings were written while the history pass ran"
    );
    let conferences = count(
        &db.pool,
        "select count(distinct conf_id) from cloudroom.meeting_history",
    )
    .await;
    assert_eq!(
        summaries[2].api_calls as i64, conferences,
        "one recordings request per conference, periodic meetings included"
    );
    assert_eq!(
        count(&db.pool, "select count(*) from confsync.recording_queue").await,
        0
    );
    let recordings = lock(&sim.state.cloudroom).recordings().len() as i64;
    assert_eq!(
        count(&db.pool, "select count(*) from cloudroom.recordings").await,
        recordings
    );
}
