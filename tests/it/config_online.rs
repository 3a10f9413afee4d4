//! `confsync config check --online` against the simulator and PostgreSQL.

use crate::common;
use crate::common::daemon as daemon_helpers;

use std::time::{Duration, Instant};

use daemon_helpers::{child_env, confsync};

async fn check(env: &[(String, String)]) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let out = confsync(env)
        .args(["config", "check", "--online"])
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text, started.elapsed())
}

#[tokio::test]
async fn online_check_names_the_key_and_url_of_each_failure() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let env = child_env(&sim, &db);
    let (code, text, _) = check(&env).await;
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("every configured vendor answered"), "{text}");

    // A base URL that goes one level too far, and a database nobody listens on.
    let mut bad = env.clone();
    let base = format!("{}/v2", sim.cloudroom_base_url());
    bad.push(("CONFSYNC_CLOUDROOM__BASE_URL".into(), base.clone()));
    bad.push((
        "CONFSYNC_DATABASE__URL".into(),
        "postgres://postgres@127.0.0.1:1/confsync".into(),
    ));
    let (code, text, took) = check(&bad).await;
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!("cloudroom.base_url: {base}")),
        "{text}"
    );
    assert!(text.contains("ends before /v2"), "{text}");
    assert!(text.contains("database.url"), "{text}");
    assert!(text.to_lowercase().contains("refused"), "{text}");
    assert!(
        took < Duration::from_secs(8),
        "a refused port is reported at once: {took:?}"
    );
}
