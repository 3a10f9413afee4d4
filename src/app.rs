//! The application, wired once per process: the pool (migrated), each
//! tenant's vendor clients, and the shutdown token every wait and every run
//! ends with.

use anyhow::Context as _;
use indicatif::ProgressBar;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::aliyun::AliyunClient;
use crate::cloudroom::CloudRoomClient;
use crate::configuration::Settings;
use crate::jobs::JobContext;

/// Connects to the database (migrating it) and builds the clients of the
/// one tenant `settings` describe (see [`Settings::tenants`]).
pub async fn build(
    settings: Settings,
    shutdown: CancellationToken,
    progress: ProgressBar,
) -> anyhow::Result<JobContext> {
    let pool = crate::db::connect_and_migrate(&settings.database).await?;
    for_tenant(settings, &pool, shutdown, progress)
}

/// One context per tenant, all on `pool`.
pub fn for_tenants(
    tenants: Vec<Settings>,
    pool: &PgPool,
    shutdown: CancellationToken,
    progress: ProgressBar,
) -> anyhow::Result<Vec<JobContext>> {
    tenants
        .into_iter()
        .map(|tenant| for_tenant(tenant, pool, shutdown.clone(), progress.clone()))
        .collect()
}

/// The tenant's clients on a shared pool. The Aliyun client is built
/// whenever its keys are set; without them it is left out, and a run that
/// needs it says why.
pub fn for_tenant(
    settings: Settings,
    pool: &PgPool,
    shutdown: CancellationToken,
    progress: ProgressBar,
) -> anyhow::Result<JobContext> {
    let tenant = settings.cloudroom.tenant.clone();
    let cloudroom = CloudRoomClient::new(&settings.cloudroom)
        .with_context(|| format!("cannot build the CloudRoom client of tenant {tenant}"))?
        .with_cancel(shutdown.clone());
    // Wherever its keys are set: the directory push and the attendance job
    // use it (the directory only with directory.aliyun on).
    let aliyun = AliyunClient::new(&settings.aliyun)
        .ok()
        .map(|client| client.with_cancel(shutdown.clone()).with_tenant(&tenant));
    Ok(JobContext {
        pool: pool.clone(),
        settings: std::sync::Arc::new(settings),
        cloudroom,
        aliyun,
        shutdown,
        progress,
    })
}
