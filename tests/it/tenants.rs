//! Several tenants on one database: each mirrored by the daemons sharing
//! it, each (tenant, job, tick) run once, a tenant with wrong credentials
//! failing alone, and the tenant-aware commands.

use std::path::{Path, PathBuf};
use std::time::Duration;

use confsync::configuration::{self, ConfigSources, Settings};
use confsync_sim::{RunningSimulator, SimConfig};

use crate::common::daemon::{get, wait_for, SHUTDOWN};
use crate::common::{self, TestDb};

/// The simulator's `--tenants-file`.
pub struct Tenants {
    pub file: serde_json::Value,
}

impl Tenants {
    pub fn read(path: &Path) -> Self {
        let file = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        Tenants { file }
    }

    pub fn credentials(&self, n: usize) -> (String, String) {
        let t = &self.file["tenants"][n];
        (
            t["secret_id"].as_str().unwrap().into(),
            t["secret_key"].as_str().unwrap().into(),
        )
    }
}

/// A simulator serving `n` tenants, and their credentials.
pub async fn sim_with_tenants(
    n: usize,
    config: SimConfig,
    dir: &Path,
) -> (RunningSimulator, Tenants) {
    let file = dir.join("tenants.json");
    let sim = common::simulator(SimConfig {
        tenants: n,
        tenants_file: Some(file.clone()),
        ..config
    })
    .await;
    (sim, Tenants::read(&file))
}

/// A configuration file for `sim` and `db`: `t001` inline, the other
/// tenants as `tenants_dir` drop-ins, `bad` (when asked) with a wrong
/// secretKey; `extra` is appended to the top level.
pub fn write_config(
    dir: &Path,
    sim: &RunningSimulator,
    db: &TestDb,
    tenants: &Tenants,
    (count, bad): (usize, bool),
    extra: &str,
) -> PathBuf {
    let drop_ins = dir.join("tenants.d");
    std::fs::create_dir_all(&drop_ins).unwrap();
    let mut inline = String::new();
    for n in 0..count {
        let (id, key) = tenants.credentials(n);
        let name = format!("t{:03}", n + 1);
        let section = format!("[cloudroom]\nsecret_id = \"{id}\"\nsecret_key = \"{key}\"\n");
        if n == 0 {
            inline = section.replace("[cloudroom]", "[tenants.t001.cloudroom]");
        } else {
            std::fs::write(drop_ins.join(format!("{name}.toml")), section).unwrap();
        }
    }
    if bad {
        let (id, _) = tenants.credentials(0);
        let section = format!("[cloudroom]\nsecret_id = \"{id}\"\nsecret_key = \"wrong-key\"\n");
        std::fs::write(drop_ins.join("bad.toml"), section).unwrap();
    }
    let text = format!(
        r#"tenants_dir = "{drop_ins}"
{extra}
[database]
url = "{db_url}"
max_connections = 6
[cloudroom]
base_url = "{base}"
history_start = "2022-12-01"
max_retries = 1
[cloudroom.rate_limits]
conference_list = 0
conference_history = 0
[http]
listen = "127.0.0.1:0"
[logging]
level = "info"
{inline}"#,
        drop_ins = drop_ins.display(),
        db_url = db.url,
        base = sim.cloudroom_base_url(),
    );
    let path = dir.join("confsync.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub const EVERY_SECOND_MIRROR: &str = r#"[schedule]
timezone = "UTC"
conferences = "* * * * * *"
history = "* * * * * *"
recordings = "* * * * * *"
details = "off"
reconcile = "off"
directory = "off"
attendance = "off"
archive = "off"
"#;

pub fn load(path: &Path) -> Settings {
    let sources = ConfigSources {
        file: Some(path.to_path_buf()),
        env: Some(Vec::new()),
    };
    configuration::load(&sources)
        .expect("valid configuration")
        .0
}

async fn count(pool: &sqlx::PgPool, table: &str, tenant: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "select count(*) from {table} where tenant = $1"
    )))
    .bind(tenant)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Every good tenant has all 30 conferences, its whole history and its
/// recordings; the tenant `bad` has nothing.
pub async fn wait_until_mirrored(db: &TestDb, names: &[&str], limit: Duration) {
    let pool = &db.pool;
    for name in names {
        wait_for(&format!("tenant {name} mirrored"), limit, || async {
            count(pool, "cloudroom.conferences", name).await == 30
                && count(pool, "cloudroom.meeting_history", name).await == 250
                && count(pool, "cloudroom.recordings", name).await > 0
                && pending_recordings(pool, name).await == 0
        })
        .await;
    }
}

async fn pending_recordings(pool: &sqlx::PgPool, tenant: &str) -> i64 {
    count(pool, "confsync.recording_queue", tenant).await
}

/// No (tenant, job, tick) has two runs, and within each (tenant, job) the
/// ticks follow each other second by second, except where the previous run
/// was still going (the daemon logs and counts that skip).
pub async fn assert_each_tick_once(pool: &sqlx::PgPool) {
    let duplicates: i64 = sqlx::query_scalar(
        "select count(*) from (select 1 from confsync.sync_runs where scheduled_for is not null
          group by tenant, job, scheduled_for having count(*) > 1) d",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(duplicates, 0, "a tick ran twice");
}

#[tokio::test]
async fn two_daemons_mirror_every_tenant_and_a_wrong_credential_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, tenants) = sim_with_tenants(3, common::small_sim(), dir.path()).await;
    let db = common::test_db().await;
    let extra = "[health]\nmax_consecutive_failures = 2\n".to_string() + EVERY_SECOND_MIRROR;
    let path = write_config(dir.path(), &sim, &db, &tenants, (3, true), &extra);
    let settings = load(&path);
    assert_eq!(settings.tenant_names(), ["bad", "t001", "t002", "t003"]);
    let first = confsync::app::start_daemon(settings.clone()).await.unwrap();
    let second = confsync::app::start_daemon(settings).await.unwrap();
    wait_until_mirrored(&db, &["t001", "t002", "t003"], Duration::from_secs(60)).await;
    assert_eq!(count(&db.pool, "cloudroom.conferences", "bad").await, 0);
    wait_for("bad to fail twice", Duration::from_secs(20), || async {
        let (code, body) = get(&format!("http://{}/healthz", first.http_addr())).await;
        code == 503 && body.contains(r#""failing_tenants":["bad"]"#)
    })
    .await;
    let (_, metrics) = get(&format!("http://{}/metrics", second.http_addr())).await;
    assert!(metrics.contains(r#"tenant="t002""#), "{metrics}");
    assert!(first.shutdown(SHUTDOWN).await && second.shutdown(SHUTDOWN).await);
    assert_each_tick_once(&db.pool).await;
    let errors: Vec<String> = sqlx::query_scalar(
        "select distinct tenant || ': ' || coalesce(error, '') from confsync.sync_runs where status = 'failed'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(
        !errors.is_empty() && errors.iter().all(|e| e.starts_with("bad: ")),
        "{errors:?}"
    );
    assert!(
        errors.iter().all(|e| e.contains("authentication")),
        "{errors:?}"
    );
}

#[tokio::test]
async fn tenant_commands_name_their_tenant_and_status_groups_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, tenants) = sim_with_tenants(2, common::small_sim(), dir.path()).await;
    let db = common::test_db().await;
    let archive = format!(
        "[archive]\nlocation = \"file://{}/archive\"\n",
        dir.path().display()
    );
    let path = write_config(dir.path(), &sim, &db, &tenants, (2, false), &archive);
    // Not std::process: the simulator answers on this test's runtime.
    let run = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_confsync"));
        cmd.arg("--config")
            .arg(&path)
            .args(args)
            .env_remove("CONFSYNC_CONFIG");
        async move { cmd.output().await.unwrap() }
    };
    let synced = run(&["sync", "conferences", "--tenant", "t002", "--json"]).await;
    assert!(
        synced.status.success(),
        "{}",
        String::from_utf8_lossy(&synced.stderr)
    );
    assert_eq!(count(&db.pool, "cloudroom.conferences", "t002").await, 30);
    assert_eq!(count(&db.pool, "cloudroom.conferences", "t001").await, 0);
    let all = run(&["sync", "conferences"]).await;
    assert!(all.status.success());
    assert_eq!(count(&db.pool, "cloudroom.conferences", "t001").await, 30);

    let unknown = run(&["sync", "conferences", "--tenant", "nope"]).await;
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("\"nope\"") && stderr.contains("t001, t002"),
        "{stderr}"
    );
    let apply = run(&["directory", "apply"]).await;
    assert_eq!(apply.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&apply.stderr);
    assert!(stderr.contains("--tenant NAME"), "{stderr}");

    // Every tenant's result on a line of its own that names the tenant.
    let plans = run(&["archive", "plan", "--json"]).await;
    assert!(
        plans.status.success(),
        "{}",
        String::from_utf8_lossy(&plans.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&plans.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let named: Vec<&str> = lines
        .iter()
        .map(|l| l["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(named, ["t001", "t002"]);

    let status = run(&["status"]).await;
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(
        stdout.contains("tenant t001\n") && stdout.contains("tenant t002\n"),
        "{stdout}"
    );
    let one = run(&["status", "--json", "--tenant", "t002"]).await;
    let text = String::from_utf8_lossy(&one.stdout);
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(
        !rows.is_empty() && rows.iter().all(|r| r["tenant"] == "t002"),
        "{text}"
    );
}

#[tokio::test]
async fn config_check_names_the_tenant_whose_credentials_are_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, tenants) = sim_with_tenants(1, common::small_sim(), dir.path()).await;
    let db = common::test_db().await;
    let path = write_config(dir.path(), &sim, &db, &tenants, (1, false), "");
    std::fs::write(
        dir.path().join("tenants.d/nokey.toml"),
        "[cloudroom]\nsecret_id = \"someone\"\n",
    )
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_confsync"))
        .arg("--config")
        .arg(&path)
        .args(["config", "check"])
        .env_remove("CONFSYNC_CONFIG")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tenants.nokey.cloudroom.secret_key"),
        "{stderr}"
    );
    assert!(
        stderr.contains("CONFSYNC_TENANTS__NOKEY__CLOUDROOM__SECRET_KEY"),
        "{stderr}"
    );
    assert!(!stderr.contains("tenants.t001.cloudroom"), "{stderr}");
}

/// The most runs that were going at one instant.
async fn peak_overlap(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar(
        "select coalesce(max(going), 0) from (
            select sum(delta) over (order by at, delta) as going from (
                select started_at as at, 1 as delta from confsync.sync_runs
                union all
                select finished_at, -1 from confsync.sync_runs where finished_at is not null) e) g",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_daemon_runs_at_most_max_concurrent_runs_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = SimConfig {
        latency_ms: 40,
        ..common::small_sim()
    };
    let (sim, tenants) = sim_with_tenants(4, config, dir.path()).await;
    let db = common::test_db().await;
    let extra = "[daemon]\nmax_concurrent_runs = 2\n".to_string() + EVERY_SECOND_MIRROR;
    let path = write_config(dir.path(), &sim, &db, &tenants, (4, false), &extra);
    let daemon = confsync::app::start_daemon(load(&path)).await.unwrap();
    wait_until_mirrored(
        &db,
        &["t001", "t002", "t003", "t004"],
        Duration::from_secs(60),
    )
    .await;
    assert!(daemon.shutdown(SHUTDOWN).await);
    let runs: i64 = sqlx::query_scalar("select count(*) from confsync.sync_runs")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(runs >= 12, "{runs} runs");
    assert_eq!(peak_overlap(&db.pool).await, 2, "12 runners, 2 slots");
}

#[tokio::test]
async fn a_tenant_whose_server_never_answers_does_not_hold_the_others_up() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, tenants) = sim_with_tenants(1, common::small_sim(), dir.path()).await;
    let db = common::test_db().await;
    // Accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let extra = "[daemon]\nmax_concurrent_runs = 3\n".to_string() + EVERY_SECOND_MIRROR;
    let path = write_config(dir.path(), &sim, &db, &tenants, (1, false), &extra);
    let (id, key) = tenants.credentials(0);
    let slow = format!(
        "[tenants.slow.cloudroom]\nsecret_id = \"{id}\"\nsecret_key = \"{key}\"\n\
         base_url = \"http://{silent_addr}/CLOUDROOM-SERVER\"\ntimeout_seconds = 120\n"
    );
    let text = std::fs::read_to_string(&path).unwrap() + &slow;
    std::fs::write(&path, text).unwrap();
    let daemon = confsync::app::start_daemon(load(&path)).await.unwrap();
    // The slow tenant's conference list and history hold two of the three
    // slots for good (its recordings pass has nothing queued and ends);
    // t001's jobs share the third and still mirror everything.
    wait_until_mirrored(&db, &["t001"], Duration::from_secs(60)).await;
    let stuck: i64 = sqlx::query_scalar(
        // Its recordings pass may be between starting and ending right now.
        "select count(*) from confsync.sync_runs
          where tenant = 'slow' and status = 'running' and job in ('conferences', 'history')",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        stuck, 2,
        "the slow tenant's runs are still waiting for an answer"
    );
    // Its requests are still in flight: the shutdown gives up on them.
    let _ = daemon.shutdown(Duration::from_secs(2)).await;
}
