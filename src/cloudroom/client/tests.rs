use super::*;
use crate::configuration::Settings;

fn settings() -> CloudRoomSettings {
    let mut s = Settings::default().cloudroom;
    s.secret_id = Some("unit-test-id".into());
    s.secret_key = Some(SecretString::from("unit-test-key-do-not-print"));
    s
}

#[test]
fn builds_v2_urls_under_the_base() {
    for base in [
        "http://127.0.0.1:9/CLOUDROOM-SERVER",
        "http://127.0.0.1:9/CLOUDROOM-SERVER/",
    ] {
        let mut s = settings();
        s.base_url = base.into();
        let client = CloudRoomClient::new(&s).unwrap();
        let q = serde_json::to_value(ListQuery::page(2, 100)).unwrap();
        let req = client
            .request(
                "conference.history",
                Method::GET,
                &["conference", "history", "list"],
                Some(&q),
                NO_BODY,
            )
            .unwrap();
        assert_eq!(
            req.url.as_str(),
            "http://127.0.0.1:9/CLOUDROOM-SERVER/v2/conference/history/list?current=2&size=100"
        );
        let req = client
            .request(
                "user.delete",
                Method::DELETE,
                &["user", "a b/c@x"],
                None,
                NO_BODY,
            )
            .unwrap();
        assert_eq!(
            req.url.as_str(),
            "http://127.0.0.1:9/CLOUDROOM-SERVER/v2/user/a%20b%2Fc@x"
        );
    }
}

#[test]
fn missing_credentials_and_bad_settings_are_config_errors() {
    let mut s = settings();
    s.secret_key = None;
    let e = CloudRoomClient::new(&s).unwrap_err();
    assert!(matches!(e, CloudRoomError::Config { .. }));
    assert!(e.to_string().contains("cloudroom.secret_key"), "{e}");
    let mut s = settings();
    s.timezone = "Mars/Olympus".into();
    assert!(CloudRoomClient::new(&s).is_err());
    let mut s = settings();
    s.base_url = "ftp://x".into();
    assert!(CloudRoomClient::new(&s).is_err());
}

#[test]
fn debug_hides_the_key() {
    let client = CloudRoomClient::new(&settings()).unwrap();
    let shown = format!("{client:?}");
    assert!(!shown.contains("unit-test-key-do-not-print"), "{shown}");
    assert!(shown.contains("unit-test-id"));
}

#[test]
fn interprets_answers() {
    assert_eq!(
        interpret("conference.end", 200, "", None).unwrap(),
        serde_json::json!({})
    );
    let e = interpret(
        "conference.get",
        400,
        r#"{"code":22005,"msg":"签名无效"}"#,
        None,
    )
    .unwrap_err();
    assert!(e.is_auth());
    let e = interpret("conference.list", 429, "", Some(Duration::from_secs(2))).unwrap_err();
    assert!(e.is_rate_limited() && e.is_retryable());
    // The budget pauses the endpoint for the server's Retry-After.
    assert!(matches!(
        e,
        CloudRoomError::RateLimited {
            retry_after: Some(after),
            ..
        } if after == Duration::from_secs(2)
    ));
    let e = interpret(
        "video.delete",
        500,
        r#"{"code":21030,"msg":"录像不存在"}"#,
        None,
    )
    .unwrap_err();
    assert_eq!(e.code(), Some(21030));
    assert!(!e.is_retryable());
    let e = interpret("conference.get", 200, "<html>oops", None).unwrap_err();
    assert!(matches!(
        e,
        CloudRoomError::Decode {
            http_status: 200,
            ..
        }
    ));
}
