//! The example configuration documents every key and loads as it stands.

use confsync::configuration::{load, ConfigSources};

#[test]
fn example_config_loads() {
    let sources = ConfigSources {
        file: Some("config/confsync.example.toml".into()),
        env: Some(Vec::new()),
    };
    let (settings, _) = load(&sources).expect("the example configuration is valid");
    let budgets = settings.cloudroom.endpoint_budgets().unwrap();
    assert_eq!(budgets.get("conference.list"), Some(&300));
    assert_eq!(budgets.get("conference.history"), Some(&300));
    assert_eq!(budgets.get("video.list"), None, "no budget until a 429");
}

#[test]
fn credentials_file_is_read_from_the_credentials_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cr-key"), "s3cr3t-from-systemd\n").unwrap();
    let sources = ConfigSources {
        file: None,
        env: Some(vec![
            (
                "CREDENTIALS_DIRECTORY".into(),
                dir.path().display().to_string(),
            ),
            (
                "CONFSYNC_CLOUDROOM__SECRET_KEY_FILE".into(),
                "cr-key".into(),
            ),
            ("CONFSYNC_CLOUDROOM__SECRET_ID".into(), "12345".into()),
        ]),
    };
    let (settings, _) = load(&sources).unwrap();
    let (id, key) = settings.cloudroom.credentials().unwrap();
    assert_eq!(id, "12345");
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&key),
        "s3cr3t-from-systemd"
    );
}

#[test]
fn unknown_keys_and_bad_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[cloudroom]\nrequests_per_minut = 5\n").unwrap();
    let sources = ConfigSources {
        file: Some(path.clone()),
        env: Some(Vec::new()),
    };
    let err = load(&sources).unwrap_err().to_string();
    assert!(err.contains("requests_per_minut"), "{err}");
    // figment shows the path relative to the working directory when it can.
    assert!(err.contains("c.toml") && err.contains("TOML file"), "{err}");
}
