//! `confsync status [--json]`: a line per job from `confsync.sync_runs` and
//! the schedule.

use crate::common;
use crate::common::daemon as daemon_helpers;

use confsync::jobs::{self, RunOptions};
use daemon_helpers::{child_env, confsync};
use serde_json::Value;

#[tokio::test]
async fn status_prints_every_job_with_its_last_run_failures_and_next_time() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let ctx = common::mirror_context(&sim, &db);
    let summary = common::run_job(&ctx, &jobs::Conferences, &RunOptions::default())
        .await
        .unwrap();
    assert!(summary.error.is_none());
    for _ in 0..2 {
        sqlx::query(
            "insert into confsync.sync_runs (job, status, finished_at, error) values ('history', 'failed', now(), 'page 3: HTTP 500')",
        )
        .execute(&db.pool)
        .await
        .unwrap();
    }
    let mut env = child_env(&sim, &db);
    env.push((
        "CONFSYNC_SCHEDULE__CONFERENCES".into(),
        "0 */10 * * * *".into(),
    ));
    env.push(("CONFSYNC_SCHEDULE__HISTORY".into(), "0 0 * * * *".into()));
    env.push(("CONFSYNC_SCHEDULE__TIMEZONE".into(), "Asia/Shanghai".into()));

    let out = confsync(&env).arg("status").output().await.unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("JOB"), "{table}");
    for (line, job) in lines[1..7].iter().zip([
        "conferences",
        "history",
        "recordings",
        "details",
        "reconcile",
        "directory",
    ]) {
        assert!(line.starts_with(job), "{table}");
    }
    let conferences = lines[1];
    assert!(conferences.contains("succeeded"), "{table}");
    assert!(conferences.contains("30/0/0"), "{table}");
    assert!(
        conferences.contains("CST"),
        "times in the schedule's zone: {table}"
    );
    let history: Vec<&str> = lines[2].split_whitespace().collect();
    assert!(
        history.contains(&"failed") && history.contains(&"2"),
        "{table}"
    );
    assert!(
        lines[3].contains("never run") && lines[3].ends_with("off"),
        "{table}"
    );
    assert!(table.contains("history: page 3: HTTP 500"), "{table}");

    let out = confsync(&env)
        .args(["status", "--json"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    // JSON Lines: one job per line.
    let text = String::from_utf8_lossy(&out.stdout);
    let jobs = Value::Array(
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect(),
    );
    assert_eq!(jobs.as_array().unwrap().len(), confsync::jobs::JOBS.len());
    assert_eq!(jobs[0]["job"], "conferences");
    assert_eq!(jobs[0]["outcome"], "succeeded");
    assert_eq!(jobs[0]["rows_inserted"], 30);
    assert!(jobs[0]["duration_seconds"].as_f64().unwrap() >= 0.0);
    let next: chrono::DateTime<chrono::Utc> =
        jobs[0]["next_run"].as_str().unwrap().parse().unwrap();
    assert!(
        next > chrono::Utc::now() && next.timestamp() % 600 == 0,
        "{next}"
    );
    assert_eq!(jobs[1]["consecutive_failures"], 2);
    assert_eq!(jobs[2]["next_run"], Value::Null);
}
