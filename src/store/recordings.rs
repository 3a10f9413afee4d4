//! `cloudroom.recordings`, the URL archive `cloudroom.recording_urls`, and the
//! queue of conferences whose recordings must be read.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::{content_hash, fates, pick, tally, Context, Existing, RowCounts, RowFate, StoreError};

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
}

/// Writes the recordings of one conference. When `complete` (every page of
/// the conference was read), recordings it no longer lists get `deleted_at`;
/// the counts include those as updated.
pub async fn upsert_conference(
    conn: &mut PgConnection,
    tenant: &str,
    conf_id: i64,
    rows: &[RecordingRow],
    complete: bool,
    now: DateTime<Utc>,
) -> Result<RowCounts, StoreError> {
    let ids: Vec<String> = rows.iter().map(|r| r.file_id.clone()).collect();
    let existing = existing(conn, tenant, &ids).await?;
    let hashes: Vec<Vec<u8>> = rows.iter().map(|r| content_hash(&r.raw)).collect();
    let fates = fates(ids.iter().cloned(), &hashes, &existing, now);
    let write = pick(&fates, &[RowFate::Insert, RowFate::Update]);
    if !write.is_empty() {
        write_rows(conn, tenant, rows, &hashes, &write, now).await?;
    }
    let seen = pick(
        &fates,
        &[RowFate::Insert, RowFate::Update, RowFate::TouchSeen],
    );
    if !seen.is_empty() {
        archive_urls(conn, tenant, rows, &seen, now).await?;
    }
    let touch: Vec<&str> = pick(&fates, &[RowFate::TouchSeen])
        .into_iter()
        .map(|i| ids[i].as_str())
        .collect();
    if !touch.is_empty() {
        sqlx::query("update cloudroom.recordings set last_seen_at = $3 where tenant = $1 and file_id = any($2)")
            .bind(tenant)
            .bind(&touch)
            .bind(now)
            .execute(&mut *conn)
            .await
            .during("refreshing last_seen_at of recordings")?;
    }
    let mut counts = tally(&fates);
    if complete {
        counts.updated += mark_deleted(conn, tenant, conf_id, &ids, now).await?;
    }
    Ok(counts)
}

async fn existing(
    conn: &mut PgConnection,
    tenant: &str,
    ids: &[String],
) -> Result<HashMap<String, Existing>, StoreError> {
    let rows: Vec<(String, Vec<u8>, bool, DateTime<Utc>)> = sqlx::query_as(
        "select file_id, content_hash, deleted_at is not null, last_seen_at
           from cloudroom.recordings where tenant = $1 and file_id = any($2)",
    )
    .bind(tenant)
    .bind(ids)
    .fetch_all(&mut *conn)
    .await
    .during("reading existing recordings")?;
    Ok(rows
        .into_iter()
        .map(|(k, h, t, s)| (k, (h, t, s)))
        .collect())
}

async fn write_rows(
    conn: &mut PgConnection,
    tenant: &str,
    rows: &[RecordingRow],
    hashes: &[Vec<u8>],
    picked: &[usize],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    macro_rules! col {
        ($field:ident) => {
            picked
                .iter()
                .map(|&i| rows[i].$field.clone())
                .collect::<Vec<_>>()
        };
    }
    let hash: Vec<&[u8]> = picked.iter().map(|&i| hashes[i].as_slice()).collect();
    sqlx::query(
        "insert into cloudroom.recordings
            (tenant, file_id, conf_id, title, created_at, duration_seconds, size_bytes,
             vod_url, download_url, content_hash, raw, first_seen_at, last_seen_at)
         select $1, *, $12, $12 from unnest($2::text[], $3::bigint[], $4::text[], $5::timestamptz[],
             $6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::bytea[], $11::jsonb[])
         on conflict (tenant, file_id) do update set
             conf_id = excluded.conf_id, title = excluded.title, created_at = excluded.created_at,
             duration_seconds = excluded.duration_seconds, size_bytes = excluded.size_bytes,
             vod_url = excluded.vod_url, download_url = excluded.download_url,
             content_hash = excluded.content_hash, raw = excluded.raw,
             last_seen_at = excluded.last_seen_at, deleted_at = null",
    )
    .bind(tenant)
    .bind(col!(file_id))
    .bind(col!(conf_id))
    .bind(col!(title))
    .bind(col!(created_at))
    .bind(col!(duration_seconds))
    .bind(col!(size_bytes))
    .bind(col!(vod_url))
    .bind(col!(download_url))
    .bind(hash)
    .bind(col!(raw))
    .bind(now)
    .execute(&mut *conn)
    .await
    .during("writing recordings")?;
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
    conf_id: i64,
    seen: &[String],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "update cloudroom.recordings set deleted_at = $4
          where tenant = $1 and conf_id = $2 and deleted_at is null and not (file_id = any($3))",
    )
    .bind(tenant)
    .bind(conf_id)
    .bind(seen)
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
    conf_id: i64,
) -> Result<(), StoreError> {
    sqlx::query("delete from confsync.recording_queue where tenant = $1 and conf_id = $2")
        .bind(tenant)
        .bind(conf_id)
        .execute(&mut *conn)
        .await
        .during("removing a conference from the recordings queue")?;
    Ok(())
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
