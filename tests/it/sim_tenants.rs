//! `confsync simulate --tenants N`: more enterprises on one port, each with
//! its own credentials, data and rate windows.

use crate::common;

use confsync::cloudroom::{CloudRoomClient, ListQuery};
use confsync_sim::SimConfig;
use secrecy::SecretString;

#[tokio::test]
async fn each_tenant_has_its_own_credentials_data_and_budget() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tenants.json");
    let mut rate = confsync_sim::rate::RateFlags::unlimited();
    rate.list_requests_per_minute = 2;
    let sim = common::simulator(SimConfig {
        tenants: 3,
        tenants_file: Some(file.clone()),
        rate,
        ..common::small_sim()
    })
    .await;
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let tenants = written["tenants"].as_array().unwrap();
    assert_eq!(tenants.len(), 3);
    assert_eq!(tenants[0]["name"], "t001");
    assert!(written["platform"]["secret_id"].is_string());

    let db = common::test_db().await;
    let client_of = |t: &serde_json::Value, key: Option<&str>| {
        let mut settings = common::settings_for(&sim, &db).cloudroom;
        settings.secret_id = Some(t["secret_id"].as_str().unwrap().into());
        settings.secret_key = Some(SecretString::from(
            key.unwrap_or(t["secret_key"].as_str().unwrap()).to_string(),
        ));
        settings.tenant = t["name"].as_str().unwrap().into();
        let mut limits = settings.rate_limits.clone();
        limits.insert("conference_list".into(), 0);
        settings.rate_limits = limits;
        CloudRoomClient::new(&settings).unwrap()
    };
    let mut firsts = Vec::new();
    for t in tenants {
        let page = client_of(t, None)
            .list_conferences(&ListQuery::page(1, 100))
            .await
            .unwrap();
        assert_eq!(page.total, 30);
        firsts.push(page.records[0].conf_id);
    }
    firsts.dedup();
    assert_eq!(firsts.len(), 3, "each tenant has its own data: {firsts:?}");
    // Each tenant has spent one of its two list requests this minute:
    // t001's third is refused, while t002 still has one of its own.
    let raw = |t: &serde_json::Value| {
        let (id, key) = (
            t["secret_id"].as_str().unwrap(),
            t["secret_key"].as_str().unwrap(),
        );
        let now = chrono::Utc::now().timestamp();
        use sha2::Digest;
        let signature = hex::encode(sha2::Sha256::digest(format!("{id}&{now}&{key}")));
        reqwest::Client::new()
            .get(format!("{}/v2/conference/list", sim.cloudroom_base_url()))
            .header("X-CR-SecretId", id)
            .header("X-CR-Timestamp", now.to_string())
            .header("X-CR-Signature", signature)
            .header("X-CR-RequestId", uuid::Uuid::new_v4().to_string())
    };
    assert_eq!(raw(&tenants[0]).send().await.unwrap().status(), 200);
    assert_eq!(raw(&tenants[0]).send().await.unwrap().status(), 429);
    assert_eq!(raw(&tenants[1]).send().await.unwrap().status(), 200);
    // A tenant's id with another key is refused.
    let wrong = client_of(&tenants[2], Some("not-its-key"));
    assert_eq!(
        wrong
            .list_conferences(&ListQuery::page(1, 1))
            .await
            .unwrap_err()
            .code(),
        Some(22005)
    );
}
