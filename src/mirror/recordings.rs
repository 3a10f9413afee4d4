//! Recordings, per conference: those queued by new or changed history rows,
//! those that ended within `recordings_lookback` (recordings appear late),
//! and with `--full` every conference the mirror knows.
//!
//! A producer task reads conferences concurrently under the client's shared
//! rate limiter; this task writes what it read in batches, so that the
//! database sees one transaction per batch, not one per conference.

use std::collections::BTreeSet;

use anyhow::Context as _;
use chrono::Utc;
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::follow::Targets;
use super::paging::{Pager, Verdict, PAGE_SIZE};
use super::progress::PassProgress;
use super::quarantine::{self, PassQuarantine};
use super::ramp::Ramp;
use super::{convert, MirrorContext, PassOptions};
use crate::cloudroom::endpoint as ep;
use crate::cloudroom::{CloudRoomError, ListQuery};
use crate::store::quarantine::Quarantined;
use crate::store::recordings::{ConferenceRecordings, RecordingRow};
use crate::store::{self, sync_runs::RunTotals, RowCounts};

const JOB: &str = "recordings";

/// Conferences written per transaction.
const WRITE_BATCH: usize = 256;

/// Transactions writing at once: batches hold disjoint conferences, so two
/// writers never touch the same rows, and two keep both cores busy.
const WRITERS: usize = 2;

/// One conference as read: its recordings and the entries set aside, or
/// why it could not be read.
struct Fetched {
    conf_id: i64,
    pages: u64,
    result: anyhow::Result<(ConferenceRecordings, Vec<Quarantined>)>,
}

pub async fn run(
    ctx: &MirrorContext,
    options: &PassOptions,
    totals: &mut RunTotals,
) -> anyhow::Result<()> {
    let (targets, first_sync) = targets(ctx, options).await?;
    let progress = PassProgress::start(ctx);
    progress.show(
        ctx,
        format!("recordings: 0 of {} conferences", targets.count()),
    );
    let quarantine = PassQuarantine::start(&ctx.pool, (ctx.tenant(), JOB), ep::VIDEO_LIST).await?;
    let quarantine = std::sync::Arc::new(quarantine);
    let mut done = 0usize;
    let (sender, mut receiver) = mpsc::channel(WRITE_BATCH * 2);
    let producer = tokio::spawn(read_all(ctx.clone(), targets, sender));
    // Stops the readers if this task returns early.
    let _stop_readers = AbortOnDrop(producer.abort_handle());
    let mut failures = Failures::default();
    let mut fetched = Vec::with_capacity(WRITE_BATCH);
    // Dropping the set (on an early return) aborts the writes still running;
    // their transactions roll back and their conferences stay queued.
    let mut writes = JoinSet::new();
    while receiver.recv_many(&mut fetched, WRITE_BATCH).await > 0 {
        done += fetched.len();
        let batch = sort_out(&mut fetched, totals, &mut failures)?;
        progress.show(ctx, format!("recordings: {done} conferences"));
        if writes.len() >= WRITERS {
            add(totals, joined(writes.join_next().await)?);
        }
        let target = Target {
            pool: ctx.pool.clone(),
            quarantine: quarantine.clone(),
            first_sync,
        };
        writes.spawn(write_batch(target, ctx.tenant().to_string(), batch));
        if ctx.cancel.is_cancelled() {
            anyhow::bail!("cancelled; unread conferences stay queued for the next run");
        }
    }
    while let Some(done) = writes.join_next().await {
        add(totals, joined(Some(done))?);
    }
    let targets = producer.await.context("the recordings readers stopped")??;
    // The readers stop forwarding on a shutdown, which ends the loop above
    // as if the queue were read: a pass cut short must not look complete.
    let queued = targets.count();
    if ctx.cancel.is_cancelled() && done < queued {
        anyhow::bail!(
            "cancelled after {done} of {queued} conferences; the rest stay queued for the next run"
        );
    }
    take_off_queue(ctx, &targets, &failures).await?;
    failures.into_result()
}

/// Takes the conferences queued again after this pass read them off the
/// queue, except those that failed (see [`Targets`]).
async fn take_off_queue(
    ctx: &MirrorContext,
    targets: &Targets,
    failures: &Failures,
) -> anyhow::Result<()> {
    let again: Vec<i64> = targets
        .again()
        .filter(|id| !failures.conf_ids.contains(id))
        .collect();
    if !again.is_empty() {
        let mut conn = ctx.pool.acquire().await?;
        store::recordings::dequeue(&mut conn, ctx.tenant(), &again).await?;
    }
    Ok(())
}

/// Conferences whose recordings could not be read: they stay queued.
#[derive(Default)]
struct Failures {
    conf_ids: std::collections::HashSet<i64>,
    first: Option<String>,
}

impl Failures {
    fn note(&mut self, conf_id: i64, error: &anyhow::Error) {
        let cause = crate::causes::of(error);
        tracing::warn!(conf_id, error = %cause, "recordings of a conference failed; it stays queued");
        self.first
            .get_or_insert_with(|| format!("conference {conf_id}: {cause}"));
        self.conf_ids.insert(conf_id);
    }

    fn into_result(self) -> anyhow::Result<()> {
        match self.first {
            None => Ok(()),
            Some(first) => anyhow::bail!(
                "{} conference(s) failed and stay queued; first: {first}",
                self.conf_ids.len()
            ),
        }
    }
}

/// The conferences read, to be written; a conference that failed stays
/// queued and is named in `failures`, and a refusal no further request can
/// escape stops the pass.
fn sort_out(
    fetched: &mut Vec<Fetched>,
    totals: &mut RunTotals,
    failures: &mut Failures,
) -> anyhow::Result<Batch> {
    let mut batch = Batch::default();
    for f in fetched.drain(..) {
        totals.pages += f.pages;
        match f.result {
            Ok((read, aside)) => {
                batch.conferences.push(read);
                batch.aside.extend(aside);
            }
            Err(e) if is_doomed(&e) => {
                return Err(e.context(format!(
                    "conference {}; the pass stopped, unread conferences stay queued",
                    f.conf_id
                )))
            }
            Err(e) => failures.note(f.conf_id, &e),
        }
    }
    Ok(batch)
}

/// Conferences read, to be written in one transaction, and what their
/// pages set aside.
#[derive(Default)]
struct Batch {
    conferences: Vec<ConferenceRecordings>,
    aside: Vec<Quarantined>,
}

/// What a writer did: rows, and records quarantined.
type Written = (RowCounts, u64);

/// Where a writer writes.
struct Target {
    pool: sqlx::PgPool,
    quarantine: std::sync::Arc<PassQuarantine>,
    /// The tenant held no recording when the pass began.
    first_sync: bool,
}

async fn write_batch(target: Target, tenant: String, mut batch: Batch) -> anyhow::Result<Written> {
    let Target {
        pool,
        quarantine,
        first_sync,
    } = target;
    // A fileId twice in the batch, in one conference or two: the first stays.
    let mut seen = std::collections::HashSet::new();
    for conference in &mut batch.conferences {
        if let Some(rows) = conference.rows.take() {
            let key = |r: &RecordingRow| r.file_id.clone();
            let (kept, twice) = quarantine::first_unseen(rows, ep::VIDEO_LIST, key, &mut seen);
            conference.rows = Some(kept);
            batch.aside.extend(twice);
        }
    }
    let mut tx = store::begin(&pool).await?;
    let (conferences, now) = (batch.conferences, Utc::now());
    let counts = match first_sync {
        true => {
            store::recordings::write_first_conferences(&mut tx, &tenant, conferences, now).await?
        }
        false => store::recordings::write_conferences(&mut tx, &tenant, conferences, now).await?,
    };
    let quarantined = quarantine
        .settle(&mut tx, seen.into_iter(), &batch.aside)
        .await?;
    tx.commit().await.context("cannot commit recordings")?;
    Ok((counts, quarantined))
}

fn joined(
    done: Option<Result<anyhow::Result<Written>, tokio::task::JoinError>>,
) -> anyhow::Result<Written> {
    match done {
        Some(result) => result.context("a recordings writer stopped")?,
        None => Ok(Written::default()),
    }
}

fn add(totals: &mut RunTotals, (rows, quarantined): Written) {
    totals.rows += rows;
    totals.quarantined += quarantined;
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// An error after which no request of this pass can succeed: the
/// credentials were refused, or the run is shutting down.
fn is_doomed(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<CloudRoomError>()
            .is_some_and(|e| e.is_auth() || matches!(e, CloudRoomError::Cancelled { .. }))
    })
}

/// Reads the first conference alone, so that credentials the server
/// refuses cost one request rather than a whole concurrent batch, then the
/// rest up to `recordings_concurrency` at a time, reached by a [`Ramp`];
/// returns the targets, which know what was read.
async fn read_all(
    ctx: MirrorContext,
    mut targets: Targets,
    sender: mpsc::Sender<Fetched>,
) -> anyhow::Result<Targets> {
    let ctx = &ctx;
    if let Some(first) = targets.next_ready() {
        if !forward(ctx, &sender, read_conference(ctx, first).await).await {
            return Ok(targets);
        }
    }
    let ramp = Ramp::new(ctx.settings.recordings_concurrency);
    let mut reads = FuturesUnordered::new();
    loop {
        // A shutdown while following starts no more reads.
        if ctx.cancel.is_cancelled() {
            return Ok(targets);
        }
        while reads.len() < ramp.limit() {
            match targets.next_ready() {
                Some(conf_id) => reads.push(read_conference(ctx, conf_id)),
                None => break,
            }
        }
        if reads.is_empty() {
            match targets.following() {
                true => targets.wait(&ctx.pool, ctx.tenant()).await?,
                false => return Ok(targets),
            }
            continue;
        }
        // Dropping `reads` on return cancels the reads still in flight.
        tokio::select! {
            Some(fetched) = reads.next() => {
                if !forward(ctx, &sender, fetched).await {
                    return Ok(targets);
                }
            }
            () = targets.hint(), if targets.history_running() => {}
        }
    }
}

/// Hands one conference to the writer; false when reading should stop
/// (shutdown, the writer gone, or an error no further request can escape).
async fn forward(ctx: &MirrorContext, sender: &mpsc::Sender<Fetched>, fetched: Fetched) -> bool {
    let doomed = fetched.result.as_ref().is_err_and(is_doomed);
    !ctx.cancel.is_cancelled() && sender.send(fetched).await.is_ok() && !doomed
}

/// The conferences to read, and whether the tenant holds no recording yet.
async fn targets(ctx: &MirrorContext, options: &PassOptions) -> anyhow::Result<(Targets, bool)> {
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
    let first_sync = !store::recordings::any(&mut conn, tenant).await?;
    Ok((Targets::new(targets, &options.alongside), first_sync))
}

/// Reads every page of one conference's recordings.
async fn read_conference(ctx: &MirrorContext, conf_id: i64) -> Fetched {
    let mut pager = Pager::starting_at(1);
    let (mut rows, mut aside) = (Vec::new(), Vec::new());
    let mut pages = 0;
    let result = loop {
        let query = ListQuery::page(pager.next, PAGE_SIZE);
        let page = match ctx.client.list_videos(conf_id, &query).await {
            Ok(page) => page,
            // The conference is gone: keep what we archived, mark nothing deleted.
            Err(e) if e.code() == Some(22201) => break Ok(None),
            Err(e) => {
                let page_no = pager.next;
                break Err(
                    anyhow::Error::new(e).context(format!("reading recordings page {page_no}"))
                );
            }
        };
        pages += 1;
        let first = convert::first_key(page.records.first().map(|r| &r.raw));
        match pager.judge(page.total, page.remaining, first) {
            Verdict::Wrapped => break Ok(Some(rows)),
            Verdict::Keep { more } => {
                let (read, set_aside) =
                    quarantine::convert_all(page.records, |r| convert::recording(r, conf_id));
                rows.extend(read);
                aside.extend(set_aside);
                let rejected = page.rejected.into_iter();
                aside.extend(rejected.map(|r| quarantine::rejected(ep::VIDEO_LIST, r)));
                if !more {
                    break Ok(Some(rows));
                }
            }
        }
    };
    Fetched {
        conf_id,
        pages,
        result: result.map(|rows| {
            // A listing with an entry set aside is not the whole listing:
            // nothing of this conference is marked deleted from it.
            let complete = aside.is_empty();
            (
                ConferenceRecordings {
                    conf_id,
                    rows,
                    complete,
                },
                aside,
            )
        }),
    }
}
