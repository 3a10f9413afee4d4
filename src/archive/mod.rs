//! The archive: each recording's file (the API's `url`; `vodUrl` is the
//! player page) copied into an object store and recorded in
//! `cloudroom.recording_files`; `verify` reads objects back; with
//! `archive.delete_from_cloudroom_after`, verified recordings are deleted
//! from CloudRoom, a capped number per run, each audited.

pub mod location;
mod proof;
pub mod retention;
pub mod settings;
mod throttle;
mod transfer;

use chrono::Utc;
use futures::stream::{self, StreamExt};
use object_store::ObjectStoreExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::cloudroom::CloudRoomClient;
use crate::store::recording_files::{self as store, Archived, ArchivedFile, DueFile};
use crate::store::sync_runs::RunTotals;
use location::Location;
pub use retention::{Held, Hold};
use settings::ArchiveSettings;
use throttle::Throttle;
use transfer::Transfer;

/// What an archive run needs.
pub struct ArchiveContext {
    pub pool: PgPool,
    pub tenant: String,
    pub settings: ArchiveSettings,
    pub location: Location,
    pub http: reqwest::Client,
    pub cloudroom: CloudRoomClient,
    pub cancel: CancellationToken,
    /// Hidden unless stderr is a terminal.
    pub progress: indicatif::ProgressBar,
    /// Also the files past `archive.max_attempts` (`archive run --retry-failed`).
    pub retry_failed: bool,
}

/// What `archive plan` shows: the files a run would archive, the
/// recordings it would delete from CloudRoom (each after the same-run
/// proof), and why every other recording retention looked at is held.
#[derive(Debug, Default, Serialize)]
pub struct ArchivePlan {
    pub to_archive: Vec<String>,
    pub to_delete: Vec<String>,
    pub held: Vec<Held>,
    /// Set when deletion is off: why nothing is listed for deletion.
    pub deletion_off: Option<&'static str>,
}

pub async fn plan(ctx: &ArchiveContext) -> anyhow::Result<ArchivePlan> {
    let due = due(ctx).await?;
    let review = retention::review(ctx).await?;
    let deletion_off = ctx
        .settings
        .delete_after()
        .is_none()
        .then_some("archive.delete_from_cloudroom_after is not set");
    Ok(ArchivePlan {
        to_archive: due.into_iter().map(|f| f.file_id).collect(),
        to_delete: review.candidates.into_iter().map(|f| f.file_id).collect(),
        held: review.held,
        deletion_off,
    })
}

async fn due(ctx: &ArchiveContext) -> anyhow::Result<Vec<DueFile>> {
    let (max, retry) = (ctx.settings.max_attempts, ctx.retry_failed);
    Ok(store::due(&ctx.pool, &ctx.tenant, max, retry).await?)
}

/// Archives every due file, then deletes what retention allows.
pub async fn run(ctx: &ArchiveContext, totals: &mut RunTotals) -> anyhow::Result<()> {
    let stale = ctx.location.remove_stale_staging(&ctx.tenant)?;
    if stale > 0 {
        tracing::info!(
            stale,
            "removed the staging files of an interrupted archive run"
        );
    }
    let due = due(ctx).await?;
    crate::metrics::record_archive_backlog(&ctx.tenant, due.len());
    let throttle = Throttle::new(ctx.settings.max_bytes_per_second);
    let queued = due.len();
    let mut outcomes = stream::iter(due)
        .map(|file| archive_one(ctx, &throttle, file))
        .buffer_unordered(ctx.settings.concurrency);
    let (mut failures, mut bytes_done) = (Vec::new(), 0u64);
    while let Some(outcome) = outcomes.next().await {
        totals.pages += 1;
        match outcome? {
            Ok(bytes) => {
                totals.rows.inserted += 1;
                bytes_done += bytes;
                crate::metrics::record_archive_bytes(&ctx.tenant, bytes);
            }
            Err(message) => failures.push(message),
        }
        let mib = bytes_done as f64 / 1_048_576.0;
        ctx.progress.set_message(format!(
            "archive: {} of {queued} files, {mib:.1} MiB",
            totals.pages
        ));
    }
    drop(outcomes);
    crate::metrics::record_archive_failures(&ctx.tenant, failures.len() as u64);
    if !ctx.cancel.is_cancelled() {
        totals.rows.updated += retention::delete_proven(ctx).await?;
    }
    match failures.first() {
        None => Ok(()),
        Some(first) => anyhow::bail!(
            "{} file(s) failed and are retried next run; first: {first}",
            failures.len()
        ),
    }
}

/// One file: `Ok(Ok(bytes))` archived, `Ok(Err(why))` failed and
/// recorded. A cancellation is no attempt of the file's: it ends the run.
async fn archive_one(
    ctx: &ArchiveContext,
    throttle: &Throttle,
    file: DueFile,
) -> anyhow::Result<Result<u64, String>> {
    let key = ctx.location.key(
        (&ctx.tenant, file.conf_id),
        &file.file_id,
        file.version + 1,
        &file.download_url,
    );
    let transfer = Transfer {
        http: &ctx.http,
        store: ctx.location.store.as_ref(),
        throttle,
        cancel: &ctx.cancel,
        idle: ctx.settings.idle_timeout(),
    };
    let expected = file.size_bytes.and_then(|s| u64::try_from(s).ok());
    let now = Utc::now();
    match transfer.copy(&file.download_url, &key, expected).await {
        Ok(copied) => {
            // Read back at once when deletions depend on it.
            let verified = ctx.settings.delete_after().is_some()
                && read_back(&ctx.location, &key, copied.bytes, &copied.sha256)
                    .await
                    .is_ok();
            let archived = Archived {
                location: ctx.location.url_of(&key),
                bytes: i64::try_from(copied.bytes).unwrap_or(i64::MAX),
                sha256: copied.sha256,
                content_type: copied.content_type,
                verified,
                source_url: crate::transport::before_query(&file.download_url).to_string(),
            };
            store::record_archived(&ctx.pool, &ctx.tenant, &file, &archived, now).await?;
            Ok(Ok(copied.bytes))
        }
        Err(transfer::TransferError::Cancelled) => anyhow::bail!("stopped by a shutdown"),
        Err(e) => {
            let message = crate::causes::Chain(&e).to_string();
            let url = crate::transport::shown_url(&file.download_url);
            tracing::warn!(file_id = %file.file_id, %url, error = %message, "a recording could not be archived");
            store::record_failure(&ctx.pool, &ctx.tenant, &file, &message, now).await?;
            Ok(Err(format!("{}: {message}", file.file_id)))
        }
    }
}

/// Reads the object whole: its size and sha256 must be what was stored.
pub async fn read_back(
    location: &Location,
    key: &object_store::path::Path,
    bytes: u64,
    sha256: &str,
) -> Result<(), String> {
    let object = location
        .store
        .get(key)
        .await
        .map_err(|e| format!("cannot read the object: {e}"))?;
    let mut body = object.into_stream();
    let (mut hasher, mut read) = (Sha256::new(), 0u64);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| format!("cannot read the object: {e}"))?;
        hasher.update(&chunk);
        read += chunk.len() as u64;
    }
    let actual = hex::encode(hasher.finalize());
    match (read == bytes, actual == sha256) {
        (true, true) => Ok(()),
        (false, _) => Err(format!(
            "the object has {read} bytes, {bytes} were archived"
        )),
        (true, false) => Err(format!(
            "the object's sha256 is {actual}, {sha256} was archived"
        )),
    }
}

/// `archive verify`: what was read back, and what no longer matches.
#[derive(Debug, Default, Serialize)]
pub struct VerifyReport {
    pub checked: usize,
    pub drift: Vec<Drift>,
}

#[derive(Debug, Serialize)]
pub struct Drift {
    pub file_id: String,
    pub location: String,
    pub problem: String,
}

/// Re-reads every archived object, or `sample` of them (least recently
/// verified first), and records the result.
pub async fn verify(ctx: &ArchiveContext, sample: Option<i64>) -> anyhow::Result<VerifyReport> {
    let files = store::archived(&ctx.pool, &ctx.tenant, sample).await?;
    let mut report = VerifyReport::default();
    for file in files {
        report.checked += 1;
        let result = match ctx.location.key_of(&file.location) {
            Some(key) => read_back(&ctx.location, &key, file.bytes as u64, &file.sha256).await,
            None => Err(format!("{} is not under archive.location", file.location)),
        };
        match result {
            Ok(()) => {
                store::mark_verified(&ctx.pool, &ctx.tenant, &file.file_id, Utc::now()).await?
            }
            Err(problem) => {
                store::mark_drift(&ctx.pool, &ctx.tenant, &file.file_id, &problem).await?;
                report.drift.push(drift(file, problem));
            }
        }
    }
    Ok(report)
}

fn drift(file: ArchivedFile, problem: String) -> Drift {
    Drift {
        file_id: file.file_id,
        location: file.location,
        problem,
    }
}

/// A client for the download URLs: redirects followed within http(s) and
/// never down from https, no request timeout (files of several GiB), a
/// connect timeout and a read timeout of `idle` (the transfer also times
/// each chunk itself, so that a cancellation reaches it mid-stream).
pub fn http_client(idle: std::time::Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(30))
        .read_timeout(idle)
        .redirect(crate::transport::download_redirects())
        .build()?)
}
