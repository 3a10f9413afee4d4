//! Recordings, per conference: those queued by new or changed history rows,
//! those that ended within `recordings_lookback` (recordings appear late),
//! and with `--full` every conference the mirror knows. Conferences are read
//! concurrently under the client's shared rate limiter.

use std::collections::BTreeSet;

use anyhow::Context as _;
use chrono::Utc;
use futures::stream::{self, StreamExt};

use super::paging::{Pager, Verdict, PAGE_SIZE};
use super::{convert, MirrorContext, RunOptions};
use crate::cloudroom::ListQuery;
use crate::store::{self, runs::RunTotals, RowCounts};

/// What reading one conference gave.
struct ConferenceOutcome {
    pages: u64,
    rows: RowCounts,
}

pub async fn run(
    ctx: &MirrorContext,
    options: &RunOptions,
    totals: &mut RunTotals,
) -> anyhow::Result<()> {
    let targets = targets(ctx, options).await?;
    ctx.progress
        .set_message(format!("recordings: {} conferences", targets.len()));
    let mut failures: Vec<String> = Vec::new();
    let mut outcomes = stream::iter(targets)
        .map(|conf_id| async move { (conf_id, sync_conference(ctx, conf_id).await) })
        .buffer_unordered(ctx.settings.recordings_concurrency);
    while let Some((conf_id, outcome)) = outcomes.next().await {
        match outcome {
            Ok(o) => {
                totals.pages += o.pages;
                totals.rows += o.rows;
            }
            Err(e) => {
                tracing::warn!(conf_id, error = %format!("{e:#}"), "recordings of a conference failed; it stays queued");
                failures.push(format!("conference {conf_id}: {e:#}"));
            }
        }
        if ctx.cancel.is_cancelled() {
            anyhow::bail!("cancelled; unread conferences stay queued for the next run");
        }
    }
    match failures.len() {
        0 => Ok(()),
        n => anyhow::bail!(
            "{n} conference(s) failed and stay queued; first: {}",
            failures[0]
        ),
    }
}

async fn targets(ctx: &MirrorContext, options: &RunOptions) -> anyhow::Result<BTreeSet<i64>> {
    let tenant = ctx.tenant();
    let mut conn = ctx
        .pool
        .acquire()
        .await
        .context("cannot get a database connection")?;
    let mut targets: BTreeSet<i64> = store::recordings::queued(&mut conn, tenant)
        .await?
        .into_iter()
        .collect();
    let lookback = chrono::Duration::from_std(ctx.settings.recordings_lookback())
        .unwrap_or(chrono::Duration::days(3));
    targets.extend(store::history::ended_since(&mut conn, tenant, Utc::now() - lookback).await?);
    if options.full {
        targets.extend(store::history::all_conf_ids(&mut conn, tenant).await?);
    }
    Ok(targets)
}

/// Reads every page of one conference's recordings, then writes them, the
/// deletions and the dequeue in one transaction.
async fn sync_conference(ctx: &MirrorContext, conf_id: i64) -> anyhow::Result<ConferenceOutcome> {
    let tenant = ctx.tenant();
    let mut pager = Pager::starting_at(1);
    let mut rows = Vec::new();
    let mut pages = 0;
    let mut known = true;
    loop {
        let query = ListQuery::page(pager.next, PAGE_SIZE);
        let page = match ctx.client.list_videos(conf_id, &query).await {
            Ok(page) => page,
            // The conference is gone: keep what we archived, mark nothing deleted.
            Err(e) if e.code() == Some(22201) => {
                known = false;
                break;
            }
            Err(e) => {
                return Err(e).with_context(|| format!("reading recordings page {}", pager.next))
            }
        };
        pages += 1;
        let first = convert::first_key(page.records.first().map(|r| &r.raw));
        match pager.judge(page.total, page.remaining, first) {
            Verdict::Wrapped => break,
            Verdict::Keep { more } => {
                rows.extend(
                    page.records
                        .into_iter()
                        .filter_map(|r| convert::recording(r, conf_id)),
                );
                if !more {
                    break;
                }
            }
        }
    }
    let mut tx = ctx
        .pool
        .begin()
        .await
        .context("cannot start a transaction")?;
    let counts = if known {
        store::recordings::upsert_conference(&mut tx, tenant, conf_id, &rows, true, Utc::now())
            .await?
    } else {
        RowCounts::default()
    };
    store::recordings::dequeue(&mut tx, tenant, conf_id).await?;
    tx.commit().await.context("cannot commit recordings")?;
    Ok(ConferenceOutcome {
        pages,
        rows: counts,
    })
}
