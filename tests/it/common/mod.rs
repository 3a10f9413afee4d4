//! Shared test helpers: a fresh PostgreSQL database per test and a simulator
//! per test, so tests run in parallel without seeing each other.
#![allow(dead_code)]

pub mod daemon;
pub mod directory;

use std::sync::OnceLock;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;

use confsync_sim::{RunningSimulator, SimConfig};

const LOCAL_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The server tests create their databases on: `TEST_DATABASE_URL`, else the
/// local server when it answers, else a testcontainers PostgreSQL when a
/// Docker engine is reachable. Never a mock, never a silent skip.
async fn admin_url() -> &'static str {
    static URL: OnceCell<String> = OnceCell::const_new();
    URL.get_or_init(|| async {
        if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
            return url;
        }
        if PgConnection::connect(LOCAL_URL).await.is_ok() {
            return LOCAL_URL.to_string();
        }
        match start_container().await {
            Ok(url) => url,
            Err(e) => panic!(
                "no PostgreSQL for the tests: set TEST_DATABASE_URL, start PostgreSQL on 127.0.0.1:5432, or make a Docker engine reachable ({e})"
            ),
        }
    })
    .await
}

async fn start_container() -> Result<String, String> {
    use testcontainers_modules::postgres::Postgres;
    use testcontainers_modules::testcontainers::runners::AsyncRunner;
    use testcontainers_modules::testcontainers::ContainerAsync;

    // The container must outlive every test in this binary.
    static CONTAINER: OnceLock<ContainerAsync<Postgres>> = OnceLock::new();
    let container = Postgres::default()
        .start()
        .await
        .map_err(|e| format!("testcontainers: {e}"))?;
    let port = container
        .get_host_port_ipv4(5432)
        .await
        .map_err(|e| format!("testcontainers: {e}"))?;
    let _ = CONTAINER.set(container);
    Ok(format!(
        "postgres://postgres:postgres@127.0.0.1:{port}/postgres"
    ))
}

const TEST_DB_PREFIX: &str = "confsync_test_";

/// Test databases are not dropped when a test ends (it may be inspected
/// after a failure); each test binary instead drops, once, those that are
/// older than an hour and that nobody is connected to.
async fn drop_stale_databases(conn: &mut PgConnection) {
    static ONCE: OnceCell<()> = OnceCell::const_new();
    ONCE.get_or_init(|| async {
        let cutoff = chrono::Utc::now().timestamp() - 3600;
        let stale: Vec<String> = sqlx::query_scalar(
            "select datname::text from pg_database d
              where datname like 'confsync_test_%'
                and case when datname ~ '^confsync_test_[0-9]+_'
                         then split_part(datname, '_', 3)::bigint else 0 end < $1
                and not exists (select 1 from pg_stat_activity a where a.datname = d.datname)",
        )
        .bind(cutoff)
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_default();
        for name in stale {
            // Another binary may have dropped it first: that is fine.
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                r#"drop database if exists "{name}""#
            )))
            .execute(&mut *conn)
            .await;
        }
    })
    .await;
}

/// A database of its own for one test, named with its creation time so that
/// `drop_stale_databases` can clean up after earlier runs.
pub struct TestDb {
    pub pool: PgPool,
    pub url: String,
    pub name: String,
}

pub async fn test_db() -> TestDb {
    let admin = admin_url().await;
    let name = format!(
        "{TEST_DB_PREFIX}{}_{}",
        chrono::Utc::now().timestamp(),
        uuid::Uuid::new_v4().simple()
    );
    let mut conn = PgConnection::connect(admin)
        .await
        .expect("connect to the test server");
    drop_stale_databases(&mut conn).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
        .execute(&mut conn)
        .await
        .expect("create the test database");
    let options: PgConnectOptions = admin.parse().expect("admin url");
    let options = options.database(&name);
    let url = options.to_url_lossy().to_string();
    let pool = PgPoolOptions::new()
        .max_connections(5)
        .connect_with(options)
        .await
        .expect("connect to the test database");
    TestDb { pool, url, name }
}

/// A simulator on a free port with small, deterministic data.
pub async fn simulator(config: SimConfig) -> RunningSimulator {
    confsync_sim::start(SimConfig { port: 0, ..config })
        .await
        .expect("start the simulator")
}

pub fn small_sim() -> SimConfig {
    SimConfig {
        conferences: 30,
        history: 250,
        recordings_per_conference: 1,
        rate: confsync_sim::rate::RateFlags::unlimited(),
        anchor: Some(1_767_225_600), // 2026-01-01T00:00:00Z
        ..SimConfig::default()
    }
}

/// A fresh database with confsync's migrations applied.
pub async fn migrated_db() -> TestDb {
    let db = test_db().await;
    confsync::store::db::MIGRATOR
        .run(&db.pool)
        .await
        .expect("apply migrations");
    db
}

/// Settings that point at `sim` and `db`, without request budgets, so that
/// tests are not slowed by them.
pub fn settings_for(sim: &RunningSimulator, db: &TestDb) -> confsync::configuration::Settings {
    let mut s = confsync::configuration::Settings::default();
    s.database.url = db.url.clone();
    s.database.max_connections = 5;
    s.cloudroom.base_url = sim.cloudroom_base_url();
    s.cloudroom.secret_id = Some(sim.state.config.secret_id.clone());
    s.cloudroom.secret_key = Some(secrecy::SecretString::from(
        sim.state.config.secret_key.clone(),
    ));
    // The simulator is unlimited (small_sim): no budget on the lists either.
    s.cloudroom.rate_limits = [("conference_list", 0), ("conference_history", 0)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    s.cloudroom.max_retries = 3;
    // small_sim() anchors its data at 2026-01-01 and spreads history over the three years before.
    s.cloudroom.history_start = Some("2022-12-01".into());
    s.aliyun.endpoint = sim.aliyun_endpoint();
    s.aliyun.access_key_id = Some(sim.state.config.access_key_id.clone());
    s.aliyun.access_key_secret = Some(secrecy::SecretString::from(
        sim.state.config.access_key_secret.clone(),
    ));
    s.aliyun.group_id = Some("88".into());
    s.aliyun.group_name = Some("示例公司".into());
    s
}

/// A mirror context over `sim` and `db` (already migrated).
pub fn mirror_context(sim: &RunningSimulator, db: &TestDb) -> confsync::jobs::JobContext {
    job_context(settings_for(sim, db), db)
}

/// The application as the daemon and every command wire it
/// (`confsync::app::context`), on the test's pool.
pub fn job_context(
    settings: confsync::configuration::Settings,
    db: &TestDb,
) -> confsync::jobs::JobContext {
    confsync::app::context(
        settings.top_tenant(),
        &settings,
        &db.pool,
        tokio_util::sync::CancellationToken::new(),
        indicatif::ProgressBar::hidden(),
    )
    .expect("the application's context")
}

/// Changes the CloudRoom settings of `ctx` and rebuilds its client from them.
pub fn reconfigure(
    ctx: &mut confsync::jobs::JobContext,
    change: impl FnOnce(&mut confsync::configuration::CloudRoomSettings),
) {
    let mut settings = (*ctx.settings).clone();
    change(&mut settings.cloudroom);
    ctx.cloudroom = Some(
        confsync::cloudroom::CloudRoomClient::new(&settings.cloudroom)
            .expect("client")
            .with_cancel(ctx.shutdown.clone()),
    );
    ctx.settings = std::sync::Arc::new(settings);
}

/// POSTs/PUTs/DELETEs an admin route of the simulator and returns its JSON.
pub async fn admin(
    sim: &RunningSimulator,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let url = format!(
        "{}/__admin/{}",
        sim.base_url(),
        path.trim_start_matches('/')
    );
    let mut req = reqwest::Client::new().request(method, &url);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("admin request");
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    assert!(status.is_success(), "admin {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

/// Every mirrored table as JSON rows, without the columns that record when we looked.
pub async fn snapshot(
    pool: &sqlx::PgPool,
) -> std::collections::BTreeMap<&'static str, serde_json::Value> {
    let mut out = std::collections::BTreeMap::new();
    for (table, order) in [
        ("cloudroom.conferences", "conf_id"),
        ("cloudroom.meeting_history", "conf_id, start_time"),
        ("cloudroom.recordings", "file_id"),
        ("cloudroom.recording_urls", "file_id, download_url, vod_url"),
    ] {
        let sql = format!(
            "select coalesce(jsonb_agg(to_jsonb(t) - 'first_seen_at' - 'last_seen_at' - 'removed_at' - 'deleted_at' order by {order}), '[]') from {table} t"
        );
        out.insert(
            table,
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
                .fetch_one(pool)
                .await
                .unwrap(),
        );
    }
    out
}

/// Runs the ignored test `path` alone in a fresh process of this binary, for
/// the few tests that check process-wide state such as the metrics.
pub fn run_alone(path: &str) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let output = std::process::Command::new(exe)
        .args([
            "--exact",
            path,
            "--ignored",
            "--test-threads=1",
            "--nocapture",
        ])
        .output()
        .expect("cannot run the test binary");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && text.contains("1 passed"),
        "{path} failed in its own process:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The three mirror passes as `sync mirror` runs them.
pub async fn run_mirror(
    ctx: &confsync::jobs::JobContext,
    options: &confsync::jobs::RunOptions,
) -> anyhow::Result<Vec<confsync::jobs::JobSummary>> {
    confsync::jobs::run_sequence(ctx, &confsync::jobs::MIRROR, options).await
}

/// One run of `job` that the test expects to start: a run that did not
/// (its lock held, its tick taken) is an error here.
pub async fn run_job(
    ctx: &confsync::jobs::JobContext,
    job: &dyn confsync::jobs::Job,
    options: &confsync::jobs::RunOptions,
) -> anyhow::Result<confsync::jobs::JobSummary> {
    match confsync::jobs::run_job(ctx, job, options).await? {
        confsync::jobs::RunOutcome::Ran(summary) => Ok(summary),
        other => anyhow::bail!("{} did not run: {other:?}", job.name()),
    }
}
