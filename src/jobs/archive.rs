//! The archive: recordings' files into object storage, verified, then
//! (opt-in) deleted from CloudRoom.

use anyhow::Context as _;
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use super::{Job, JobContext, Run};
use crate::archive::{self, location::Location, ArchiveContext};
use crate::transport::CallCounter;

pub struct Archive;

impl Job for Archive {
    fn name(&self) -> &'static str {
        "archive"
    }

    /// Hourly, after the recordings pass of the half hour.
    fn default_schedule(&self) -> &'static str {
        "0 40 * * * *"
    }

    fn table(&self) -> Option<&'static str> {
        Some("cloudroom.recording_files")
    }

    /// A run copies files of several GiB.
    fn is_long(&self) -> bool {
        true
    }

    fn run<'a>(&'a self, run: &'a mut Run<'_>) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let mut ctx = context(run.ctx, run.cancel.clone(), &run.calls)?;
            ctx.retry_failed = run.options.retry_failed;
            archive::run(&ctx, &mut run.totals).await
        })
    }
}

/// The archive's view of `ctx`: the location opened, a client for the
/// download URLs, CloudRoom's client for the deletions.
pub fn context(
    ctx: &JobContext,
    cancel: CancellationToken,
    calls: &CallCounter,
) -> anyhow::Result<ArchiveContext> {
    let settings = ctx.settings.archive.clone();
    Ok(ArchiveContext {
        pool: ctx.pool.clone(),
        tenant: ctx.tenant().to_string(),
        location: Location::open(&settings)?,
        settings,
        http: archive::http_client(ctx.settings.archive.idle_timeout())
            .context("cannot build the HTTP client for the download URLs")?,
        cloudroom: ctx
            .cloudroom()?
            .clone()
            .for_run(cancel.clone(), calls.clone()),
        cancel,
        progress: ctx.progress.clone(),
        retry_failed: false,
    })
}
