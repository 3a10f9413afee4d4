//! Helpers for the daemon tests: settings with every job off, the run
//! history as rows, waiting for a condition, a child process environment.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use confsync::configuration::Settings;
use confsync_sim::RunningSimulator;

use crate::common::{self, TestDb};

/// Settings for `sim` and `db` with every job off, HTTP on a free port and
/// times in UTC; tests switch on what they need.
pub fn daemon_settings(sim: &RunningSimulator, db: &TestDb) -> Settings {
    let mut s = common::settings_for(sim, db);
    s.database.max_connections = 8;
    s.http.listen = "127.0.0.1:0".into();
    s.schedule.timezone = "UTC".into();
    for job in [
        &mut s.schedule.conferences,
        &mut s.schedule.history,
        &mut s.schedule.recordings,
        &mut s.schedule.details,
        &mut s.schedule.attendance,
        &mut s.schedule.archive,
        &mut s.schedule.reconcile,
        &mut s.schedule.directory,
    ] {
        *job = "off".into();
    }
    s.shutdown_timeout_seconds = 10;
    s
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRow {
    pub id: i64,
    pub job: String,
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

pub async fn runs(pool: &sqlx::PgPool, job: &str) -> Vec<RunRow> {
    sqlx::query_as(
        "select id, job, status, started_at, finished_at, scheduled_for, error
           from confsync.sync_runs where job = $1 order by started_at, id",
    )
    .bind(job)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Every run finished before the next one started.
pub fn assert_no_overlap(rows: &[RunRow]) {
    for pair in rows.windows(2) {
        let finished = pair[0].finished_at.expect("finished");
        assert!(
            finished <= pair[1].started_at,
            "runs overlap: {:?} and {:?}",
            pair[0],
            pair[1]
        );
    }
}

/// Polls `condition` every 100 ms; panics with `what` after `limit`.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The environment of a `confsync` child process for `sim` and `db`, with
/// every job off and HTTP on a free port.
pub fn child_env(sim: &RunningSimulator, db: &TestDb) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("CONFSYNC_DATABASE__URL", db.url.clone()),
        ("CONFSYNC_CLOUDROOM__BASE_URL", sim.cloudroom_base_url()),
        (
            "CONFSYNC_CLOUDROOM__SECRET_ID",
            sim.state.config.secret_id.clone(),
        ),
        (
            "CONFSYNC_CLOUDROOM__SECRET_KEY",
            sim.state.config.secret_key.clone(),
        ),
        ("CONFSYNC_CLOUDROOM__REQUESTS_PER_MINUTE", "60000".into()),
        ("CONFSYNC_CLOUDROOM__HISTORY_START", "2022-12-01".into()),
        ("CONFSYNC_HTTP__LISTEN", "127.0.0.1:0".into()),
        ("CONFSYNC_SCHEDULE__TIMEZONE", "UTC".into()),
        ("CONFSYNC_LOGGING__LEVEL", "info".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for job in [
        "CONFERENCES",
        "HISTORY",
        "RECORDINGS",
        "RECONCILE",
        "DIRECTORY",
    ] {
        env.push((format!("CONFSYNC_SCHEDULE__{job}"), "off".into()));
    }
    env
}

/// A `confsync` child with `env` (later entries win) and no config file.
pub fn confsync(env: &[(String, String)]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_confsync"));
    cmd.env_remove("CONFSYNC_CONFIG")
        .env_remove("RUST_LOG")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("JOURNAL_STREAM")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .kill_on_drop(true);
    cmd
}

/// Sends SIGTERM to a child.
pub fn sigterm(child: &tokio::process::Child) {
    let pid = child.id().expect("child is running");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

pub async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.expect("HTTP request");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

pub const SHUTDOWN: Duration = Duration::from_secs(15);
