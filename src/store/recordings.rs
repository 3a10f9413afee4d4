//! `cloudroom.recordings`, the URL archive `cloudroom.recording_urls`, and the
//! queue of conferences whose recordings must be read.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::hashed::{upsert, HashedTable};
use super::{pick, tally, Context, Existing, RawJson, RowCounts, RowFate, StoreError};

#[derive(Debug, Clone)]
pub struct RecordingRow {
    pub file_id: String,
    pub conf_id: i64,
    pub title: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<i64>,
    pub size_bytes: Option<i64>,
    pub vod_url: Option<String>,
    pub download_url: Option<String>,
    pub raw: serde_json::Value,
    /// The record exactly as received, when `raw` had NUL replaced.
    pub raw_original: Option<String>,
}

/// The recordings read for one conference; `rows` is `None` when CloudRoom
/// no longer knows the conference (nothing is marked deleted then: what we
/// archived stays as it was).
#[derive(Debug, Clone)]
pub struct ConferenceRecordings {
    pub conf_id: i64,
    pub rows: Option<Vec<RecordingRow>>,
    /// Every entry of the listing became a row: only then are the
    /// recordings it does not list marked deleted.
    pub complete: bool,
}

/// Writes the recordings of several completely read conferences in one go:
/// new and changed rows, the URL archive, `deleted_at` for recordings a
/// conference no longer lists (counted as updated), and their dequeue.
pub async fn write_conferences(
    conn: &mut PgConnection,
    tenant: &str,
    batch: Vec<ConferenceRecordings>,
    now: DateTime<Utc>,
) -> Result<RowCounts, StoreError> {
    write_batch(conn, tenant, batch, now, Held::Read).await
}

/// As [`write_conferences`], for a tenant that held no recording when the
/// pass began (its first sync): nothing to compare with, so the read of
/// what the table holds is left out. Batches hold disjoint conferences, so
/// no batch of the pass can find another's rows either.
pub async fn write_first_conferences(
    conn: &mut PgConnection,
    tenant: &str,
    batch: Vec<ConferenceRecordings>,
    now: DateTime<Utc>,
) -> Result<RowCounts, StoreError> {
    write_batch(conn, tenant, batch, now, Held::None).await
}

/// What the table holds for a batch's conferences.
enum Held {
    Read,
    None,
}

async fn write_batch(
    conn: &mut PgConnection,
    tenant: &str,
    batch: Vec<ConferenceRecordings>,
    now: DateTime<Utc>,
    held: Held,
) -> Result<RowCounts, StoreError> {
    let read: Vec<i64> = batch
        .iter()
        .filter(|c| c.rows.is_some())
        .map(|c| c.conf_id)
        .collect();
    let complete: HashSet<i64> = batch
        .iter()
        .filter(|c| c.complete)
        .map(|c| c.conf_id)
        .collect();
    let done: Vec<i64> = batch.iter().map(|c| c.conf_id).collect();
    let rows: Vec<RecordingRow> = batch.into_iter().filter_map(|c| c.rows).flatten().collect();
    // One indexed read by conference gives both what the incoming rows are
    // compared with and what the conferences no longer list.
    let (existing, owners) = match held {
        Held::Read => existing(conn, tenant, &read).await?,
        Held::None => Default::default(),
    };
    let mut counts = match held {
        Held::Read => upsert_rows(conn, tenant, &rows, &existing, now).await?,
        Held::None => insert_first(conn, tenant, &rows, now).await?,
    };
    let listed: HashSet<&str> = rows.iter().map(|r| r.file_id.as_str()).collect();
    let gone: Vec<&str> = existing
        .iter()
        .filter(|(file_id, (_, tombstoned, _))| !tombstoned && !listed.contains(file_id.as_str()))
        .filter(|(file_id, _)| owners.get(*file_id).is_some_and(|c| complete.contains(c)))
        .map(|(file_id, _)| file_id.as_str())
        .collect();
    counts.updated += mark_deleted(conn, tenant, &gone, now).await?;
    dequeue(conn, tenant, &done).await?;
    Ok(counts)
}

async fn upsert_rows(
    conn: &mut PgConnection,
    tenant: &str,
    rows: &[RecordingRow],
    existing: &HashMap<String, Existing>,
    now: DateTime<Utc>,
) -> Result<RowCounts, StoreError> {
    if rows.is_empty() {
        return Ok(RowCounts::default());
    }
    let touch_before = now - super::SEEN_RESOLUTION;
    let fates = upsert::<Recordings>(conn, tenant, rows, existing, touch_before, now).await?;
    // Written rows archived their URLs in the same statement.
    let touched = pick(&fates, &[RowFate::TouchSeen]);
    if !touched.is_empty() {
        archive_urls(conn, tenant, rows, &touched, now).await?;
    }
    Ok(tally(&fates))
}

/// `cloudroom.recordings` as a [`HashedTable`].
struct Recordings;

impl HashedTable for Recordings {
    type Row = RecordingRow;
    type Key = String;

    fn key(row: &RecordingRow) -> String {
        row.file_id.clone()
    }

    fn raw(row: &RecordingRow) -> &serde_json::Value {
        &row.raw
    }

    async fn write(
        conn: &mut PgConnection,
        tenant: &str,
        rows: &[RecordingRow],
        raw: &RawJson,
        picked: &[usize],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        write_rows(conn, UPSERT, (tenant, rows), raw, picked, now).await
    }

    async fn touch(
        conn: &mut PgConnection,
        tenant: &str,
        rows: &[RecordingRow],
        picked: &[usize],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let touch: Vec<&str> = picked.iter().map(|&i| rows[i].file_id.as_str()).collect();
        sqlx::query(
            "update cloudroom.recordings set last_seen_at = $3 where tenant = $1 and file_id = any($2)",
        )
        .bind(tenant)
        .bind(&touch)
        .bind(now)
        .execute(&mut *conn)
        .await
        .during("refreshing last_seen_at of recordings")?;
        Ok(())
    }
}

/// Every recording the mirror holds for these conferences, and the
/// conference each belongs to.
async fn existing(
    conn: &mut PgConnection,
    tenant: &str,
    conf_ids: &[i64],
) -> Result<(HashMap<String, Existing>, HashMap<String, i64>), StoreError> {
    type Found = (String, i64, Vec<u8>, bool, DateTime<Utc>);
    let rows: Vec<Found> = sqlx::query_as(
        "select file_id, conf_id, content_hash, deleted_at is not null, last_seen_at
           from cloudroom.recordings where tenant = $1 and conf_id = any($2)",
    )
    .bind(tenant)
    .bind(conf_ids)
    // Planned on every execution (unnamed statement): a plan cached
    // while the table was empty would scan it whole once it is large.
    .persistent(false)
    .fetch_all(&mut *conn)
    .await
    .during("reading existing recordings")?;
    let owners = rows.iter().map(|(k, c, ..)| (k.clone(), *c)).collect();
    let existing = rows
        .into_iter()
        .map(|(k, _, h, t, s)| (k, (h, t, s)))
        .collect();
    Ok((existing, owners))
}

/// Writes recordings and archives their URLs from what the insert returns,
/// so that the URLs cross the wire and are decoded once; `$on_conflict` and
/// `$urls_on_conflict` are empty for a plain insert (see
/// [`super::insert_else_upsert`]).
macro_rules! write_recordings {
    ($on_conflict:literal, $urls_on_conflict:literal) => {
        concat!(
            "with written as (insert into cloudroom.recordings
                (tenant, file_id, conf_id, title, created_at, duration_seconds, size_bytes,
                 vod_url, download_url, content_hash, raw, raw_original, first_seen_at,
                 last_seen_at)
             select $1, *, $12, $12 from unnest($2::text[], $3::bigint[], $4::text[],
                 $5::timestamptz[], $6::bigint[], $7::bigint[], $8::text[], $9::text[],
                 $10::bytea[], $11::text[]::jsonb[], $13::text[]) ",
            $on_conflict,
            " returning file_id, download_url, vod_url)
             insert into cloudroom.recording_urls as u
                 (tenant, file_id, download_url, vod_url, first_seen_at, last_seen_at)
             select $1, file_id, coalesce(download_url, ''), coalesce(vod_url, ''), $12, $12
               from written ",
            $urls_on_conflict
        )
    };
}

const UPSERT: &str = write_recordings!(
    "on conflict (tenant, file_id) do update set
         conf_id = excluded.conf_id, title = excluded.title, created_at = excluded.created_at,
         duration_seconds = excluded.duration_seconds, size_bytes = excluded.size_bytes,
         vod_url = excluded.vod_url, download_url = excluded.download_url,
         content_hash = excluded.content_hash, raw = excluded.raw,
         raw_original = excluded.raw_original,
         last_seen_at = excluded.last_seen_at, deleted_at = null",
    "on conflict (tenant, file_id, download_url, vod_url) do update
         set last_seen_at = excluded.last_seen_at
       where u.last_seen_at < excluded.last_seen_at - interval '1 day'"
);

const INSERT: &str = write_recordings!("", "");

/// A first sync's rows, all new: a plain insert, unless one exists already
/// (the same fileId under two conferences of different batches).
async fn insert_first(
    conn: &mut PgConnection,
    tenant: &str,
    rows: &[RecordingRow],
    now: DateTime<Utc>,
) -> Result<RowCounts, StoreError> {
    if rows.is_empty() {
        return Ok(RowCounts::default());
    }
    let raw = RawJson::of(rows.iter().map(|r| &r.raw));
    let all: Vec<usize> = (0..rows.len()).collect();
    let insert = async |conn: &mut PgConnection| {
        write_rows(conn, INSERT, (tenant, rows), &raw, &all, now).await?;
        Ok(RowCounts {
            inserted: rows.len() as u64,
            ..RowCounts::default()
        })
    };
    let upsert =
        async |conn: &mut PgConnection| upsert_rows(conn, tenant, rows, &HashMap::new(), now).await;
    super::insert_else_upsert(conn, insert, upsert).await
}

async fn write_rows(
    conn: &mut PgConnection,
    sql: &'static str,
    (tenant, rows): (&str, &[RecordingRow]),
    raw: &RawJson,
    picked: &[usize],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(sql)
        .bind(tenant)
        .bind(column!(rows, picked, file_id))
        .bind(column!(rows, picked, conf_id))
        .bind(column!(rows, picked, title))
        .bind(column!(rows, picked, created_at))
        .bind(column!(rows, picked, duration_seconds))
        .bind(column!(rows, picked, size_bytes))
        .bind(column!(rows, picked, vod_url))
        .bind(column!(rows, picked, download_url))
        .bind(raw.hashes_at(picked))
        .bind(raw.texts_at(picked))
        .bind(now)
        .bind(column!(rows, picked, raw_original))
        .execute(&mut *conn)
        .await
        .during("writing recordings and archiving their URLs")?;
    Ok(())
}

/// Every distinct URL pair is kept forever; a pair seen again only moves
/// its `last_seen_at` (at most once a day, like the other tables).
async fn archive_urls(
    conn: &mut PgConnection,
    tenant: &str,
    rows: &[RecordingRow],
    picked: &[usize],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let file_id: Vec<&str> = picked.iter().map(|&i| rows[i].file_id.as_str()).collect();
    let download: Vec<&str> = picked
        .iter()
        .map(|&i| rows[i].download_url.as_deref().unwrap_or(""))
        .collect();
    let vod: Vec<&str> = picked
        .iter()
        .map(|&i| rows[i].vod_url.as_deref().unwrap_or(""))
        .collect();
    sqlx::query(
        "insert into cloudroom.recording_urls as u (tenant, file_id, download_url, vod_url, first_seen_at, last_seen_at)
         select $1, f, d, v, $5, $5 from unnest($2::text[], $3::text[], $4::text[]) as t(f, d, v)
         on conflict (tenant, file_id, download_url, vod_url) do update set last_seen_at = excluded.last_seen_at
         where u.last_seen_at < excluded.last_seen_at - interval '1 day'",
    )
    .bind(tenant)
    .bind(file_id)
    .bind(download)
    .bind(vod)
    .bind(now)
    .execute(&mut *conn)
    .await
    .during("archiving recording URLs")?;
    Ok(())
}

async fn mark_deleted(
    conn: &mut PgConnection,
    tenant: &str,
    file_ids: &[&str],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    if file_ids.is_empty() {
        return Ok(0);
    }
    let done = sqlx::query(
        "update cloudroom.recordings set deleted_at = $3
          where tenant = $1 and file_id = any($2) and deleted_at is null",
    )
    .bind(tenant)
    .bind(file_ids)
    .bind(now)
    .execute(&mut *conn)
    .await
    .during("marking deleted recordings")?;
    Ok(done.rows_affected())
}

pub async fn enqueue(
    conn: &mut PgConnection,
    tenant: &str,
    conf_ids: &[i64],
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into confsync.recording_queue (tenant, conf_id)
         select $1, unnest($2::bigint[]) on conflict do nothing",
    )
    .bind(tenant)
    .bind(conf_ids)
    .execute(&mut *conn)
    .await
    .during("queueing conferences for recordings")?;
    Ok(())
}

pub async fn dequeue(
    conn: &mut PgConnection,
    tenant: &str,
    conf_ids: &[i64],
) -> Result<(), StoreError> {
    sqlx::query("delete from confsync.recording_queue where tenant = $1 and conf_id = any($2)")
        .bind(tenant)
        .bind(conf_ids)
        // Planned with the ids at hand (an unnamed statement): until the
        // queue is analyzed, which a first sync fills within the minute,
        // PostgreSQL looks the tenant's rows up and filters them for the
        // ids; a custom plan hashes the ids for that filter, a cached
        // generic one compares each row with every id.
        .persistent(false)
        .execute(&mut *conn)
        .await
        .during("removing conferences from the recordings queue")?;
    Ok(())
}

/// Whether the tenant holds any recording yet.
pub async fn any(conn: &mut PgConnection, tenant: &str) -> Result<bool, StoreError> {
    sqlx::query_scalar("select exists (select 1 from cloudroom.recordings where tenant = $1)")
        .bind(tenant)
        .fetch_one(&mut *conn)
        .await
        .during("asking whether the tenant has recordings")
}

pub async fn queued(conn: &mut PgConnection, tenant: &str) -> Result<Vec<i64>, StoreError> {
    sqlx::query_scalar(
        "select conf_id from confsync.recording_queue where tenant = $1 order by conf_id",
    )
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await
    .during("reading the recordings queue")
}
