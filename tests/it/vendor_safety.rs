//! What a signed vendor call never does: follow a redirect to another
//! origin (with its signature headers and a password in the body), or read
//! an answer without bound.

use crate::common;

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use confsync::cloudroom::{CloudRoomClient, CloudRoomError, CreateUser, ListQuery};
use secrecy::SecretString;
use serde_json::json;

/// Every request another origin received: its headers and body.
type Seen = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A server on its own port that records whatever reaches it.
async fn other_origin() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let kept = seen.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: String| {
        let kept = kept.clone();
        async move {
            kept.lock().unwrap().push((headers, body));
            "{}"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_refused_and_nothing_reaches_it() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let (origin, seen) = other_origin().await;
    let location = format!("{origin}/CLOUDROOM-SERVER/v2/user?token=SECRET-TOKEN");
    common::admin(
        &sim,
        reqwest::Method::POST,
        "/faults",
        Some(json!({ "redirect_to": location })),
    )
    .await;
    let client = CloudRoomClient::new(&common::settings_for(&sim, &db).cloudroom).unwrap();
    let created = client
        .create_user(&CreateUser {
            account: "alice@example.com".into(),
            password: SecretString::from("pw-that-must-stay-home"),
            name: "Alice".into(),
            mobile: None,
            department_id: None,
            role_type: None,
            email: None,
        })
        .await;
    let listed = client.list_conferences(&ListQuery::page(1, 20)).await;
    for result in [created.map(drop), listed.map(drop)] {
        let e = result.unwrap_err();
        assert!(matches!(e, CloudRoomError::Redirected { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains(&format!("{origin}/CLOUDROOM-SERVER/v2/user")),
            "{text}"
        );
        assert!(!text.contains("SECRET-TOKEN"), "{text}");
    }
    assert!(
        seen.lock().unwrap().is_empty(),
        "no request reached the other origin"
    );
    // Refused once each, not retried.
    assert_eq!(sim.state.requests("cloudroom", None, Some(307)), 2);
}

/// Answers every request 200 with a body far larger than any page.
async fn endless_answer(content_length: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move || async move {
        let chunk = axum::body::Bytes::from(vec![b' '; 1 << 20]);
        let body = futures::stream::repeat(chunk)
            .take(40)
            .map(Ok::<_, std::io::Error>);
        let mut response = axum::response::Response::new(axum::body::Body::from_stream(body));
        if content_length {
            response
                .headers_mut()
                .insert("content-length", (40u64 << 20).into());
        }
        response
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/CLOUDROOM-SERVER")
}

use futures::StreamExt as _;

#[tokio::test]
async fn an_answer_past_the_bound_is_refused_naming_the_limit() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    for content_length in [true, false] {
        let mut settings = common::settings_for(&sim, &db).cloudroom;
        settings.base_url = endless_answer(content_length).await;
        settings.max_retries = 0;
        let client = CloudRoomClient::new(&settings).unwrap();
        let e = client
            .list_conferences(&ListQuery::page(1, 20))
            .await
            .unwrap_err();
        assert!(matches!(e, CloudRoomError::TooLarge { .. }), "{e:?}");
        assert!(e.to_string().contains("16777216 bytes"), "{e}");
    }
}
