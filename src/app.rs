//! The application, wired once per process: the pool (migrated), each
//! tenant's vendor clients, and the shutdown token every wait and every run
//! ends with. The daemon, every command and the tests build their contexts
//! here, and nowhere else.

use indicatif::ProgressBar;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::aliyun::AliyunClient;
use crate::cloudroom::CloudRoomClient;
use crate::configuration::Settings;
use crate::daemon::{settings::DaemonConfig, RunningDaemon};
use crate::jobs::{JobContext, TenantSettings};

/// Connects to the database (migrating it) and builds the context of the
/// tenant of `settings`' top level (a command scopes its settings to one
/// tenant with [`Settings::scoped_to`]).
pub async fn build(
    settings: Settings,
    shutdown: CancellationToken,
    progress: ProgressBar,
) -> anyhow::Result<JobContext> {
    let pool = crate::store::db::connect_and_migrate(&settings.database).await?;
    context(settings.top_tenant(), &settings, &pool, shutdown, progress)
}

/// One context per tenant, all on `pool`.
pub fn contexts(
    settings: &Settings,
    tenants: Vec<TenantSettings>,
    pool: &PgPool,
    shutdown: CancellationToken,
    progress: ProgressBar,
) -> anyhow::Result<Vec<JobContext>> {
    tenants
        .into_iter()
        .map(|tenant| context(tenant, settings, pool, shutdown.clone(), progress.clone()))
        .collect()
}

/// The tenant's clients on a shared pool, with what the process decides
/// for every run (`settings`' lease). The Aliyun client is built whenever
/// its keys are set; without them it is left out, and a run that needs it
/// says why.
pub fn context(
    tenant: TenantSettings,
    settings: &Settings,
    pool: &PgPool,
    shutdown: CancellationToken,
    progress: ProgressBar,
) -> anyhow::Result<JobContext> {
    let name = tenant.name().to_string();
    // Only the clients a scheduled job needs must build; the others are
    // built whenever their keys are set, for commands run by hand.
    let needed = tenant.vendors_needed();
    let cloudroom = match CloudRoomClient::new(&tenant.cloudroom) {
        Ok(client) => Some(client.with_cancel(shutdown.clone())),
        Err(_) if !needed.cloudroom && tenant.cloudroom.credentials().is_err() => None,
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "cannot build the CloudRoom client of tenant {name}"
            )))
        }
    };
    // Wherever its keys are set: the directory push and the attendance job
    // use it (the directory only with directory.aliyun on).
    let aliyun = AliyunClient::new(&tenant.aliyun)
        .ok()
        .map(|client| client.with_cancel(shutdown.clone()).with_tenant(&name));
    Ok(JobContext {
        pool: pool.clone(),
        settings: std::sync::Arc::new(tenant),
        lease: settings.daemon.lease(),
        cloudroom,
        aliyun,
        shutdown,
        progress,
    })
}

/// `confsync run`: connects (migrating), builds every tenant's context and
/// starts the daemon on them.
pub async fn start_daemon(settings: Settings) -> anyhow::Result<RunningDaemon> {
    let stop = CancellationToken::new();
    let pool = crate::store::db::connect_and_migrate(&settings.database).await?;
    let hidden = ProgressBar::hidden();
    let contexts = contexts(&settings, settings.tenants(), &pool, stop.clone(), hidden)?;
    let config = DaemonConfig {
        daemon: settings.daemon.clone(),
        http: settings.http.clone(),
        health: settings.health.clone(),
    };
    crate::daemon::start(&config, pool, contexts, stop).await
}
