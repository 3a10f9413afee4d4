/// Every string-valued key of the settings keeps its text from the
/// environment: the list is checked against the settings themselves,
/// with every optional string set.
#[test]
fn every_string_key_is_listed() {
    let mut settings = Settings::default();
    settings.database.password_file = Some("p".into());
    settings.cloudroom.secret_id = Some("i".into());
    settings.cloudroom.secret_key_file = Some("k".into());
    settings.aliyun.access_key_id = Some("i".into());
    settings.aliyun.access_key_secret_file = Some("k".into());
    settings.aliyun.group_id = Some("g".into());
    settings.aliyun.group_name = Some("n".into());
    settings.directory.source = Some("s".into());
    settings.directory.departments_source = Some("d".into());
    settings
        .directory
        .columns
        .insert("employee_id".into(), "工号".into());
    let value = figment::value::Value::serialize(&settings).unwrap();
    let mut strings = Vec::new();
    string_leaves(&value, String::new(), &mut strings);
    let missing: Vec<_> = strings.iter().filter(|k| !is_string_key(k)).collect();
    assert!(missing.is_empty(), "add to STRING_KEYS: {missing:?}");
}

fn string_leaves(value: &figment::value::Value, path: String, out: &mut Vec<String>) {
    use figment::value::Value;
    match value {
        Value::String(..) => out.push(path),
        Value::Dict(_, dict) => {
            for (key, inner) in dict {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                string_leaves(inner, path, out);
            }
        }
        _ => {}
    }
}

#[test]
fn a_numeric_looking_column_header_stays_a_string() {
    let settings = load_env(&[("CONFSYNC_DIRECTORY__COLUMNS__EMPLOYEE_ID", "0012")]).unwrap();
    assert_eq!(settings.directory.columns["employee_id"], "0012");
}
use super::*;
use secrecy::ExposeSecret;

fn load_env(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let sources = ConfigSources {
        file: None,
        env: Some(
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
    };
    load(&sources).map(|(s, _)| s)
}

#[test]
fn numeric_looking_secrets_stay_strings() {
    let s = load_env(&[
        ("CONFSYNC_CLOUDROOM__SECRET_ID", "012345"),
        ("CONFSYNC_CLOUDROOM__SECRET_KEY", "98765"),
        ("CONFSYNC_CLOUDROOM__REQUESTS_PER_MINUTE", "120"),
    ])
    .unwrap();
    assert_eq!(s.cloudroom.secret_id.as_deref(), Some("012345"));
    assert_eq!(s.cloudroom.secret_key.unwrap().expose_secret(), "98765");
    assert_eq!(s.cloudroom.requests_per_minute, Some(120));
}

#[test]
fn every_problem_names_its_key_and_source() {
    let err = load_env(&[
        ("CONFSYNC_CLOUDROOM__TIMEZONE", "Mars/Olympus"),
        ("CONFSYNC_ALIYUN__BATCH_SIZE", "0"),
    ])
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("cloudroom.timezone"), "{text}");
    assert!(text.contains("aliyun.batch_size"), "{text}");
    assert!(text.contains("environment"), "{text}");
}

#[test]
fn a_directory_push_to_aliyun_needs_the_group() {
    let err = load_env(&[("CONFSYNC_DIRECTORY__SOURCE", "/srv/hr.csv")]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("aliyun.group_id") && text.contains("aliyun.group_name"),
        "{text}"
    );
    assert!(load_env(&[
        ("CONFSYNC_DIRECTORY__SOURCE", "/srv/hr.csv"),
        ("CONFSYNC_DIRECTORY__ALIYUN", "false"),
    ])
    .is_ok());
}

#[test]
fn show_redacts_secrets() {
    let s = load_env(&[("CONFSYNC_CLOUDROOM__SECRET_KEY", "hunter2-secret")]).unwrap();
    let shown = show(&s);
    assert!(!shown.contains("hunter2"));
    assert!(shown.contains("[redacted]"));
    assert!(!format!("{s:?}").contains("hunter2"));
}

#[test]
fn a_database_password_in_the_url_is_a_secret() {
    let url = "postgres://confsync:s3cr%40t-pw@db.example:5433/confsync";
    let s = load_env(&[("CONFSYNC_DATABASE__URL", url)]).unwrap();
    assert_eq!(
        s.database.url,
        "postgres://confsync@db.example:5433/confsync"
    );
    let password = s.database.password.as_ref().expect("moved to password");
    assert_eq!(password.expose_secret(), "s3cr@t-pw");
    let shown = show(&s);
    assert!(!shown.contains("s3cr"), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
    assert!(!format!("{s:?}").contains("s3cr"));
}

#[test]
fn a_database_password_comes_from_a_file_or_the_url_not_both() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("db-password");
    std::fs::write(&file, "from-the-file\n").unwrap();
    let path = file.display().to_string();
    let s = load_env(&[("CONFSYNC_DATABASE__PASSWORD_FILE", path.as_str())]).unwrap();
    let password = s.database.password.as_ref().expect("read from the file");
    assert_eq!(password.expose_secret(), "from-the-file");
    let e = load_env(&[
        ("CONFSYNC_DATABASE__PASSWORD_FILE", path.as_str()),
        ("CONFSYNC_DATABASE__URL", "postgres://u:inline@h/d"),
    ])
    .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("database.url"), "{text}");
    assert!(!text.contains("inline"), "{text}");
}

fn load_file(toml: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("confsync.toml");
    std::fs::write(
        &file,
        toml.replace("{dir}", &dir.path().display().to_string()),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("tenants")).unwrap();
    for (name, body) in env.iter().filter(|(k, _)| k.ends_with(".toml")) {
        std::fs::write(dir.path().join("tenants").join(name), body).unwrap();
    }
    let sources = ConfigSources {
        file: Some(file),
        env: Some(
            env.iter()
                .filter(|(k, _)| !k.ends_with(".toml"))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
    };
    load(&sources).map(|(s, _)| s)
}

const TENANTS: &str = r#"
tenants_dir = "{dir}/tenants"
[cloudroom]
base_url = "https://cloudroom.example/CLOUDROOM-SERVER"
requests_per_minute = 120
[schedule]
history = "0 0 * * * *"
[tenants.acme.cloudroom]
secret_id = "acme-id"
secret_key = "acme-key"
[tenants.acme.schedule]
history = "0 30 * * * *"
"#;

#[test]
fn tenants_come_from_sections_drop_ins_and_the_environment() {
    let s = load_file(
        TENANTS,
        &[
            (
                "globex.toml",
                "[cloudroom]\nsecret_id = \"globex-id\"\nsecret_key = \"globex-key\"\n",
            ),
            ("acme.toml", "[cloudroom]\nrequests_per_minute = 60\n"),
            ("CONFSYNC_TENANTS__GLOBEX__CLOUDROOM__SECRET_ID", "007"),
        ],
    )
    .unwrap();
    assert_eq!(s.tenant_names(), ["acme", "globex"]);
    assert!(s.has_several_tenants());
    let acme = s.tenant("acme").unwrap();
    assert_eq!(acme.cloudroom.tenant, "acme");
    assert_eq!(acme.cloudroom.secret_id.as_deref(), Some("acme-id"));
    // The drop-in overrides the main file's section; the top level is the default.
    assert_eq!(acme.cloudroom.requests_per_minute, Some(60));
    assert_eq!(
        acme.cloudroom.base_url,
        "https://cloudroom.example/CLOUDROOM-SERVER"
    );
    assert_eq!(acme.schedule.history, "0 30 * * * *");
    let globex = s.tenant("globex").unwrap();
    // The environment wins, and a numeric-looking id stays a string.
    assert_eq!(globex.cloudroom.secret_id.as_deref(), Some("007"));
    assert_eq!(globex.cloudroom.requests_per_minute, Some(120));
    assert_eq!(globex.schedule.history, "0 0 * * * *");
    let shown = show(&s);
    assert!(shown.contains("[tenants.acme.cloudroom]"), "{shown}");
    assert!(
        !shown.contains("acme-key") && !shown.contains("globex-key"),
        "{shown}"
    );
}

#[test]
fn a_single_tenant_configuration_is_the_tenant_default() {
    let s = load_env(&[("CONFSYNC_CLOUDROOM__SECRET_ID", "id")]).unwrap();
    assert_eq!(s.tenant_names(), ["default"]);
    assert!(!s.has_several_tenants());
    assert_eq!(
        s.tenant("default").unwrap().cloudroom.secret_id.as_deref(),
        Some("id")
    );
}

#[test]
fn tenant_problems_name_the_tenant_key() {
    let toml = r#"
[tenants.acme.cloudroom]
timezone = "Mars/Olympus"
[tenants.acme.http]
listen = "127.0.0.1:1"
[tenants."Big Corp".cloudroom]
secret_id = "x"
"#;
    let text = load_file(toml, &[]).unwrap_err().to_string();
    assert!(text.contains("tenants.acme.cloudroom.timezone"), "{text}");
    assert!(
        text.contains("tenants.acme.http") && text.contains("not a tenant section"),
        "{text}"
    );
    assert!(text.contains("[a-z0-9_-]+"), "{text}");
    let bad_file = load_file(
        "tenants_dir = \"{dir}/tenants\"\n",
        &[("Bad.toml", "[cloudroom]\n")],
    )
    .unwrap_err()
    .to_string();
    assert!(
        bad_file.contains("tenants_dir") && bad_file.contains("Bad.toml"),
        "{bad_file}"
    );
}

#[test]
fn platform_secrets_are_redacted_and_runs_leave_lock_connections_room() {
    let s = load_env(&[
        ("CONFSYNC_PLATFORM__SECRET_ID", "plat"),
        ("CONFSYNC_PLATFORM__SECRET_KEY", "platform-key-9"),
    ])
    .unwrap();
    assert!(!show(&s).contains("platform-key-9"));
    let text = load_env(&[
        ("CONFSYNC_DAEMON__MAX_CONCURRENT_RUNS", "10"),
        ("CONFSYNC_DATABASE__MAX_CONNECTIONS", "10"),
    ])
    .unwrap_err()
    .to_string();
    assert!(text.contains("daemon.max_concurrent_runs"), "{text}");
}
