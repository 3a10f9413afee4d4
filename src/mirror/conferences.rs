//! The conference list: a complete pass every run (the list holds only
//! scheduled and running conferences, so it stays small), then conferences
//! the pass did not see are marked removed.

use super::progress::PassProgress;
use anyhow::Context as _;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::paging::{Pager, Verdict, PAGE_SIZE};
use super::quarantine::{self, PassQuarantine};
use super::read_ahead::{FetchPage, ReadAhead};
use super::{convert, MirrorContext, PassOptions};
use crate::cloudroom::endpoint as ep;
use crate::cloudroom::{ConferenceRecord, ListQuery, Page};
use crate::store::conferences::ConferenceRow;
use crate::store::quarantine::Quarantined;
use crate::store::{self, sync_runs::RunTotals};

const JOB: &str = "conferences";

#[derive(Debug, Default, Serialize, Deserialize)]
struct ConferencesState {
    /// When the last complete pass finished (epoch seconds).
    last_complete_pass: Option<i64>,
}

pub async fn run(
    ctx: &MirrorContext,
    _options: &PassOptions,
    totals: &mut RunTotals,
) -> anyhow::Result<()> {
    let tenant = ctx.tenant();
    let seen = read_every_page(ctx, totals).await?;
    let mut tx = store::begin(&ctx.pool).await?;
    totals.rows.updated +=
        store::conferences::mark_removed(&mut tx, tenant, &seen, Utc::now()).await?;
    let state = ConferencesState {
        last_complete_pass: Some(Utc::now().timestamp()),
    };
    store::state::save(&mut *tx, tenant, JOB, &state).await?;
    tx.commit()
        .await
        .context("cannot commit the end of the conference pass")?;
    Ok(())
}

/// Writes every page of the list, one transaction each, and returns the
/// ids it saw. Always from page 1: the removal sweep needs every id of one
/// pass, and a pass resumed after a crash would not have them.
async fn read_every_page(ctx: &MirrorContext, totals: &mut RunTotals) -> anyhow::Result<Vec<i64>> {
    let keep = ctx.settings.keep_meeting_passwords;
    let mut pager = Pager::starting_at(1);
    let mut seen: Vec<i64> = Vec::new();
    let progress = PassProgress::start(ctx);
    let quarantine =
        PassQuarantine::start(&ctx.pool, (ctx.tenant(), JOB), ep::CONFERENCE_LIST).await?;
    let fetch = list_pages(ctx);
    let mut page = fetch(1).await?;
    let mut ahead = ReadAhead::new(fetch, 2, page.total);
    loop {
        let page_no = pager.next;
        let first = convert::first_key(page.records.first().map(|r| &r.raw));
        let more = match pager.judge(page.total, page.remaining, first) {
            Verdict::Wrapped => break,
            Verdict::Keep { more } => more,
        };
        let (rows, aside) = page_rows(page, keep);
        seen.extend(rows.iter().map(|r| r.conf_id));
        let mut tx = store::begin(&ctx.pool).await?;
        totals.rows +=
            store::conferences::upsert_page(&mut tx, ctx.tenant(), &rows, Utc::now()).await?;
        let stored = rows.iter().map(|r| r.conf_id.to_string());
        totals.quarantined += quarantine.settle(&mut tx, stored, &aside).await?;
        tx.commit()
            .await
            .context("cannot commit a page of conferences")?;
        totals.pages += 1;
        progress.show(
            ctx,
            format!("conferences: page {page_no}, {} rows", seen.len()),
        );
        if !more {
            break;
        }
        if ctx.cancel.is_cancelled() {
            anyhow::bail!("cancelled after page {page_no}; no conference was marked removed");
        }
        page = ahead.page(pager.next).await?;
    }
    Ok(seen)
}

/// A page's rows (the first of each confId) and what it sets aside.
fn page_rows(page: Page<ConferenceRecord>, keep: bool) -> (Vec<ConferenceRow>, Vec<Quarantined>) {
    let (rows, mut aside) = quarantine::convert_all(page.records, |r| convert::conference(r, keep));
    let key = |r: &ConferenceRow| r.conf_id.to_string();
    let (rows, twice) = quarantine::first_of_each(rows, ep::CONFERENCE_LIST, key);
    aside.extend(twice);
    let endpoint = ep::CONFERENCE_LIST;
    aside.extend(
        page.rejected
            .into_iter()
            .map(|r| quarantine::rejected(endpoint, r)),
    );
    (rows, aside)
}

/// Reads the pages of the conference list.
fn list_pages(ctx: &MirrorContext) -> FetchPage {
    let ctx = ctx.clone();
    std::sync::Arc::new(move |page_no| {
        let ctx = ctx.clone();
        Box::pin(async move {
            let query = ListQuery::page(page_no, PAGE_SIZE);
            ctx.client
                .list_conferences(&query)
                .await
                .with_context(|| format!("reading page {page_no} of the conference list"))
        })
    })
}
