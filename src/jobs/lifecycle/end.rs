//! The end of a run: its summary, its row, its span's rows, the metrics
//! and one log line.

use std::time::Instant;

use super::lease::instance;
use super::{Job, JobSummary, Run};
use crate::metrics::{self, Outcome};
use crate::store::sync_runs::{self, RunEnd};
use anyhow::Context as _;

/// How the job's work ended, as the lifecycle saw it.
pub(super) struct Ended {
    pub result: anyhow::Result<()>,
    pub lock_lost: bool,
    /// The run's parent token (a shutdown, or the sequence it is a step of).
    pub shut_down: bool,
    pub started: Instant,
}

/// The end of a run: a lost lock fails it whatever the job returned, a
/// shutdown makes it abandoned (the next run resumes), and a job that
/// returned but did not do everything fails it.
pub(super) fn summarize(job: &dyn Job, run: &mut Run<'_>, ended: Ended) -> JobSummary {
    let Ended {
        result,
        lock_lost,
        shut_down,
        started,
    } = ended;
    run.totals.api_calls = run.calls.get();
    let cause = result.err().map(std::sync::Arc::new);
    let error = match (&cause, lock_lost) {
        (cause, true) => Some(format!(
            "the job lock or the run's lease was lost (its database session ended, or another instance took the run over), so the run stopped rather than risk running beside another instance{}",
            cause.as_ref().map(|e| format!(": {}", crate::causes::of(e))).unwrap_or_default()
        )),
        (Some(e), false) => Some(crate::causes::of(e)),
        (None, false) => run.incomplete.clone(),
    };
    let cancelled = error.is_some() && !lock_lost && shut_down;
    let totals = &run.totals;
    JobSummary {
        job: job.name(),
        tenant: run.ctx.tenant().to_string(),
        run_id: run.run_id,
        full: job.is_full(run.options),
        pages: totals.pages,
        api_calls: totals.api_calls,
        rows_inserted: totals.rows.inserted,
        rows_updated: totals.rows.updated,
        rows_unchanged: totals.rows.unchanged,
        quarantined: totals.quarantined,
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_kib: crate::rss::peak_rss_kib(),
        cancelled,
        error,
        cause,
        report: run.report.take().map(std::sync::Arc::from),
    }
}

/// The run's row, its span's `rows`, the metrics and the log line.
pub(super) async fn record_end(
    job: &dyn Job,
    run: &Run<'_>,
    summary: &JobSummary,
    span: &tracing::Span,
    started: Instant,
) -> anyhow::Result<()> {
    let (totals, end) = (&run.totals, summary.end());
    let recorded = write_end(run, summary)
        .await
        .context("cannot record the end of the run in confsync.sync_runs")?;
    if !recorded {
        tracing::warn!(parent: span, "another instance took this run over; its end is recorded by that instance");
    }
    span.record("rows", totals.rows.inserted + totals.rows.updated);
    if let Some(table) = job.table() {
        metrics::record_rows(&summary.tenant, table, totals.rows);
    }
    let outcome = match end {
        RunEnd::Succeeded => Outcome::Succeeded,
        RunEnd::Failed => Outcome::Failed,
        RunEnd::Abandoned => Outcome::Cancelled,
    };
    metrics::record_run(
        &summary.tenant,
        job.name(),
        outcome,
        Some(started.elapsed()),
    );
    log_end(span, summary);
    Ok(())
}

/// Times the end of a run is written before the run is failed instead.
const END_ATTEMPTS: u32 = 3;

/// The run's end as the run saw it, tried [`END_ATTEMPTS`] times; if it
/// still cannot be written, the run is failed with why, touching nothing
/// else, so that no row stays `running` to be taken over forever.
async fn write_end(run: &Run<'_>, summary: &JobSummary) -> anyhow::Result<bool> {
    let (pool, owner) = (&run.ctx.pool, (run.run_id, instance()));
    let mut last = None;
    for attempt in 1..=END_ATTEMPTS {
        let error = summary.error.as_deref();
        match sync_runs::finish_as(pool, owner, &run.totals, summary.end(), error).await {
            Ok(recorded) => return Ok(recorded),
            Err(e) => {
                tracing::warn!(run_id = run.run_id, attempt, error = %crate::causes::Chain(&e), "cannot record the end of the run; trying again");
                last = Some(e);
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt))).await;
    }
    let why = last.map_or_else(String::new, |e| crate::causes::Chain(&e).to_string());
    let reason = format!(
        "the end of the run could not be recorded after {END_ATTEMPTS} attempts ({why}); failed instead"
    );
    Ok(sync_runs::fail_unrecorded(pool, owner, &reason).await?)
}

/// The first success of each job in a minute, then one summary a minute
/// (see [`super::summed`]); each run's own line stays at debug.
fn log_success(span: &tracing::Span, summary: &JobSummary) {
    let (pages, api_calls) = (summary.pages, summary.api_calls);
    let mut logged = false;
    for line in super::summed::SUCCESSES.note(summary.job, &summary.tenant, summary.job) {
        match line {
            super::summed::Line::First => {
                logged = true;
                tracing::info!(parent: span, pages, api_calls, "run succeeded")
            }
            super::summed::Line::Summary {
                kind: job,
                count: runs,
                samples,
                seconds,
            } => tracing::info!(
                job,
                runs,
                "{runs} runs of {job} succeeded in the last {seconds} s, e.g. {} (each run's line is at debug)",
                super::summed::samples_text(&samples, runs)
            ),
        }
    }
    if !logged {
        tracing::debug!(parent: span, pages, api_calls, "run succeeded");
    }
}

fn log_end(span: &tracing::Span, summary: &JobSummary) {
    match (&summary.error, summary.cancelled) {
        (None, _) => log_success(span, summary),
        (Some(e), true) => {
            tracing::warn!(parent: span, error = %e, "run cancelled; the next run resumes")
        }
        (Some(e), false) => tracing::error!(parent: span, error = %e, "run failed"),
    }
}
