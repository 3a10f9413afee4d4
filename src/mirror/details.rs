//! Conference details (`GET conference/{confId}`): read for each conference
//! of the list that is new or changed since its detail was read (the list
//! row's content hash says so, so an unchanged conference costs no call),
//! and once for each conference of the meeting history. CloudRoom's 22201
//! ("conference not found", as it may answer for ended ones) is recorded as
//! not available and not asked again.

use anyhow::Context as _;
use chrono::Utc;
use futures::stream::{self, StreamExt};

use super::progress::PassProgress;
use super::{convert, MirrorContext, PassOptions};
use crate::cloudroom::{CloudRoomError, ConferenceDetail};
use crate::store::details::{self as store, DueDetail};
use crate::store::sync_runs::RunTotals;

/// Detail reads in flight: the endpoint has no documented limit, and a
/// limit it turns out to have is learned like any other.
const READS: usize = 16;

pub async fn run(
    ctx: &MirrorContext,
    _options: &PassOptions,
    totals: &mut RunTotals,
) -> anyhow::Result<()> {
    let due = store::due(&ctx.pool, ctx.tenant()).await?;
    let queued = due.len();
    let progress = PassProgress::start(ctx);
    let mut reads = stream::iter(due)
        .map(|due| async move {
            let read = ctx.client.get_conference(due.conf_id).await;
            (due, read)
        })
        .buffer_unordered(READS);
    let mut failures: Vec<String> = Vec::new();
    let mut done = 0usize;
    while let Some((due, read)) = reads.next().await {
        done += 1;
        totals.pages += 1;
        match read {
            Err(e) if is_doomed(&e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "conference {}; the pass stopped, the rest are read next run",
                    due.conf_id
                )))
            }
            Err(e) if e.code() != Some(22201) => {
                tracing::warn!(conf_id = due.conf_id, error = %crate::causes::Chain(&e), "a conference detail failed; it is read next run");
                failures.push(format!(
                    "conference {}: {}",
                    due.conf_id,
                    crate::causes::Chain(&e)
                ));
            }
            read => write(ctx, &due, read.ok(), totals).await?,
        }
        progress.show(ctx, format!("details: {done} of {queued} conferences"));
        if ctx.cancel.is_cancelled() {
            anyhow::bail!("cancelled after {done} of {queued} details; the rest are read next run");
        }
    }
    match failures.first() {
        None => Ok(()),
        Some(first) => anyhow::bail!("{} detail(s) failed; first: {first}", failures.len()),
    }
}

/// Refused credentials, or a shutdown: no further read can succeed.
fn is_doomed(e: &CloudRoomError) -> bool {
    e.is_auth() || matches!(e, CloudRoomError::Cancelled { .. })
}

/// Writes a detail read, or records that there is none (`None`: 22201).
async fn write(
    ctx: &MirrorContext,
    due: &DueDetail,
    detail: Option<ConferenceDetail>,
    totals: &mut RunTotals,
) -> anyhow::Result<()> {
    let mut tx = crate::store::begin(&ctx.pool).await?;
    let list_hash = due.list_hash.as_deref();
    let now = Utc::now();
    match detail {
        Some(detail) => {
            let row = convert::detail(due.conf_id, detail, ctx.settings.keep_meeting_passwords);
            match store::write(&mut tx, ctx.tenant(), &row, list_hash, now).await? {
                true => totals.rows.inserted += 1,
                false => totals.rows.updated += 1,
            }
        }
        None => store::mark_unavailable(&mut tx, ctx.tenant(), due.conf_id, list_hash, now).await?,
    }
    tx.commit()
        .await
        .context("cannot commit a conference detail")?;
    Ok(())
}
