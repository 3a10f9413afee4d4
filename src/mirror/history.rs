//! The meeting history: walked in windows shorter than a year (the API
//! rejects longer ones with 22236), oldest first, one transaction per page
//! together with the checkpoint that says where to resume.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::follow::{Alongside, QueueHints};
use super::paging::PAGE_SIZE;
use super::paging::{Pager, Verdict};
use super::progress::PassProgress;
use super::quarantine::{self, PassQuarantine};
use super::read_ahead::{FetchPage, ReadAhead};
use super::{convert, MirrorContext, PassOptions};
use crate::cloudroom::endpoint as ep;
use crate::cloudroom::{ConferenceRecord, ListQuery, Page};
use crate::store::history::HistoryRow;
use crate::store::quarantine::Quarantined;
use crate::store::{self, sync_runs::RunTotals};

const JOB: &str = "history";

/// Strictly inside one year, whatever the server's idea of a year is.
pub const WINDOW_SECONDS: i64 = 364 * 86_400;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct HistoryState {
    /// Every meeting that started before this was read by a completed pass.
    pub watermark: Option<i64>,
    /// The pass under way, if a run stopped before finishing it.
    pub pass: Option<Pass>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pass {
    pub until: i64,
    pub full: bool,
    /// Start of the window being read; windows are `[start, start + WINDOW - 1]`.
    pub window_start: i64,
    pub next_page: u32,
    /// When the pass began, in epoch microseconds (PostgreSQL's precision):
    /// a full pass marks what it did not see since then. Whole seconds were
    /// too coarse, since a pass often starts in the second the previous one
    /// wrote. 0 (a pass saved by an older version) marks nothing.
    #[serde(default)]
    pub started_at_us: i64,
}

impl Pass {
    /// Unchanged rows last seen before this are touched: a full pass
    /// touches every row it lists, so that the rows it did not list stand out.
    fn touch_before(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self.full {
            true => DateTime::from_timestamp_micros(self.started_at_us).unwrap_or(now),
            false => now - store::SEEN_RESOLUTION,
        }
    }
}

/// What a page's transaction does besides writing the page.
struct PageWrite<'a> {
    rows: &'a [crate::store::history::HistoryRow],
    /// Records of the page that cannot be stored.
    aside: &'a [Quarantined],
    window_was_empty: bool,
    /// Set on the last page of a full pass's window: mark the window's
    /// meetings this pass did not list, in the same transaction.
    sweep: Option<(i64, i64)>,
}

pub async fn run(
    ctx: &MirrorContext,
    options: &PassOptions,
    totals: &mut RunTotals,
) -> anyhow::Result<()> {
    let tenant = ctx.tenant();
    let mut state: HistoryState = store::state::load(&ctx.pool, tenant, JOB).await?;
    let now = Utc::now();
    let mut pass = match state.pass.take() {
        // An interrupted pass resumes, unless this run asks for more than it covered.
        Some(p) if (p.full || !options.full) && options.since.is_none() => p,
        _ => new_pass(ctx, options, &state, now),
    };
    let progress = PassProgress::start(ctx);
    // Once per pass: whether quarantine rows may need closing.
    let quarantine =
        PassQuarantine::start(&ctx.pool, (tenant, JOB), ep::CONFERENCE_HISTORY).await?;
    let hints = match &options.alongside {
        Alongside::Queues(hints) => Some(hints),
        _ => None,
    };
    let page_tools = PageTools {
        progress: &progress,
        quarantine: &quarantine,
        hints,
    };
    while pass.window_start <= pass.until {
        read_window(ctx, (&mut state, &mut pass), totals, &page_tools).await?;
    }
    state.watermark = Some(pass.until);
    state.pass = None;
    store::state::save(&ctx.pool, tenant, JOB, &state).await?;
    Ok(())
}

fn new_pass(
    ctx: &MirrorContext,
    options: &PassOptions,
    state: &HistoryState,
    now: DateTime<Utc>,
) -> Pass {
    let backfill = ctx.settings.history_start_at(now).timestamp();
    let lookback = ctx.settings.history_lookback().as_secs() as i64;
    let from = match (options.since, state.watermark) {
        (Some(day), _) => day
            .and_hms_opt(0, 0, 0)
            .map_or(backfill, |d| d.and_utc().timestamp()),
        (None, _) if options.full => backfill,
        (None, Some(mark)) => mark - lookback,
        (None, None) => backfill,
    };
    Pass {
        until: now.timestamp(),
        full: options.full,
        window_start: from,
        next_page: 1,
        started_at_us: now.timestamp_micros(),
    }
}

/// What every page of a pass uses besides the page.
struct PageTools<'a> {
    progress: &'a PassProgress,
    quarantine: &'a PassQuarantine,
    /// A recordings pass running alongside, told what each page queued.
    hints: Option<&'a QueueHints>,
}

/// Reads the rest of the current window, committing each page with the
/// checkpoint, and leaves `pass` pointing at the next window.
async fn read_window(
    ctx: &MirrorContext,
    (state, pass): (&mut HistoryState, &mut Pass),
    totals: &mut RunTotals,
    tools: &PageTools<'_>,
) -> anyhow::Result<()> {
    let keep = ctx.settings.keep_meeting_passwords;
    let window = (
        pass.window_start,
        (pass.window_start + WINDOW_SECONDS - 1).min(pass.until),
    );
    let window_was_empty = pass.next_page == 1 && window_is_empty(ctx, window).await?;
    let mut pager = Pager::starting_at(pass.next_page);
    let fetch = window_pages(ctx, window);
    let mut page = fetch(pager.next).await?;
    let mut ahead = ReadAhead::new(fetch, pager.next + 1, page.total);
    loop {
        let page_no = pager.next;
        let gathered = gather(&mut pager, page, &mut ahead, keep).await?;
        let more = gathered.more;
        let page_write = PageWrite {
            rows: &gathered.rows,
            aside: &gathered.aside,
            window_was_empty,
            sweep: (pass.full && !more).then_some(window),
        };
        if more {
            pass.next_page = pager.next;
        } else {
            pass.window_start = window.1 + 1;
            pass.next_page = 1;
        }
        state.pass = Some(pass.clone());
        // Later pages are read while this one is written: the checkpoint
        // only ever names pages that are committed.
        let write = write_page(ctx, state, page_write, tools);
        let next = async {
            match more {
                true => Some(ahead.page(pager.next).await),
                false => None,
            }
        };
        let (written, next) = tokio::join!(write, next);
        let (mut rows, quarantined) = written?;
        rows.unchanged += gathered.repeated;
        totals.rows += rows;
        totals.quarantined += quarantined;
        totals.pages += gathered.pages;
        let shown = format!("history: {} page {page_no}", show(window.1));
        tools.progress.show(ctx, shown);
        if ctx.cancel.is_cancelled() {
            anyhow::bail!("cancelled after page {page_no}; the next run resumes here");
        }
        match next {
            Some(next) => page = next?,
            None => return Ok(()),
        }
    }
}

/// Pages written in one transaction at most: those already read when the
/// previous write ends, so that a fast server costs one commit (and one
/// checkpoint) per several pages, and a slow one still one per page.
const PAGES_PER_WRITE: u32 = 8;

/// The rows of the page in hand and of the later pages already read.
struct Gathered {
    rows: Vec<HistoryRow>,
    aside: Vec<Quarantined>,
    more: bool,
    pages: u64,
    /// Rows a later page repeated (pages shift while they are read): the
    /// later copy is written, the earlier one counted unchanged.
    repeated: u64,
}

async fn gather(
    pager: &mut Pager,
    page: Page<ConferenceRecord>,
    ahead: &mut ReadAhead,
    keep: bool,
) -> anyhow::Result<Gathered> {
    let (mut rows, mut aside, mut more) = rows_of(pager, page, keep);
    let mut pages = 1;
    while more && pages < PAGES_PER_WRITE && ahead.is_ready(pager.next) {
        let page = ahead.page(pager.next).await?;
        let (more_rows, more_aside, later) = rows_of(pager, page, keep);
        rows.extend(more_rows);
        aside.extend(more_aside);
        (more, pages) = (later, pages + 1);
    }
    let listed = rows.len();
    let rows = last_of_each(rows);
    Ok(Gathered {
        repeated: (listed - rows.len()) as u64,
        rows,
        aside,
        more,
        pages: u64::from(pages),
    })
}

/// The last copy of each meeting: one statement cannot write a key twice.
fn last_of_each(rows: Vec<HistoryRow>) -> Vec<HistoryRow> {
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<HistoryRow> = rows
        .into_iter()
        .rev()
        .filter(|r| seen.insert((r.conf_id, r.start_time)))
        .collect();
    kept.reverse();
    kept
}

/// Reads the pages of one history window.
fn window_pages(ctx: &MirrorContext, (start, end): (i64, i64)) -> FetchPage {
    let ctx = ctx.clone();
    std::sync::Arc::new(move |page_no| {
        let ctx = ctx.clone();
        Box::pin(async move {
            let query = ListQuery {
                start_time: Some(start),
                end_time: Some(end),
                ..ListQuery::page(page_no, PAGE_SIZE)
            };
            ctx.client.list_history(&query).await.with_context(|| {
                format!(
                    "reading page {page_no} of the meeting history from {} to {}",
                    show(start),
                    show(end)
                )
            })
        })
    })
}

/// The page's rows and what it sets aside, unless it is page 1 again (the
/// API's wrap), and whether more pages follow.
fn rows_of(
    pager: &mut Pager,
    page: Page<ConferenceRecord>,
    keep_passwords: bool,
) -> (Vec<HistoryRow>, Vec<Quarantined>, bool) {
    let first = convert::first_key(page.records.first().map(|r| &r.raw));
    let verdict = pager.judge(page.total, page.remaining, first);
    let more = matches!(verdict, Verdict::Keep { more: true });
    if verdict == Verdict::Wrapped {
        return (Vec::new(), Vec::new(), more);
    }
    let (rows, mut aside) =
        quarantine::convert_all(page.records, |r| convert::history(r, keep_passwords));
    let key = |r: &HistoryRow| convert::history_key(r.conf_id, r.start_time);
    let (rows, twice) = quarantine::first_of_each(rows, ep::CONFERENCE_HISTORY, key);
    aside.extend(twice);
    let endpoint = ep::CONFERENCE_HISTORY;
    aside.extend(
        page.rejected
            .into_iter()
            .map(|r| quarantine::rejected(endpoint, r)),
    );
    (rows, aside, more)
}

/// A backfill reaches windows the mirror has never seen: their pages need no
/// comparison with the table (see `store::history::upsert_page`).
async fn window_is_empty(ctx: &MirrorContext, (start, end): (i64, i64)) -> anyhow::Result<bool> {
    let (Some(start), Some(end)) = (
        DateTime::from_timestamp(start, 0),
        DateTime::from_timestamp(end, 0),
    ) else {
        return Ok(false);
    };
    let mut conn = ctx
        .pool
        .acquire()
        .await
        .context("cannot get a database connection")?;
    Ok(store::history::window_is_empty(&mut conn, ctx.tenant(), start, end).await?)
}

/// Writes one page together with the checkpoint that says where to resume.
async fn write_page(
    ctx: &MirrorContext,
    state: &HistoryState,
    page: PageWrite<'_>,
    tools: &PageTools<'_>,
) -> anyhow::Result<(crate::store::RowCounts, u64)> {
    let tenant = ctx.tenant();
    let now = Utc::now();
    let touch_before = state.pass.as_ref().map_or(now, |p| p.touch_before(now));
    let mut tx = store::begin(&ctx.pool).await?;
    let written = store::history::upsert_page(
        &mut tx,
        tenant,
        page.rows,
        now,
        touch_before,
        page.window_was_empty,
    )
    .await?;
    if let Some((start, end)) = page.sweep {
        let window = (epoch(start), epoch(end));
        let marked =
            store::history::mark_removed(&mut tx, tenant, window, touch_before, now).await?;
        if marked > 0 {
            tracing::info!(tenant, marked, from = %show(start), to = %show(end), "meetings CloudRoom no longer lists marked removed");
        }
    }
    let stored = page
        .rows
        .iter()
        .map(|r| convert::history_key(r.conf_id, r.start_time));
    let quarantined = tools.quarantine.settle(&mut tx, stored, page.aside).await?;
    store::state::save(&mut *tx, tenant, JOB, state).await?;
    tx.commit()
        .await
        .context("cannot commit a page of meeting history")?;
    if let Some(hints) = tools.hints {
        hints.queued(&written.queued);
    }
    Ok((written.counts, quarantined))
}

fn epoch(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

pub(super) fn show(epoch: i64) -> String {
    DateTime::from_timestamp(epoch, 0)
        .map_or_else(|| epoch.to_string(), |t| t.format("%Y-%m-%d").to_string())
}
