//! The weekly reconcile: a sequence the lifecycle runs. Its steps are the
//! three mirror passes with `full`, each recorded as its own run
//! (`full_pass = true`) inside one `reconcile` run that sums them. The
//! passes wait for their locks: the default schedules start the three
//! passes at the same minute as the reconcile.

use futures::future::BoxFuture;

use super::{Job, JobSummary, Run, RunOptions};
use crate::store::sync_runs::RunTotals;

pub struct Reconcile;

impl Job for Reconcile {
    fn name(&self) -> &'static str {
        "reconcile"
    }

    fn default_schedule(&self) -> &'static str {
        "0 0 3 * * Sun"
    }

    /// Its passes count their own rows.
    fn table(&self) -> Option<&'static str> {
        None
    }

    fn is_full(&self, _: &RunOptions) -> bool {
        true
    }

    /// The lifecycle runs them under this run's token, so a lost
    /// reconcile lock stops the passes too.
    fn steps(&self) -> &'static [&'static dyn Job] {
        &super::MIRROR
    }

    /// Sums the passes the lifecycle ran.
    fn run<'a>(&'a self, run: &'a mut Run<'_>) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let (totals, error) = sum_passes(&run.steps);
            run.totals = totals;
            run.incomplete = error;
            Ok(())
        })
    }
}

/// Sums the passes; the error names every pass that failed, or says that
/// the mirror stopped before all three ran.
fn sum_passes(summaries: &[JobSummary]) -> (RunTotals, Option<String>) {
    let mut totals = RunTotals::default();
    let mut errors = Vec::new();
    for s in summaries {
        totals.pages += s.pages;
        totals.api_calls += s.api_calls;
        totals.rows.inserted += s.rows_inserted;
        totals.rows.updated += s.rows_updated;
        totals.rows.unchanged += s.rows_unchanged;
        totals.quarantined += s.quarantined;
        if let Some(e) = &s.error {
            errors.push(format!("{}: {e}", s.job));
        }
    }
    if summaries.len() < super::MIRROR.len() && errors.is_empty() {
        errors.push("cancelled before every pass ran".into());
    }
    let error = (!errors.is_empty()).then(|| errors.join("; "));
    (totals, error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(job: &'static str, error: Option<&str>) -> JobSummary {
        JobSummary {
            job,
            tenant: "t".into(),
            run_id: 1,
            full: true,
            pages: 2,
            api_calls: 3,
            rows_inserted: 4,
            rows_updated: 5,
            rows_unchanged: 6,
            quarantined: 0,
            seconds: 0.1,
            peak_rss_kib: None,
            cancelled: false,
            error: error.map(str::to_string),
            cause: None,
            report: None,
        }
    }

    #[test]
    fn reconcile_sums_its_passes_and_names_failures() {
        let (totals, error) = sum_passes(&[
            summary("conferences", None),
            summary("history", Some("boom")),
            summary("recordings", None),
        ]);
        assert_eq!(totals.pages, 6);
        assert_eq!(totals.rows.inserted, 12);
        assert_eq!(error.as_deref(), Some("history: boom"));
        let (_, error) = sum_passes(&[summary("conferences", None)]);
        assert!(error.unwrap().contains("cancelled"));
    }
}
