//! The CloudRoom mirror: one file per pass, all writes through [`crate::store`].
//! [`crate::jobs`] runs each pass as a job.

pub mod conferences;
pub mod convert;
pub mod details;
pub mod follow;
pub mod history;
pub mod paging;
pub mod progress;
pub mod quarantine;
pub mod ramp;
pub mod read_ahead;
pub mod recordings;

use indicatif::ProgressBar;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::cloudroom::CloudRoomSettings;
use crate::cloudroom::{endpoint, CloudRoomClient};
use crate::metrics;
use crate::store::{self, sync_runs::RunTotals};

/// The three passes of the mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    Conferences,
    History,
    Recordings,
    Details,
}

/// Runs one pass, its request budgets loaded from what earlier runs learned
/// and saved for the next one.
pub async fn run_pass(
    ctx: &MirrorContext,
    pass: Pass,
    options: &PassOptions,
    totals: &mut RunTotals,
) -> anyhow::Result<()> {
    ctx.load_budgets().await?;
    // The report views count days in the tenant's zone.
    store::tenants::record_timezone(&ctx.pool, ctx.tenant(), &ctx.settings.timezone).await?;
    let result = match pass {
        Pass::Conferences => conferences::run(ctx, options, totals).await,
        Pass::History => history::run(ctx, options, totals).await,
        Pass::Recordings => recordings::run(ctx, options, totals).await,
        Pass::Details => details::run(ctx, options, totals).await,
    };
    if let Err(e) = ctx.save_budgets().await {
        tracing::warn!(error = %crate::causes::of(&e), "cannot keep the learned request budgets");
    }
    result
}

/// What every mirror job needs.
#[derive(Clone)]
pub struct MirrorContext {
    pub pool: PgPool,
    pub client: CloudRoomClient,
    pub settings: CloudRoomSettings,
    /// Stops the job between pages (the page in hand is committed first).
    pub cancel: CancellationToken,
    /// Hidden unless stderr is a terminal.
    pub progress: ProgressBar,
}

impl MirrorContext {
    pub fn tenant(&self) -> &str {
        &self.settings.tenant
    }

    /// Starts the client's request budgets from what earlier runs learned,
    /// so that a daemon does not relearn a limit at every tick.
    pub async fn load_budgets(&self) -> anyhow::Result<()> {
        let budgets = self.client.budgets();
        let stored = store::rate_budgets::load(&self.pool, self.tenant(), VENDOR).await?;
        for (endpoint, limit) in stored {
            if let Some(label) = endpoint::ALL.iter().find(|label| **label == endpoint) {
                budgets.get(label).seed(limit);
                metrics::record_rate_budget(
                    metrics::ApiCall {
                        tenant: self.tenant(),
                        vendor: VENDOR,
                        endpoint: label,
                    },
                    limit.per_minute,
                );
            }
        }
        Ok(())
    }

    /// Keeps what this process has learned for the next run.
    pub async fn save_budgets(&self) -> anyhow::Result<()> {
        let learned = self.client.budgets().learned();
        store::rate_budgets::save(&self.pool, self.tenant(), VENDOR, &learned).await?;
        Ok(())
    }
}

/// The `vendor` column of `confsync.rate_budgets`.
const VENDOR: &str = "cloudroom";

/// Options of one pass.
#[derive(Debug, Clone, Default)]
pub struct PassOptions {
    /// Re-read everything and mark what disappeared (the weekly reconcile).
    pub full: bool,
    /// Start the history pass at this day instead of the watermark.
    pub since: Option<chrono::NaiveDate>,
    /// A history pass and a recordings pass that run together.
    pub alongside: follow::Alongside,
}
