//! `confsync.rate_budgets`: request budgets learned from 429 answers, per
//! (tenant, vendor, endpoint), so that the next run starts from them.

use std::collections::BTreeMap;

use sqlx::PgPool;

use super::{Context, StoreError};
use crate::ratelimit::Limit;

/// What earlier runs learned, by endpoint label.
pub async fn load(
    pool: &PgPool,
    tenant: &str,
    vendor: &str,
) -> Result<Vec<(String, Limit)>, StoreError> {
    let rows: Vec<(String, i32, bool)> = sqlx::query_as(
        "select endpoint, per_minute, paced from confsync.rate_budgets
          where tenant = $1 and vendor = $2",
    )
    .bind(tenant)
    .bind(vendor)
    .fetch_all(pool)
    .await
    .during("reading the learned request budgets")?;
    Ok(rows
        .into_iter()
        .map(|(endpoint, per_minute, paced)| {
            let per_minute = u32::try_from(per_minute).unwrap_or(1).max(1);
            (endpoint, Limit { per_minute, paced })
        })
        .collect())
}

/// Replaces the stored budgets of (tenant, vendor) with `learned`; a budget
/// that crept back to its configured value is no longer stored.
pub async fn save(
    pool: &PgPool,
    tenant: &str,
    vendor: &str,
    learned: &BTreeMap<&'static str, Limit>,
) -> Result<(), StoreError> {
    let endpoints: Vec<&str> = learned.keys().copied().collect();
    let per_minute: Vec<i32> = learned
        .values()
        .map(|l| i32::try_from(l.per_minute).unwrap_or(i32::MAX))
        .collect();
    let paced: Vec<bool> = learned.values().map(|l| l.paced).collect();
    let mut tx = pool.begin().await.during("saving the request budgets")?;
    sqlx::query(
        "delete from confsync.rate_budgets
          where tenant = $1 and vendor = $2 and endpoint <> all($3)",
    )
    .bind(tenant)
    .bind(vendor)
    .bind(&endpoints)
    .execute(&mut *tx)
    .await
    .during("saving the request budgets")?;
    sqlx::query(
        "insert into confsync.rate_budgets (tenant, vendor, endpoint, per_minute, paced)
         select $1, $2, e, n, p from unnest($3::text[], $4::int[], $5::bool[]) as t(e, n, p)
         on conflict (tenant, vendor, endpoint) do update
            set per_minute = excluded.per_minute, paced = excluded.paced, updated_at = now()",
    )
    .bind(tenant)
    .bind(vendor)
    .bind(&endpoints)
    .bind(&per_minute)
    .bind(&paced)
    .execute(&mut *tx)
    .await
    .during("saving the request budgets")?;
    tx.commit().await.during("saving the request budgets")?;
    Ok(())
}
