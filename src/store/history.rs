//! `cloudroom.meeting_history`: ended meetings, keyed by (conf_id, start_time)
//! because a periodic meeting repeats its confId.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::hashed::{upsert, HashedTable};
use super::{pick, tally, Context, Existing, RawJson, RowCounts, RowFate, StoreError};

#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub conf_id: i64,
    pub start_time: DateTime<Utc>,
    pub subject: Option<String>,
    pub conf_type: Option<i32>,
    pub end_time: Option<DateTime<Utc>>,
    pub duration_seconds: Option<i64>,
    pub host_name: Option<String>,
    pub members: Option<i32>,
    pub period_type: Option<i32>,
    pub raw: serde_json::Value,
    /// The record exactly as received, when `raw` had NUL replaced.
    pub raw_original: Option<String>,
}

type Key = (i64, DateTime<Utc>);

/// What writing a page did: its rows, and the conferences it queued for a
/// recordings pass (a recordings pass running alongside reads them at once).
#[derive(Debug, Default)]
pub struct PageWritten {
    pub counts: RowCounts,
    pub queued: Vec<i64>,
}

/// Writes one page and queues the conferences of new or changed meetings
/// for a recordings pass, in the caller's transaction.
///
/// `touch_before`: unchanged rows last seen before this get `last_seen_at`
/// refreshed; a full pass passes its start, so that afterwards every row it
/// did not see is older than that (see [`mark_removed`]).
///
/// `window_was_empty` says the table held no meeting of this page's window
/// when the pass reached it (a backfill): then there is nothing to compare
/// with, and the upsert itself tells new rows from rows an earlier page of the
/// same pass already wrote.
pub async fn upsert_page(
    conn: &mut PgConnection,
    tenant: &str,
    rows: &[HistoryRow],
    now: DateTime<Utc>,
    touch_before: DateTime<Utc>,
    window_was_empty: bool,
) -> Result<PageWritten, StoreError> {
    if window_was_empty {
        return insert_page(conn, tenant, rows, now).await;
    }
    let keys: Vec<Key> = rows.iter().map(|r| (r.conf_id, r.start_time)).collect();
    let existing = existing(conn, tenant, &keys).await?;
    let fates = upsert::<History>(conn, tenant, rows, &existing, touch_before, now).await?;
    let written: Vec<i64> = pick(&fates, &[RowFate::Insert, RowFate::Update])
        .into_iter()
        .map(|i| rows[i].conf_id)
        .collect();
    if !written.is_empty() {
        super::recordings::enqueue(conn, tenant, &written).await?;
    }
    Ok(PageWritten {
        counts: tally(&fates),
        queued: written,
    })
}

/// `cloudroom.meeting_history` as a [`HashedTable`].
struct History;

impl HashedTable for History {
    type Row = HistoryRow;
    type Key = Key;

    fn key(row: &HistoryRow) -> Key {
        (row.conf_id, row.start_time)
    }

    fn raw(row: &HistoryRow) -> &serde_json::Value {
        &row.raw
    }

    async fn write(
        conn: &mut PgConnection,
        tenant: &str,
        rows: &[HistoryRow],
        raw: &RawJson,
        picked: &[usize],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        write_rows(conn, UPSERT, (tenant, rows), raw, picked, now)
            .await
            .map(drop)
    }

    async fn touch(
        conn: &mut PgConnection,
        tenant: &str,
        rows: &[HistoryRow],
        picked: &[usize],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let ids: Vec<i64> = picked.iter().map(|&i| rows[i].conf_id).collect();
        let starts: Vec<DateTime<Utc>> = picked.iter().map(|&i| rows[i].start_time).collect();
        sqlx::query(
            "update cloudroom.meeting_history h set last_seen_at = $4
               from unnest($2::bigint[], $3::timestamptz[]) as k(conf_id, start_time)
              where h.tenant = $1 and h.conf_id = k.conf_id and h.start_time = k.start_time",
        )
        .bind(tenant)
        .bind(ids)
        .bind(starts)
        .bind(now)
        .execute(&mut *conn)
        .await
        .during("refreshing last_seen_at of meeting history")?;
        Ok(())
    }
}

async fn insert_page(
    conn: &mut PgConnection,
    tenant: &str,
    rows: &[HistoryRow],
    now: DateTime<Utc>,
) -> Result<PageWritten, StoreError> {
    if rows.is_empty() {
        return Ok(PageWritten::default());
    }
    let raw = RawJson::of(rows.iter().map(|r| &r.raw));
    let all: Vec<usize> = (0..rows.len()).collect();
    // A window nobody wrote yet: a plain insert, unless a page repeats a
    // row an earlier transaction of the pass wrote (pages shift).
    let (raw, all) = (&raw, &all);
    let insert =
        async |c: &mut PgConnection| write_rows(c, INSERT, (tenant, rows), raw, all, now).await;
    let upsert =
        async |c: &mut PgConnection| write_rows(c, UPSERT, (tenant, rows), raw, all, now).await;
    let written = super::insert_else_upsert(conn, insert, upsert).await?;
    let conf_ids: Vec<i64> = written.iter().map(|(conf_id, _)| *conf_id).collect();
    super::recordings::enqueue(conn, tenant, &conf_ids).await?;
    let inserted = written.iter().filter(|(_, inserted)| *inserted).count() as u64;
    let counts = RowCounts {
        inserted,
        updated: written.len() as u64 - inserted,
        unchanged: (rows.len() - written.len()) as u64,
    };
    Ok(PageWritten {
        counts,
        queued: conf_ids,
    })
}

/// Whether the table holds no meeting that started within `[start, end]`.
pub async fn window_is_empty(
    conn: &mut PgConnection,
    tenant: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<bool, StoreError> {
    sqlx::query_scalar(
        "select not exists (select 1 from cloudroom.meeting_history
                             where tenant = $1 and start_time between $2 and $3)",
    )
    .bind(tenant)
    .bind(start)
    .bind(end)
    .fetch_one(&mut *conn)
    .await
    .during("looking for meetings in a history window")
}

async fn existing(
    conn: &mut PgConnection,
    tenant: &str,
    keys: &[Key],
) -> Result<HashMap<Key, Existing>, StoreError> {
    let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
    let starts: Vec<DateTime<Utc>> = keys.iter().map(|k| k.1).collect();
    type Found = (i64, DateTime<Utc>, Vec<u8>, bool, DateTime<Utc>);
    let rows: Vec<Found> = sqlx::query_as(
        // One primary-key probe per incoming row, whatever the planner
        // thinks of the table's size (a hash join would scan it whole).
        "select h.conf_id, h.start_time, h.content_hash, h.removed_at is not null, h.last_seen_at
           from unnest($2::bigint[], $3::timestamptz[]) as k(conf_id, start_time)
           cross join lateral (
                select conf_id, start_time, content_hash, removed_at, last_seen_at
                  from cloudroom.meeting_history
                 where tenant = $1 and conf_id = k.conf_id and start_time = k.start_time
           ) h",
    )
    .bind(tenant)
    .bind(ids)
    .bind(starts)
    // Planned on every execution (unnamed statement): a plan cached
    // while the table was empty would scan it whole once it is large.
    .persistent(false)
    .fetch_all(&mut *conn)
    .await
    .during("reading existing meeting history")?;
    Ok(rows
        .into_iter()
        .map(|(c, st, h, removed, seen)| ((c, st), (h, removed, seen)))
        .collect())
}

/// Writes meetings, returning each written row's conference and whether it
/// was inserted; `$on_conflict` is empty for a plain insert (see
/// [`super::insert_else_upsert`]).
macro_rules! write_history {
    ($on_conflict:literal) => {
        concat!(
            "insert into cloudroom.meeting_history
                (tenant, conf_id, start_time, subject, conf_type, end_time, duration_seconds,
                 host_name, members, period_type, content_hash, raw, raw_original,
                 first_seen_at, last_seen_at)
             select $1, *, $13, $13 from unnest($2::bigint[], $3::timestamptz[], $4::text[],
                 $5::int[], $6::timestamptz[], $7::bigint[], $8::text[], $9::int[], $10::int[],
                 $11::bytea[], $12::text[]::jsonb[], $14::text[]) ",
            $on_conflict,
            " returning conf_id, (xmax = 0) as inserted"
        )
    };
}

const UPSERT: &str = write_history!(
    "on conflict (tenant, conf_id, start_time) do update set
         subject = excluded.subject, conf_type = excluded.conf_type,
         end_time = excluded.end_time, duration_seconds = excluded.duration_seconds,
         host_name = excluded.host_name, members = excluded.members,
         period_type = excluded.period_type, content_hash = excluded.content_hash,
         raw = excluded.raw, raw_original = excluded.raw_original,
         last_seen_at = excluded.last_seen_at, removed_at = null
     where meeting_history.content_hash is distinct from excluded.content_hash
        or meeting_history.removed_at is not null"
);

const INSERT: &str = write_history!("");

async fn write_rows(
    conn: &mut PgConnection,
    sql: &'static str,
    (tenant, rows): (&str, &[HistoryRow]),
    raw: &RawJson,
    picked: &[usize],
    now: DateTime<Utc>,
) -> Result<Vec<(i64, bool)>, StoreError> {
    sqlx::query_as(sql)
        .bind(tenant)
        .bind(column!(rows, picked, conf_id))
        .bind(column!(rows, picked, start_time))
        .bind(column!(rows, picked, subject))
        .bind(column!(rows, picked, conf_type))
        .bind(column!(rows, picked, end_time))
        .bind(column!(rows, picked, duration_seconds))
        .bind(column!(rows, picked, host_name))
        .bind(column!(rows, picked, members))
        .bind(column!(rows, picked, period_type))
        .bind(raw.hashes_at(picked))
        .bind(raw.texts_at(picked))
        .bind(now)
        .bind(column!(rows, picked, raw_original))
        .fetch_all(&mut *conn)
        .await
        .during("writing meeting history")
}

/// Marks the meetings of `[start, end]` that a full pass, started at
/// `pass_started`, did not list: CloudRoom no longer has them. The rows
/// stay (reports may still want them); a later pass that lists one clears
/// the mark. Returns how many were marked.
pub async fn mark_removed(
    conn: &mut PgConnection,
    tenant: &str,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    pass_started: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "update cloudroom.meeting_history set removed_at = $5
          where tenant = $1 and start_time between $2 and $3
            and removed_at is null and last_seen_at < $4",
    )
    .bind(tenant)
    .bind(start)
    .bind(end)
    .bind(pass_started)
    .bind(now)
    .execute(&mut *conn)
    .await
    .during("marking meetings CloudRoom no longer lists")?;
    Ok(done.rows_affected())
}

/// Conferences whose meetings ended at or after `since`.
pub async fn ended_since(
    conn: &mut PgConnection,
    tenant: &str,
    since: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    sqlx::query_scalar(
        "select distinct conf_id from cloudroom.meeting_history where tenant = $1 and end_time >= $2",
    )
    .bind(tenant)
    .bind(since)
    .fetch_all(&mut *conn)
    .await
    .during("listing recently ended meetings")
}

/// Every conference the mirror knows, for a full recordings pass.
pub async fn all_conf_ids(conn: &mut PgConnection, tenant: &str) -> Result<Vec<i64>, StoreError> {
    sqlx::query_scalar(
        "select conf_id from cloudroom.meeting_history where tenant = $1
         union select conf_id from cloudroom.recordings where tenant = $1 and deleted_at is null",
    )
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await
    .during("listing known conferences")
}
