//! `confsync.sync_runs`: one row per job run.

use serde::Serialize;
use sqlx::PgPool;

use super::{Context, RowCounts, StoreError};

#[derive(Debug, Clone, Default, Serialize)]
pub struct RunTotals {
    pub pages: u64,
    pub api_calls: u64,
    pub rows: RowCounts,
}

pub async fn start(pool: &PgPool, tenant: &str, job: &str, full: bool) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "insert into confsync.sync_runs (tenant, job, full_pass) values ($1, $2, $3) returning id",
    )
    .bind(tenant)
    .bind(job)
    .bind(full)
    .fetch_one(pool)
    .await
    .during("recording the start of a run")
}

pub async fn finish(
    pool: &PgPool,
    run_id: i64,
    totals: &RunTotals,
    error: Option<&str>,
) -> Result<(), StoreError> {
    let status = if error.is_some() {
        "failed"
    } else {
        "succeeded"
    };
    sqlx::query(
        "update confsync.sync_runs
            set finished_at = now(), status = $2, pages = $3, api_calls = $4,
                rows_inserted = $5, rows_updated = $6, rows_unchanged = $7, error = $8
          where id = $1",
    )
    .bind(run_id)
    .bind(status)
    .bind(totals.pages as i64)
    .bind(totals.api_calls as i64)
    .bind(totals.rows.inserted as i64)
    .bind(totals.rows.updated as i64)
    .bind(totals.rows.unchanged as i64)
    .bind(error)
    .execute(pool)
    .await
    .during("recording the end of a run")?;
    Ok(())
}
