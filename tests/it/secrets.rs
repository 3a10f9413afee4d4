//! Secrets never leave confsync: run the commands with recognisable secret
//! values and search everything they print, log and store.

use crate::common;

use std::process::Output;

use confsync_sim::SimConfig;

const CLOUDROOM_SECRET: &str = "SeCrEt-cloudroom-7f3a9c1e";
const ALIYUN_SECRET: &str = "SeCrEt-aliyun-2b8d4e6f";
const MARKER: &str = "SeCrEt-";

struct World {
    sim: confsync_sim::RunningSimulator,
    db: common::TestDb,
}

async fn world() -> World {
    let sim = common::simulator(SimConfig {
        secret_key: CLOUDROOM_SECRET.into(),
        access_key_secret: ALIYUN_SECRET.into(),
        ..common::small_sim()
    })
    .await;
    let db = common::migrated_db().await;
    World { sim, db }
}

fn env(w: &World, cloudroom_secret: &str) -> Vec<(String, String)> {
    vec![
        ("CONFSYNC_DATABASE__URL".into(), w.db.url.clone()),
        (
            "CONFSYNC_CLOUDROOM__BASE_URL".into(),
            w.sim.cloudroom_base_url(),
        ),
        (
            "CONFSYNC_CLOUDROOM__SECRET_ID".into(),
            w.sim.state.config.secret_id.clone(),
        ),
        (
            "CONFSYNC_CLOUDROOM__SECRET_KEY".into(),
            cloudroom_secret.into(),
        ),
        (
            "CONFSYNC_CLOUDROOM__REQUESTS_PER_MINUTE".into(),
            "60000".into(),
        ),
        (
            "CONFSYNC_CLOUDROOM__HISTORY_START".into(),
            "2022-12-01".into(),
        ),
        ("CONFSYNC_CLOUDROOM__MAX_RETRIES".into(), "1".into()),
        ("CONFSYNC_ALIYUN__ENDPOINT".into(), w.sim.aliyun_endpoint()),
        (
            "CONFSYNC_ALIYUN__ACCESS_KEY_ID".into(),
            w.sim.state.config.access_key_id.clone(),
        ),
        (
            "CONFSYNC_ALIYUN__ACCESS_KEY_SECRET".into(),
            ALIYUN_SECRET.into(),
        ),
        ("CONFSYNC_ALIYUN__GROUP_ID".into(), "88".into()),
        ("CONFSYNC_ALIYUN__GROUP_NAME".into(), "示例公司".into()),
        // Everything confsync logs, at its most talkative.
        ("CONFSYNC_LOGGING__LEVEL".into(), "debug".into()),
        ("RUST_LOG".into(), "debug".into()),
    ]
}

async fn run(env: &[(String, String)], args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_confsync"))
        .args(args)
        .env_remove("CONFSYNC_CONFIG")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .await
        .unwrap()
}

fn assert_clean(what: &str, output: &Output) {
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains(MARKER),
            "`{what}` leaked a secret on {stream}:\n{text}"
        );
    }
}

/// Every text value in every table of every confsync schema.
async fn assert_database_clean(pool: &sqlx::PgPool) {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "select table_schema::text, table_name::text from information_schema.tables
          where table_schema not in ('pg_catalog', 'information_schema') and table_type = 'BASE TABLE'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(tables.len() >= 5);
    for (schema, table) in tables {
        let sql = format!(
            r#"select count(*) from "{schema}"."{table}" t where to_jsonb(t)::text like '%' || $1 || '%'"#
        );
        let hits: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .bind(MARKER)
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(hits, 0, "{schema}.{table} stores a secret");
    }
}

#[tokio::test]
async fn no_command_prints_logs_or_stores_a_secret() {
    let w = world().await;
    let env = env(&w, CLOUDROOM_SECRET);
    for args in [
        &["config", "show"][..],
        &["config", "check"],
        &["migrate"],
        &["sync", "mirror"],
        &["sync", "mirror", "--full", "--json"],
        &["--help"],
    ] {
        let out = run(&env, args).await;
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_clean(&args.join(" "), &out);
    }
    assert_database_clean(&w.db.pool).await;
}

#[tokio::test]
async fn errors_caused_by_a_wrong_secret_do_not_echo_it() {
    let w = world().await;
    let wrong = "SeCrEt-wrong-key-0000";
    let out = run(&env(&w, wrong), &["sync", "mirror"]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("22005"),
        "the vendor's code is named: {stderr}"
    );
    assert_clean("sync mirror with a wrong key", &out);
    assert_database_clean(&w.db.pool).await;
}
