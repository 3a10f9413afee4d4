//! Secrets never leave the directory push: the CloudRoom secretKey, the
//! Aliyun AccessKeySecret and HR's initial passwords. Every directory
//! command runs as a child at debug log level with recognisable values, and
//! its output, its logs and every table of every schema are searched.

use crate::common;
use crate::common::directory as directory_helpers;

use std::process::Output;

use confsync_sim::{lock, RunningSimulator, SimConfig};
use directory_helpers as dh;
use secrecy::ExposeSecret;

const CLOUDROOM_SECRET: &str = "SeCrEt-cloudroom-5d1e8a";
const ALIYUN_SECRET: &str = "SeCrEt-aliyun-93c7f0";
/// Every secret of this suite starts so; nothing else does.
const MARKER: &str = "SeCrEt-";

/// Two people with HR passwords, one without (generated), one bad row
/// whose too-short password must not be quoted in its problem, and one bad
/// row whose other field is quoted next to a password.
fn export(mobile_of_p1: &str) -> String {
    [
        dh::FULL_HEADER.to_string(),
        dh::person_row(
            "P1",
            &[
                ("mobile", mobile_of_p1),
                ("initial_password", "SeCrEt-pw-0001"),
            ],
        ),
        dh::person_row("P2", &[("initial_password", "SeCrEt-pw-0002")]),
        dh::person_row("P3", &[]),
        dh::person_row("P4", &[("initial_password", "SeCrEt-")]),
        dh::person_row(
            "P5",
            &[("email", "p5@"), ("initial_password", "SeCrEt-pw-0005")],
        ),
    ]
    .join("\n")
        + "\n"
}

async fn simulator() -> RunningSimulator {
    common::simulator(SimConfig {
        secret_key: CLOUDROOM_SECRET.into(),
        access_key_secret: ALIYUN_SECRET.into(),
        ..common::small_sim()
    })
    .await
}

/// The child environment at its most talkative, with `aliyun_secret`.
fn env(
    sim: &RunningSimulator,
    db: &common::TestDb,
    source: &std::path::Path,
    aliyun_secret: &str,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = dh::child_env(sim, db, source)
        .into_iter()
        .filter(|(k, _)| {
            k != "CONFSYNC_LOGGING__LEVEL" && k != "CONFSYNC_ALIYUN__ACCESS_KEY_SECRET"
        })
        .collect();
    for (k, v) in [
        ("CONFSYNC_ALIYUN__ACCESS_KEY_SECRET", aliyun_secret),
        ("CONFSYNC_LOGGING__LEVEL", "debug"),
        ("RUST_LOG", "debug"),
        ("CONFSYNC_CLOUDROOM__MAX_RETRIES", "1"),
        ("CONFSYNC_ALIYUN__MAX_RETRIES", "1"),
        ("CONFSYNC_DIRECTORY__VERIFY_SAMPLE", "100"),
    ] {
        env.push((k.into(), v.into()));
    }
    env
}

async fn run(env: &[(String, String)], args: &[&str]) -> Output {
    dh::confsync_child(env).args(args).output().await.unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_clean(what: &str, output: &Output) {
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let text = text(bytes);
        assert!(
            !text.contains(MARKER),
            "`{what}` leaked a secret on {stream}:\n{text}"
        );
    }
}

/// Every value in every table of every schema (confsync's, directory's,
/// cloudroom's and the migrations' bookkeeping).
async fn assert_database_clean(pool: &sqlx::PgPool) {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "select table_schema::text, table_name::text from information_schema.tables
          where table_schema not in ('pg_catalog', 'information_schema') and table_type = 'BASE TABLE'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        tables
            .iter()
            .any(|(s, t)| s == "directory" && t == "changes"),
        "{tables:?}"
    );
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
async fn directory_commands_print_log_and_store_no_secret() {
    let sim = simulator().await;
    let db = common::migrated_db().await;
    let (_dir, path) = dh::write_source("hr.csv", export("13800000000").as_bytes());
    let env = env(&sim, &db, &path, ALIYUN_SECRET);

    let plan = run(&env, &["directory", "plan"]).await;
    assert!(plan.status.success(), "{}", text(&plan.stderr));
    let shown = text(&plan.stdout);
    assert!(
        shown.contains(
            "line 5, field initial_password: shorter than 8 characters (value not shown)"
        ),
        "{shown}"
    );
    assert!(shown.contains("line 6, field email"), "{shown}");
    assert_clean("directory plan", &plan);
    let json = run(&env, &["directory", "plan", "--json"]).await;
    assert!(json.status.success(), "{}", text(&json.stderr));
    assert_clean("directory plan --json", &json);

    let apply = run(&env, &["directory", "apply"]).await;
    assert_eq!(
        apply.status.code(),
        Some(0),
        "{}{}",
        text(&apply.stdout),
        text(&apply.stderr)
    );
    assert!(
        text(&apply.stderr).contains("DEBUG"),
        "the child logged at debug level"
    );
    assert_clean("directory apply", &apply);
    // The passwords did reach CloudRoom, so there was something to leak.
    {
        let world = lock(&sim.state.cloudroom);
        let password = |a: &str| {
            world
                .user(a)
                .map(|u| u.password.expose_secret().to_string())
        };
        assert_eq!(password("p1").as_deref(), Some("SeCrEt-pw-0001"));
        assert_eq!(password("p2").as_deref(), Some("SeCrEt-pw-0002"));
        assert!(world.user("p3").is_some() && world.user("p4").is_none());
    }

    // An update (PUT and CreateUser again) and a verify read-back.
    dh::rewrite(&path, &export("13900000000"));
    let update = run(&env, &["directory", "apply"]).await;
    assert_eq!(update.status.code(), Some(0), "{}", text(&update.stderr));
    assert_clean("directory apply (update)", &update);
    let verify = run(&env, &["directory", "verify"]).await;
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}{}",
        text(&verify.stdout),
        text(&verify.stderr)
    );
    assert_clean("directory verify", &verify);

    // A leaver: the deletes log too.
    dh::rewrite(
        &path,
        &export("13900000000").replace(
            &dh::person_row("P3", &[]),
            &dh::person_row("P3", &[("status", "inactive")]),
        ),
    );
    let delete = run(&env, &["directory", "apply"]).await;
    assert_eq!(delete.status.code(), Some(0), "{}", text(&delete.stderr));
    assert!(lock(&sim.state.cloudroom).user("p3").is_none());
    assert_clean("directory apply (delete)", &delete);

    assert_database_clean(&db.pool).await;
}

#[tokio::test]
async fn a_wrong_aliyun_secret_fails_without_echoing_it() {
    let sim = simulator().await;
    let db = common::migrated_db().await;
    let (_dir, path) = dh::write_source("hr.csv", export("13800000000").as_bytes());
    let wrong = "SeCrEt-wrong-aliyun-0000";
    let env = env(&sim, &db, &path, wrong);

    let apply = run(&env, &["directory", "apply"]).await;
    let stdout = text(&apply.stdout);
    assert_eq!(
        apply.status.code(),
        Some(3),
        "Aliyun failed, CloudRoom did not: {stdout}"
    );
    assert!(
        stdout.contains("SignatureDoesNotMatch") || stdout.contains("InvalidAccessKey"),
        "the vendor's code is named: {stdout}"
    );
    assert_clean("directory apply with a wrong Aliyun secret", &apply);
    // Pushed with the right secret, then read back with the wrong one.
    let right = self::env(&sim, &db, &path, ALIYUN_SECRET);
    let pushed = run(&right, &["directory", "apply"]).await;
    assert_eq!(pushed.status.code(), Some(0), "{}", text(&pushed.stdout));
    let verify = run(&env, &["directory", "verify"]).await;
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify.stdout));
    assert!(
        text(&verify.stdout).contains("error P1"),
        "{}",
        text(&verify.stdout)
    );
    assert_clean("directory verify with a wrong Aliyun secret", &verify);

    // And a wrong CloudRoom secret.
    let mut env = env;
    for (k, v) in &mut env {
        if k == "CONFSYNC_CLOUDROOM__SECRET_KEY" {
            *v = "SeCrEt-wrong-cloudroom-0000".into();
        }
    }
    dh::rewrite(&path, &export("13900000000"));
    let apply = run(&env, &["directory", "apply"]).await;
    assert_eq!(apply.status.code(), Some(3), "{}", text(&apply.stdout));
    assert!(
        text(&apply.stdout).contains("22005"),
        "{}",
        text(&apply.stdout)
    );
    assert_clean("directory apply with a wrong CloudRoom secret", &apply);
    assert_database_clean(&db.pool).await;
}
