//! Shared test helpers: a fresh PostgreSQL database per test and a simulator
//! per test, so tests run in parallel without seeing each other.
#![allow(dead_code)]

use std::sync::OnceLock;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;

use confsync::sim::{RunningSimulator, SimConfig};

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

/// A database of its own for one test; dropped databases are not cleaned up
/// eagerly (the name is unique), `cleanup_stale` removes old ones.
pub struct TestDb {
    pub pool: PgPool,
    pub url: String,
    pub name: String,
}

pub async fn test_db() -> TestDb {
    let admin = admin_url().await;
    let name = format!("confsync_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(admin)
        .await
        .expect("connect to the test server");
    sqlx::query(&format!(r#"CREATE DATABASE "{name}""#))
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
    confsync::sim::start(SimConfig { port: 0, ..config })
        .await
        .expect("start the simulator")
}

pub fn small_sim() -> SimConfig {
    SimConfig {
        conferences: 30,
        history: 250,
        recordings_per_conference: 1,
        requests_per_minute: 0,
        anchor: Some(1_767_225_600), // 2026-01-01T00:00:00Z
        ..SimConfig::default()
    }
}

/// A fresh database with confsync's migrations applied.
pub async fn migrated_db() -> TestDb {
    let db = test_db().await;
    confsync::db::MIGRATOR
        .run(&db.pool)
        .await
        .expect("apply migrations");
    db
}
