//! `cloudroom.conferences`: the conference list.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::hashed::{upsert, HashedTable};
use super::{tally, Context, Existing, RawJson, RowCounts, StoreError};

#[derive(Debug, Clone)]
pub struct ConferenceRow {
    pub conf_id: i64,
    pub subject: Option<String>,
    pub conf_type: Option<i32>,
    pub status: Option<i32>,
    pub schedule_start: Option<DateTime<Utc>>,
    pub schedule_end: Option<DateTime<Utc>>,
    pub host_name: Option<String>,
    pub members: Option<i32>,
    pub period_type: Option<i32>,
    pub owner_id: Option<i64>,
    pub raw: serde_json::Value,
    /// The record exactly as received, when `raw` had NUL replaced.
    pub raw_original: Option<String>,
}

/// Writes one page: new rows inserted, changed or returning rows updated
/// (clearing `removed_at`), unchanged rows left alone.
pub async fn upsert_page(
    conn: &mut PgConnection,
    tenant: &str,
    rows: &[ConferenceRow],
    now: DateTime<Utc>,
) -> Result<RowCounts, StoreError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.conf_id).collect();
    let existing = existing(conn, tenant, &ids).await?;
    let touch_before = now - super::SEEN_RESOLUTION;
    let fates = upsert::<Conferences>(conn, tenant, rows, &existing, touch_before, now).await?;
    Ok(tally(&fates))
}

/// `cloudroom.conferences` as a [`HashedTable`].
struct Conferences;

impl HashedTable for Conferences {
    type Row = ConferenceRow;
    type Key = i64;

    fn key(row: &ConferenceRow) -> i64 {
        row.conf_id
    }

    fn raw(row: &ConferenceRow) -> &serde_json::Value {
        &row.raw
    }

    async fn write(
        conn: &mut PgConnection,
        tenant: &str,
        rows: &[ConferenceRow],
        raw: &RawJson,
        picked: &[usize],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        write_rows(conn, tenant, rows, raw, picked, now).await
    }

    async fn touch(
        conn: &mut PgConnection,
        tenant: &str,
        rows: &[ConferenceRow],
        picked: &[usize],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let touch: Vec<i64> = picked.iter().map(|&i| rows[i].conf_id).collect();
        sqlx::query("update cloudroom.conferences set last_seen_at = $3 where tenant = $1 and conf_id = any($2)")
            .bind(tenant)
            .bind(&touch)
            .bind(now)
            .execute(&mut *conn)
            .await
            .during("refreshing last_seen_at of conferences")?;
        Ok(())
    }
}

async fn existing(
    conn: &mut PgConnection,
    tenant: &str,
    ids: &[i64],
) -> Result<HashMap<i64, Existing>, StoreError> {
    let rows: Vec<(i64, Vec<u8>, bool, DateTime<Utc>)> = sqlx::query_as(
        "select conf_id, content_hash, removed_at is not null, last_seen_at
           from cloudroom.conferences where tenant = $1 and conf_id = any($2)",
    )
    .bind(tenant)
    .bind(ids)
    // Planned on every execution (unnamed statement): a plan cached
    // while the table was empty would scan it whole once it is large.
    .persistent(false)
    .fetch_all(&mut *conn)
    .await
    .during("reading existing conferences")?;
    Ok(rows
        .into_iter()
        .map(|(k, h, t, s)| (k, (h, t, s)))
        .collect())
}

async fn write_rows(
    conn: &mut PgConnection,
    tenant: &str,
    rows: &[ConferenceRow],
    raw: &RawJson,
    picked: &[usize],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into cloudroom.conferences as c
            (tenant, conf_id, subject, conf_type, status, schedule_start, schedule_end,
             host_name, members, period_type, owner_id, content_hash, raw, raw_original,
             first_seen_at, last_seen_at)
         select $1, * , $14, $14 from unnest($2::bigint[], $3::text[], $4::int[], $5::int[],
             $6::timestamptz[], $7::timestamptz[], $8::text[], $9::int[], $10::int[], $11::bigint[],
             $12::bytea[], $13::text[]::jsonb[], $15::text[])
         on conflict (tenant, conf_id) do update set
             subject = excluded.subject, conf_type = excluded.conf_type, status = excluded.status,
             schedule_start = excluded.schedule_start, schedule_end = excluded.schedule_end,
             host_name = excluded.host_name, members = excluded.members,
             period_type = excluded.period_type, owner_id = excluded.owner_id,
             content_hash = excluded.content_hash, raw = excluded.raw,
             raw_original = excluded.raw_original,
             last_seen_at = excluded.last_seen_at, removed_at = null",
    )
    .bind(tenant)
    .bind(column!(rows, picked, conf_id))
    .bind(column!(rows, picked, subject))
    .bind(column!(rows, picked, conf_type))
    .bind(column!(rows, picked, status))
    .bind(column!(rows, picked, schedule_start))
    .bind(column!(rows, picked, schedule_end))
    .bind(column!(rows, picked, host_name))
    .bind(column!(rows, picked, members))
    .bind(column!(rows, picked, period_type))
    .bind(column!(rows, picked, owner_id))
    .bind(raw.hashes_at(picked))
    .bind(raw.texts_at(picked))
    .bind(now)
    .bind(column!(rows, picked, raw_original))
    .execute(&mut *conn)
    .await
    .during("writing conferences")?;
    Ok(())
}

/// After a complete pass: conferences the pass did not list are marked removed.
pub async fn mark_removed(
    conn: &mut PgConnection,
    tenant: &str,
    seen: &[i64],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "update cloudroom.conferences set removed_at = $3
          where tenant = $1 and removed_at is null and not (conf_id = any($2))",
    )
    .bind(tenant)
    .bind(seen)
    .bind(now)
    .execute(&mut *conn)
    .await
    .during("marking removed conferences")?;
    Ok(done.rows_affected())
}
