//! The application, wired once per process: the pool (migrated), both vendor
//! clients, and the shutdown token every wait and every run ends with.

use anyhow::Context as _;
use indicatif::ProgressBar;
use tokio_util::sync::CancellationToken;

use crate::aliyun::AliyunClient;
use crate::cloudroom::CloudRoomClient;
use crate::configuration::Settings;
use crate::jobs::JobContext;

/// Connects to the database (migrating it) and builds the clients.
///
/// The Aliyun client is built whenever its keys are set; without them it is
/// left out, and a run that needs it says why.
pub async fn build(
    settings: Settings,
    shutdown: CancellationToken,
    progress: ProgressBar,
) -> anyhow::Result<JobContext> {
    let cloudroom = CloudRoomClient::new(&settings.cloudroom)
        .context("cannot build the CloudRoom client")?
        .with_cancel(shutdown.clone());
    // Wherever its keys are set: the directory push and the attendance job
    // use it (the directory only with directory.aliyun on).
    let aliyun = AliyunClient::new(&settings.aliyun)
        .ok()
        .map(|client| client.with_cancel(shutdown.clone()));
    let pool = crate::db::connect_and_migrate(&settings.database).await?;
    Ok(JobContext {
        pool,
        settings: std::sync::Arc::new(settings),
        cloudroom,
        aliyun,
        shutdown,
        progress,
    })
}
