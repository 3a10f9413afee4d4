//! `confsync status`: per tenant and job, the last run, its outcome,
//! duration and rows, the failure streak and the next scheduled time.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use sqlx::PgPool;

use super::schedule::JobSchedule;
use crate::jobs::TenantSettings;
use crate::jobs::{self, Job};
use crate::store::sync_runs::{self, JobRecord};

#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    pub tenant: String,
    pub job: &'static str,
    /// The cron expression, or "off".
    pub schedule: String,
    pub last_run: Option<DateTime<Utc>>,
    /// running, succeeded, failed or abandoned.
    pub outcome: Option<String>,
    pub duration_seconds: Option<f64>,
    pub rows_inserted: Option<i64>,
    pub rows_updated: Option<i64>,
    pub rows_unchanged: Option<i64>,
    /// Records the last run set aside in `confsync.quarantine`.
    pub quarantined: Option<i64>,
    pub consecutive_failures: i64,
    pub next_run: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// Every job's status of each of `tenants`, as of `now`, read in one query.
pub async fn collect(
    pool: &PgPool,
    tenants: &[TenantSettings],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<JobStatus>> {
    let pairs: Vec<(String, &str)> = tenants
        .iter()
        .flat_map(|t| jobs::names().map(|job| (t.cloudroom.tenant.clone(), job)))
        .collect();
    let mut records = sync_runs::job_records(pool, &pairs).await?.into_iter();
    let mut statuses = Vec::new();
    for tenant in tenants {
        let tz = tenant.schedule.tz().map_err(anyhow::Error::msg)?;
        for (job, record) in jobs::JOBS.into_iter().zip(records.by_ref()) {
            let expression = tenant.schedule.expression(job);
            let next = JobSchedule::parse(expression, tz)
                .ok()
                .flatten()
                .and_then(|s| s.next_after(now));
            statuses.push(job_status(job, expression, record, next));
        }
    }
    Ok(statuses)
}

fn job_status(
    job: &dyn Job,
    expression: &str,
    record: JobRecord,
    next_run: Option<DateTime<Utc>>,
) -> JobStatus {
    let duration_seconds = match (record.last_started_at, record.last_finished_at) {
        (Some(start), Some(end)) => Some((end - start).num_milliseconds() as f64 / 1000.0),
        _ => None,
    };
    JobStatus {
        tenant: record.tenant.clone(),
        job: job.name(),
        schedule: expression.to_string(),
        last_run: record.last_started_at,
        outcome: record.last_status,
        duration_seconds,
        rows_inserted: record.last_rows_inserted,
        rows_updated: record.last_rows_updated,
        rows_unchanged: record.last_rows_unchanged,
        quarantined: record.last_quarantined,
        consecutive_failures: record.consecutive_failures,
        next_run,
        last_error: record.last_error,
    }
}

const HEADERS: [&str; 7] = [
    "JOB",
    "LAST RUN",
    "OUTCOME",
    "DURATION",
    "ROWS (new/changed/same)",
    "FAILURES",
    "NEXT RUN",
];

/// A table per tenant, under its name when there are several, times in
/// each tenant's schedule zone.
pub fn tables(statuses: &[JobStatus], tenants: &[TenantSettings]) -> String {
    let mut out = String::new();
    for tenant in tenants {
        let name = tenant.name();
        let own: Vec<JobStatus> = statuses
            .iter()
            .filter(|s| s.tenant == name)
            .cloned()
            .collect();
        let tz = tenant.schedule.tz().unwrap_or(chrono_tz::UTC);
        if tenants.len() > 1 {
            out.push_str(&format!("tenant {name}\n"));
        }
        out.push_str(&table(&own, tz));
        if tenants.len() > 1 {
            out.push('\n');
        }
    }
    out
}

/// A plain-text table, times in `tz`.
pub fn table(statuses: &[JobStatus], tz: Tz) -> String {
    let mut rows: Vec<[String; 7]> = vec![HEADERS.map(str::to_string)];
    rows.extend(statuses.iter().map(|s| row(s, tz)));
    let mut widths = [0usize; 7];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(crate::text::columns(cell));
        }
    }
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| crate::text::pad(cell, width))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    let errors: Vec<String> = statuses
        .iter()
        .filter(|s| s.outcome.as_deref() == Some("failed"))
        .filter_map(|s| s.last_error.as_ref().map(|e| format!("{}: {e}", s.job)))
        .collect();
    if !errors.is_empty() {
        out.push_str("\nlast errors:\n");
        for e in errors {
            out.push_str(&format!("  {e}\n"));
        }
    }
    out
}

fn row(s: &JobStatus, tz: Tz) -> [String; 7] {
    let time = |t: Option<DateTime<Utc>>| {
        t.map_or_else(
            || "-".to_string(),
            |t| {
                t.with_timezone(&tz)
                    .format("%Y-%m-%d %H:%M:%S %Z")
                    .to_string()
            },
        )
    };
    let rows = match (
        s.rows_inserted,
        s.rows_updated,
        s.rows_unchanged,
        s.quarantined,
    ) {
        (Some(i), Some(u), Some(n), Some(q)) if q > 0 => format!("{i}/{u}/{n} ({q} quarantined)"),
        (Some(i), Some(u), Some(n), _) => format!("{i}/{u}/{n}"),
        _ => "-".into(),
    };
    let next = if s.schedule.trim().eq_ignore_ascii_case("off") {
        "off".to_string()
    } else {
        time(s.next_run)
    };
    [
        s.job.to_string(),
        time(s.last_run),
        s.outcome.clone().unwrap_or_else(|| "never run".into()),
        s.duration_seconds
            .map_or_else(|| "-".into(), |d| format!("{d:.1} s")),
        rows,
        s.consecutive_failures.to_string(),
        next,
    ]
}
