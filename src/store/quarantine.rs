//! `confsync.quarantine`: vendor records that could not be stored, kept
//! with why, while the rest of their page is stored (docs/hostile-data.md).

use std::collections::BTreeMap;

use sqlx::{PgConnection, PgPool};

use super::{Context as _, StoreError};

/// One record set aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// The endpoint label it came from (`conference.history`, `video.list`, ...).
    pub endpoint: &'static str,
    /// Its key as text, or `raw:` and a digest for an entry without one.
    pub key: String,
    /// The entry as received, as JSON text (NUL escaped).
    pub raw: String,
    pub reason: String,
}

/// Keeps `records` (one open row per endpoint, key and reason: a record
/// seen again only counts), and returns how many there were.
pub async fn hold(
    conn: &mut PgConnection,
    (tenant, job): (&str, &str),
    records: &[Quarantined],
) -> Result<u64, StoreError> {
    if records.is_empty() {
        return Ok(0);
    }
    // One row per open (endpoint, key, reason): the upsert may not touch a row twice.
    let mut unique: BTreeMap<(&str, &str, String), &Quarantined> = BTreeMap::new();
    for r in records {
        let reason = super::clean(&r.reason).into_owned();
        unique
            .entry((r.endpoint, r.key.as_str(), reason))
            .or_insert(r);
    }
    let (mut endpoints, mut keys, mut raws, mut reasons) = (vec![], vec![], vec![], vec![]);
    for ((endpoint, key, reason), r) in &unique {
        endpoints.push(*endpoint);
        keys.push(super::clean(key).into_owned());
        raws.push(super::clean(&r.raw).into_owned());
        reasons.push(reason.clone());
    }
    sqlx::query(
        "insert into confsync.quarantine as q (tenant, job, endpoint, record_key, raw, reason)
         select $1, $2, e, k, r, why from unnest($3::text[], $4::text[], $5::text[], $6::text[]) as t(e, k, r, why)
         on conflict (tenant, endpoint, record_key, reason) where resolved_at is null
         do update set last_seen_at = now(), times_seen = q.times_seen + 1, raw = excluded.raw",
    )
    .bind(tenant)
    .bind(job)
    .bind(&endpoints)
    .bind(&keys)
    .bind(&raws)
    .bind(&reasons)
    .execute(&mut *conn)
    .await
    .during("quarantining records that cannot be stored")?;
    Ok(records.len() as u64)
}

/// Closes the open rows of `keys`: those records were stored now.
pub async fn release(
    conn: &mut PgConnection,
    tenant: &str,
    endpoint: &str,
    keys: &[String],
) -> Result<u64, StoreError> {
    if keys.is_empty() {
        return Ok(0);
    }
    let done = sqlx::query(
        "update confsync.quarantine set resolved_at = now()
          where tenant = $1 and endpoint = $2 and record_key = any($3) and resolved_at is null",
    )
    .bind(tenant)
    .bind(endpoint)
    .bind(keys)
    .execute(&mut *conn)
    .await
    .during("closing quarantined records that were stored")?;
    Ok(done.rows_affected())
}

/// Whether `tenant` has an open row for `endpoint` (a pass without any
/// skips closing rows page by page).
pub async fn any_open(pool: &PgPool, tenant: &str, endpoint: &str) -> Result<bool, StoreError> {
    sqlx::query_scalar(
        "select exists (select 1 from confsync.quarantine
                         where tenant = $1 and endpoint = $2 and resolved_at is null)",
    )
    .bind(tenant)
    .bind(endpoint)
    .fetch_one(pool)
    .await
    .during("looking for quarantined records")
}

/// Open rows per tenant of `tenants`, for `status` and `/healthz`.
pub async fn open_counts(
    pool: &PgPool,
    tenants: &[String],
) -> Result<Vec<(String, i64)>, StoreError> {
    sqlx::query_as(
        "select tenant, count(*) from confsync.quarantine
          where resolved_at is null and tenant = any($1) group by tenant order by tenant",
    )
    .bind(tenants)
    .fetch_all(pool)
    .await
    .during("counting quarantined records")
}
