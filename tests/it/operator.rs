//! The operator's side of the binary: errors printed once, clean redirected
//! output, `--json` on every reporting command, read-only commands that do
//! not migrate, the CLI conventions and the probes.

use crate::common;
use crate::common::directory as dh;

use std::borrow::Cow;
use std::process::Output;
use std::time::{Duration, Instant};

use clap::CommandFactory;
use serde_json::Value;

/// A `confsync` child with exactly `env`, stdout and stderr captured (so
/// neither is a terminal).
async fn confsync(env: &[(String, String)], args: &[&str]) -> Output {
    dh::confsync_child(env)
        .args(args)
        .output()
        .await
        .expect("run confsync")
}

fn stderr(out: &Output) -> Cow<'_, str> {
    String::from_utf8_lossy(&out.stderr)
}

fn stdout(out: &Output) -> Cow<'_, str> {
    String::from_utf8_lossy(&out.stdout)
}

/// Credentials and a database URL nobody listens on.
fn unreachable_db_env() -> Vec<(String, String)> {
    [
        (
            "CONFSYNC_DATABASE__URL",
            "postgres://postgres@127.0.0.1:1/x",
        ),
        ("CONFSYNC_CLOUDROOM__SECRET_ID", "id"),
        ("CONFSYNC_CLOUDROOM__SECRET_KEY", "key"),
        ("CONFSYNC_HTTP__LISTEN", "127.0.0.1:0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[tokio::test]
async fn a_refused_connection_is_named_once_and_at_once() {
    for command in [&["status"][..], &["run"], &["sync", "conferences"]] {
        let started = Instant::now();
        let out = confsync(&unreachable_db_env(), command).await;
        let elapsed = started.elapsed();
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{command:?}: {text}");
        assert_eq!(
            text.matches("Connection refused").count(),
            1,
            "{command:?}: {text}"
        );
        assert_eq!(text.lines().count(), 1, "{command:?}: {text}");
        assert!(
            text.contains("127.0.0.1:1/x") && text.contains("database.url"),
            "{text}"
        );
        // Not a pool timeout after 10 s: the refusal itself.
        assert!(elapsed < Duration::from_secs(5), "{command:?}: {elapsed:?}");
    }
}

#[tokio::test]
async fn a_database_url_of_another_scheme_is_a_configuration_error() {
    let mut env = unreachable_db_env();
    env[0].1 = "mysql://root@127.0.0.1/x".into();
    let out = confsync(&env, &["status"]).await;
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(stderr(&out).contains("database.url"), "{}", stderr(&out));
    assert!(stderr(&out).contains("\"mysql\""), "{}", stderr(&out));
}

#[tokio::test]
async fn redirected_logs_have_no_escape_codes_and_no_migration_notice() {
    let db = common::test_db().await;
    let mut env = unreachable_db_env();
    env[0].1 = db.url.clone();
    for args in [&["migrate"][..], &["migrate"], &["status"]] {
        let out = confsync(&env, args).await;
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!all.contains('\u{1b}'), "{args:?}: {all:?}");
        assert!(!all.contains("_sqlx_migrations"), "{args:?}: {all}");
    }
    // -v logs more, still without colour; -q silences info.
    let verbose = confsync(&env, &["-vv", "status"]).await;
    assert!(stderr(&verbose).contains("DEBUG"), "{}", stderr(&verbose));
    assert!(!stderr(&verbose).contains('\u{1b}'), "{}", stderr(&verbose));
    let quiet = confsync(&env, &["-q", "migrate"]).await;
    assert!(stderr(&quiet).is_empty(), "{}", stderr(&quiet));
}

#[tokio::test]
async fn read_only_commands_leave_an_old_schema_unmigrated() {
    let db = common::test_db().await;
    let first_only = sqlx::migrate::Migrator {
        migrations: Cow::Owned(
            confsync::store::db::MIGRATOR
                .iter()
                .take(1)
                .cloned()
                .collect(),
        ),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    first_only.run(&db.pool).await.unwrap();
    let (_dir, source) = dh::write_source("hr.csv", dh::sample_text().as_bytes());
    let mut env = unreachable_db_env();
    env[0].1 = db.url.clone();
    env.push((
        "CONFSYNC_DIRECTORY__SOURCE".into(),
        source.display().to_string(),
    ));
    env.push(("CONFSYNC_DIRECTORY__ALIYUN".into(), "false".into()));
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["directory", "plan"],
    ] {
        let out = confsync(&env, args).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("run `confsync migrate`"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let applied: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(applied, 1);
}

#[tokio::test]
async fn every_reporting_command_prints_one_json_value() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let (_dir, source) = dh::write_source("hr.csv", dh::sample_text().as_bytes());
    let env = dh::child_env(&sim, &db, &source);
    let commands: [&[&str]; 5] = [
        &["config", "check", "--json"],
        &["directory", "plan", "--json"],
        &["directory", "apply", "--json"],
        &["directory", "verify", "--json"],
        &["sync", "conferences", "--json"],
    ];
    for args in commands {
        let out = confsync(&env, args).await;
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let text = stdout(&out);
        assert_eq!(text.lines().count(), 1, "{args:?}: {text}");
        let value: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"));
        match args[..2] {
            ["config", _] => assert_eq!(value["valid"], true, "{text}"),
            ["directory", "plan"] => assert!(value.is_object(), "{text}"),
            ["directory", "apply"] => assert!(value["report"].is_object(), "{text}"),
            ["directory", "verify"] => assert!(value["checked"].as_u64() > Some(0), "{text}"),
            ["sync", _] => assert_eq!(value["job"], "conferences", "{text}"),
            _ => assert!(value.as_array().is_some_and(|a| !a.is_empty()), "{text}"),
        }
    }
    // status: JSON Lines, one job per line, like the rest.
    let out = confsync(&env, &["status", "--json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), confsync::jobs::JOBS.len(), "{text}");
    for line in text.lines() {
        let value: Value = serde_json::from_str(line).unwrap();
        assert!(value["job"].is_string(), "{line}");
    }
    // An invalid configuration is reported in the same style, and exits 78.
    let mut bad = env.clone();
    bad.push(("CONFSYNC_LOGGING__FORMAT".into(), "xml".into()));
    let out = confsync(&bad, &["config", "check", "--json"]).await;
    assert_eq!(out.status.code(), Some(78));
    let value: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(value["valid"], false);
    assert_eq!(value["problems"][0]["key"], "logging.format");
}

/// Every argument of every command has help text.
#[test]
fn every_flag_has_help() {
    fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in command.get_arguments() {
            let builtin = matches!(arg.get_id().as_str(), "help" | "version");
            if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut missing = Vec::new();
    walk(&confsync::cli::Cli::command(), "confsync", &mut missing);
    assert!(missing.is_empty(), "no help: {missing:?}");
}

#[tokio::test]
async fn version_completions_man_page_and_grouped_help() {
    let none: Vec<(String, String)> = Vec::new();
    let version = confsync(&none, &["--version"]).await;
    let text = stdout(&version);
    let revision = text
        .trim()
        .strip_prefix(concat!("confsync ", env!("CARGO_PKG_VERSION"), " ("))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        revision == "unknown" || revision.chars().all(|c| c.is_ascii_hexdigit()),
        "{text}"
    );
    for shell in ["bash", "zsh", "fish"] {
        let out = confsync(&none, &["completions", shell]).await;
        assert!(
            out.status.success() && stdout(&out).contains("confsync"),
            "{shell}"
        );
    }
    let man = confsync(&none, &["manpage"]).await;
    assert!(stdout(&man).starts_with(".ie") || stdout(&man).contains(".TH confsync"));
    let help = confsync(&none, &["--help"]).await;
    let help = stdout(&help);
    let (operator, developer) = help.split_once("Developer commands").expect("a section");
    for command in ["simulate", "demo", "bench"] {
        assert!(!operator.contains(&format!("  {command} ")), "{help}");
        assert!(developer.contains(&format!("  {command} ")), "{help}");
    }
    assert!(
        help.contains("Exit codes:") && help.contains("78"),
        "{help}"
    );
}
