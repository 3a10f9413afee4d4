//! What every run needs, wired once per process by [`crate::app`].

use std::sync::Arc;

use indicatif::ProgressBar;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::TenantSettings;
use crate::aliyun::AliyunClient;
use crate::cloudroom::CloudRoomClient;
use crate::mirror::MirrorContext;
use crate::transport::CallCounter;

/// The pool, the tenant's settings and vendor clients, and what the
/// process decides for every run: the shutdown token and the run lease.
/// Cloning is cheap; clones share the connection pools, budgets and stats.
#[derive(Clone)]
pub struct JobContext {
    pub pool: PgPool,
    pub settings: Arc<TenantSettings>,
    /// `daemon.lease_seconds`: a run whose heartbeat is older is taken over.
    pub lease: std::time::Duration,
    /// Built when a job of the tenant needs CloudRoom or its credentials
    /// are set: a tenant that runs only the Aliyun side needs none.
    pub cloudroom: Option<CloudRoomClient>,
    /// Built only when the directory pushes to Aliyun, which needs its keys.
    pub aliyun: Option<AliyunClient>,
    /// Cancelled on shutdown: every run stops at its next checkpoint.
    pub shutdown: CancellationToken,
    /// Hidden unless stderr is a terminal.
    pub progress: ProgressBar,
}

impl JobContext {
    pub fn tenant(&self) -> &str {
        &self.settings.cloudroom.tenant
    }

    /// The CloudRoom client, or why there is none.
    pub fn cloudroom(&self) -> anyhow::Result<&CloudRoomClient> {
        self.cloudroom.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "tenant {} has no CloudRoom client: set cloudroom.secret_id and cloudroom.secret_key",
                self.tenant()
            )
        })
    }

    /// The mirror's context for one run: clients whose waits end with
    /// `cancel` and whose requests count into `calls`.
    pub fn mirror(
        &self,
        cancel: CancellationToken,
        calls: &CallCounter,
    ) -> anyhow::Result<MirrorContext> {
        Ok(MirrorContext {
            pool: self.pool.clone(),
            client: self
                .cloudroom()?
                .clone()
                .for_run(cancel.clone(), calls.clone()),
            settings: self.settings.cloudroom.clone(),
            cancel,
            progress: self.progress.clone(),
        })
    }
}
