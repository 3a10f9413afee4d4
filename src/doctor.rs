//! `confsync config check --online`: the configuration against the world.
//! It connects to the database and makes one cheap signed call to each
//! vendor confsync has credentials for, and names the key and the URL of
//! every failure.

use crate::aliyun::{AliyunClient, AliyunError};
use crate::causes::Chain;
use crate::cloudroom::{CloudRoomClient, ListQuery};
use crate::configuration::{ConfigProblem, Settings, TenantSettings};

/// Every failure found; empty when the database and each vendor answered.
pub async fn check_online(settings: &Settings) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    if let Err(e) = crate::store::db::connect(&settings.database).await {
        let url = crate::secret::redact_url(&settings.database.url);
        problems.push(problem(
            "database.url",
            &url,
            crate::causes::Chain(&e).to_string(),
        ));
    }
    // Every vendor with credentials is called, scheduled or not: `sync`
    // and `directory apply` may use it by hand.
    for tenant in settings.tenants() {
        let mut own = Vec::new();
        if tenant.cloudroom.credentials().is_ok() {
            own.extend(check_cloudroom(&tenant).await);
        }
        if tenant.directory.aliyun && tenant.aliyun.credentials().is_ok() {
            own.extend(check_aliyun(&tenant).await);
        }
        problems.extend(
            own.into_iter()
                .map(|p| settings.tenant_problem(tenant.name(), p)),
        );
    }
    problems.extend(crate::configuration::missing_credentials(settings));
    problems
}

async fn check_cloudroom(settings: &TenantSettings) -> Option<ConfigProblem> {
    let url = &settings.cloudroom.base_url;
    let client = match CloudRoomClient::new(&settings.cloudroom) {
        Ok(client) => client,
        Err(e) => return Some(problem("cloudroom.base_url", url, Chain(&e).to_string())),
    };
    let e = client
        .list_conferences(&ListQuery::page(1, 1))
        .await
        .err()?;
    let mut message = Chain(&e).to_string();
    if url.trim_end_matches('/').ends_with("/v2") {
        message.push_str("; the base URL ends before /v2 (confsync adds the /v2/... path)");
    }
    Some(problem("cloudroom.base_url", url, message))
}

async fn check_aliyun(settings: &TenantSettings) -> Option<ConfigProblem> {
    let url = &settings.aliyun.endpoint;
    let client = match AliyunClient::new(&settings.aliyun) {
        Ok(client) => client,
        Err(e) => return Some(problem("aliyun.endpoint", url, Chain(&e).to_string())),
    };
    // An id nobody has costs nothing. CVC answering at all (with the user,
    // without it, or Success=false, which the document leaves open for a
    // missing user) proves the endpoint and the signature.
    match client.get_user("confsync-config-check").await {
        Ok(_) | Err(AliyunError::Business { .. }) => None,
        Err(e) => Some(problem("aliyun.endpoint", url, Chain(&e).to_string())),
    }
}

fn problem(key: &str, url: &str, message: String) -> ConfigProblem {
    ConfigProblem {
        key: key.into(),
        source: "config check --online".into(),
        message: format!("{url}: {message}"),
    }
}
