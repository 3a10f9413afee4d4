//! `confsync config check|show` as a user runs them, with the real process environment.

use std::process::Command;

fn confsync() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_confsync"));
    // Start from a clean slate: no inherited CONFSYNC_* and no /etc file.
    for (key, _) in std::env::vars() {
        if key.starts_with("CONFSYNC_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("CONFSYNC_CONFIG", "config/confsync.example.toml");
    cmd
}

#[test]
fn numeric_looking_ids_and_secrets_stay_strings() {
    let out = confsync()
        .args(["config", "show"])
        .env("CONFSYNC_CLOUDROOM__SECRET_ID", "012345")
        .env("CONFSYNC_CLOUDROOM__SECRET_KEY", "987654321")
        .env("CONFSYNC_ALIYUN__ACCESS_KEY_SECRET", "0042")
        .env("CONFSYNC_CLOUDROOM__REQUESTS_PER_MINUTE", "120")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("secret_id = \"012345\""), "{stdout}");
    assert!(stdout.contains("requests_per_minute = 120"), "{stdout}");
    assert!(
        !stdout.contains("987654321") && !stdout.contains("0042"),
        "{stdout}"
    );
    assert!(stdout.contains("[redacted]"), "{stdout}");
}

#[test]
fn check_names_each_bad_key_and_its_source() {
    let out = confsync()
        .args(["config", "check"])
        .env("CONFSYNC_CLOUDROOM__TIMEZONE", "Mars/Base")
        .env("CONFSYNC_LOGGING__FORMAT", "xml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cloudroom.timezone"), "{stderr}");
    assert!(stderr.contains("logging.format"), "{stderr}");
    assert!(stderr.contains("environment"), "{stderr}");
}

#[test]
fn check_passes_on_the_example_with_its_credentials() {
    let out = confsync()
        .args(["config", "check"])
        .env("CONFSYNC_CLOUDROOM__SECRET_ID", "id")
        .env("CONFSYNC_CLOUDROOM__SECRET_KEY", "key")
        .env("CONFSYNC_ALIYUN__ACCESS_KEY_ID", "id")
        .env("CONFSYNC_ALIYUN__ACCESS_KEY_SECRET", "secret")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The jobs the example schedules need CloudRoom's keys (the mirror) and
/// Aliyun's (the directory pushes there): each missing one is named.
#[test]
fn check_names_every_credential_the_configured_jobs_need() {
    let out = confsync()
        .args(["config", "check"])
        .env("CONFSYNC_CLOUDROOM__SECRET_ID", "id")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cloudroom.secret_key"), "{stderr}");
    assert!(stderr.contains("aliyun.access_key_id"), "{stderr}");
    assert!(!stderr.contains("cloudroom.secret_id"), "{stderr}");
    // With the directory off and Aliyun not pushed to, Aliyun's are not needed.
    let out = confsync()
        .args(["config", "check"])
        .env("CONFSYNC_CLOUDROOM__SECRET_ID", "id")
        .env("CONFSYNC_CLOUDROOM__SECRET_KEY", "key")
        .env("CONFSYNC_SCHEDULE__DIRECTORY", "off")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_names_every_misspelt_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typos.toml");
    let text =
        "[cloudroom]\nsecret_idd = \"x\"\n[aliyun]\nbatchsize = 3\n[directory]\nmin_row = 1\n";
    std::fs::write(&path, text).unwrap();
    let out = confsync()
        .args(["--config", path.to_str().unwrap(), "config", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for key in ["secret_idd", "batchsize", "min_row"] {
        assert!(stderr.contains(key), "{key} in {stderr}");
    }
}

#[test]
fn a_type_error_in_the_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[aliyun]\nbatch_size = \"many\"\n").unwrap();
    let out = confsync()
        .args(["--config", path.to_str().unwrap(), "config", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("aliyun.batch_size") && stderr.contains("bad.toml"),
        "{stderr}"
    );
}

#[test]
fn archive_keys_are_never_shown() {
    let out = confsync()
        .args(["config", "show"])
        .env("CONFSYNC_ARCHIVE__SECRET_ACCESS_KEY", "s3-secret-123")
        .env(
            "CONFSYNC_ARCHIVE__OPTIONS__AWS_SECRET_ACCESS_KEY",
            "s3-secret-456",
        )
        .env("CONFSYNC_ARCHIVE__OPTIONS__AWS_REGION", "cn-north-1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("s3-secret"), "{stdout}");
    assert!(stdout.contains("cn-north-1"), "{stdout}");
}

#[test]
fn a_duration_out_of_range_is_a_configuration_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.toml");
    let text =
        "[archive]\ndelete_from_cloudroom_after = \"100000000d\"\nidle_timeout_seconds = 0\n";
    std::fs::write(&path, text).unwrap();
    let out = confsync()
        .args(["--config", path.to_str().unwrap(), "config", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "archive.delete_from_cloudroom_after",
        "out of range",
        "archive.idle_timeout_seconds",
    ] {
        assert!(stderr.contains(needle), "{needle} in {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn config_show_never_prints_a_password_in_the_url_query_an_sse_c_key_or_proxy_credentials() {
    let out = confsync()
        .args(["config", "show"])
        .env(
            "CONFSYNC_DATABASE__URL",
            "postgres://app@db.example.com/confsync?sslmode=require&password=hunter2",
        )
        .env(
            "CONFSYNC_ARCHIVE__OPTIONS__AWS_SSE_CUSTOMER_KEY_BASE64",
            "c3NlLWMta2V5",
        )
        .env(
            "CONFSYNC_ARCHIVE__OPTIONS__PROXY_URL",
            "http://proxyuser:proxypass@proxy:3128",
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in ["hunter2", "c3NlLWMta2V5", "proxypass"] {
        assert!(!stdout.contains(secret), "{secret} in {stdout}");
    }
    assert!(stdout.contains("sslmode=require"), "{stdout}");
    assert!(stdout.contains("proxy:3128"), "{stdout}");
}

#[test]
fn a_problem_with_a_default_value_names_no_code_location() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.toml");
    std::fs::write(&path, "").unwrap();
    let out = confsync()
        .args(["--config", path.to_str().unwrap(), "config", "check"])
        .env("CONFSYNC_DATABASE__MAX_CONNECTIONS", "3")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("daemon.max_concurrent_runs"), "{stderr}");
    assert!(stderr.contains("built-in default"), "{stderr}");
    assert!(
        !stderr.contains(".rs:") && !stderr.contains("confsync::"),
        "{stderr}"
    );
}
