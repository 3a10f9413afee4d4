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
