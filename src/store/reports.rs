//! Reads of the `report.*` views, for the demo's printout (users query the
//! views with plain SQL; docs/reporting.md).

use chrono::NaiveDate;
use sqlx::PgPool;

use super::{Context as _, StoreError};

/// `report.meetings_per_day`, the latest `days`: (day, meetings, minutes).
pub async fn meetings_per_day(
    pool: &PgPool,
    days: i64,
) -> Result<Vec<(NaiveDate, i64, i64)>, StoreError> {
    sqlx::query_as(
        "select day, meetings, minutes from report.meetings_per_day order by day desc limit $1",
    )
    .bind(days)
    .fetch_all(pool)
    .await
    .during("reading report.meetings_per_day")
}

/// `report.meeting_minutes_per_host`, the `top` hosts by minutes:
/// (host, meetings, minutes).
pub async fn minutes_per_host(
    pool: &PgPool,
    top: i64,
) -> Result<Vec<(Option<String>, i64, i64)>, StoreError> {
    sqlx::query_as(
        "select host_name, meetings, minutes from report.meeting_minutes_per_host
          order by minutes desc limit $1",
    )
    .bind(top)
    .fetch_all(pool)
    .await
    .during("reading report.meeting_minutes_per_host")
}

/// `report.attendance_per_department` of `tenant`, by minutes:
/// (department, people, joins, minutes).
pub async fn attendance_per_department(
    pool: &PgPool,
    tenant: &str,
) -> Result<Vec<(String, i64, i64, f64)>, StoreError> {
    sqlx::query_as(
        "select coalesce(department, '(no department)'), people, joins, minutes::float8
           from report.attendance_per_department where tenant = $1 order by minutes desc",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .during("reading report.attendance_per_department")
}
