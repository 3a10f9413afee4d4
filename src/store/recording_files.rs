//! `cloudroom.recording_files` (the archive) and `confsync.archive_deletions`
//! (the audit of deletions from CloudRoom).

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{Context as _, StoreError};

/// A recording whose file is to be archived: never archived, or changed
/// at CloudRoom since (another listed size or download URL), or its object
/// no longer matched when read back.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueFile {
    pub file_id: String,
    pub conf_id: i64,
    pub download_url: String,
    /// The API's `size`, which the archived object must match.
    pub size_bytes: Option<i64>,
    pub attempts: i32,
    /// The version of the object archived so far (0: none); the copy
    /// becomes the next one.
    pub version: i32,
}

/// Whether a file is due: shared by [`due`] and the deletion candidates,
/// which must never include a file that is due.
const CHANGED_SINCE_ARCHIVED: &str = "(f.archived_at is null
     or f.source_size is distinct from r.size_bytes
     or f.source_url is distinct from split_part(r.download_url, '?', 1)
     or f.last_error is not null)";

/// Recordings CloudRoom still lists, with a download URL, not deleted from
/// it by confsync, due, and with attempts left (any, with `retry_failed`).
pub async fn due(
    pool: &PgPool,
    tenant: &str,
    max_attempts: u32,
    retry_failed: bool,
) -> Result<Vec<DueFile>, StoreError> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select r.file_id, r.conf_id, r.download_url, r.size_bytes,
                coalesce(f.attempts, 0) as attempts, coalesce(f.version, 0) as version
           from cloudroom.recordings r
           left join cloudroom.recording_files f using (tenant, file_id)
          where r.tenant = $1 and r.deleted_at is null
            and coalesce(r.download_url, '') <> ''
            and f.deleted_from_cloudroom_at is null
            and {CHANGED_SINCE_ARCHIVED}
            and ($3 or coalesce(f.attempts, 0) < $2)
          order by r.created_at nulls last, r.file_id"
    )))
    .bind(tenant)
    .bind(i32::try_from(max_attempts).unwrap_or(i32::MAX))
    .bind(retry_failed)
    .fetch_all(pool)
    .await
    .during("finding the recordings to archive")
}

/// The object of an archived file.
#[derive(Debug, Clone)]
pub struct Archived {
    pub location: String,
    pub bytes: i64,
    pub sha256: String,
    pub content_type: Option<String>,
    /// Set when the object was read back whole right after the upload.
    pub verified: bool,
    /// The download URL it was copied from, without its query string.
    pub source_url: String,
}

/// Records the new object; the previous one, if any, is kept in
/// `cloudroom.recording_file_versions` (its object stays in the store).
/// `attempts` counts failures since the last success, so it starts over.
pub async fn record_archived(
    pool: &PgPool,
    tenant: &str,
    file: &DueFile,
    archived: &Archived,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.during("recording an archived file")?;
    sqlx::query(
        "insert into cloudroom.recording_file_versions
            (tenant, file_id, version, location, bytes, sha256, source_size, source_url, archived_at)
         select tenant, file_id, version, location, bytes, sha256, source_size, source_url, archived_at
           from cloudroom.recording_files
          where tenant = $1 and file_id = $2 and archived_at is not null and location <> $3
         on conflict do nothing",
    )
    .bind(tenant)
    .bind(&file.file_id)
    .bind(&archived.location)
    .execute(&mut *tx)
    .await
    .during("keeping the previous version of an archived file")?;
    sqlx::query(
        "insert into cloudroom.recording_files
            (tenant, file_id, conf_id, location, bytes, sha256, content_type, archived_at,
             verified_at, attempts, last_attempt_at, last_error, source_size, source_url, version)
         values ($1, $2, $3, $4, $5, $6, $7, $8, case when $9 then $8 end, 0, $8, null, $10, $11, $12)
         on conflict (tenant, file_id) do update set
            location = excluded.location, bytes = excluded.bytes, sha256 = excluded.sha256,
            content_type = excluded.content_type, archived_at = excluded.archived_at,
            verified_at = excluded.verified_at, attempts = 0,
            last_attempt_at = excluded.last_attempt_at, last_error = null,
            source_size = excluded.source_size, source_url = excluded.source_url,
            version = excluded.version",
    )
    .bind(tenant)
    .bind(&file.file_id)
    .bind(file.conf_id)
    .bind(&archived.location)
    .bind(archived.bytes)
    .bind(&archived.sha256)
    .bind(&archived.content_type)
    .bind(now)
    .bind(archived.verified)
    .bind(file.size_bytes)
    .bind(&archived.source_url)
    .bind(file.version + 1)
    .execute(&mut *tx)
    .await
    .during("recording an archived file")?;
    tx.commit().await.during("recording an archived file")?;
    Ok(())
}

pub async fn record_failure(
    pool: &PgPool,
    tenant: &str,
    file: &DueFile,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into cloudroom.recording_files (tenant, file_id, conf_id, attempts, last_attempt_at, last_error)
         values ($1, $2, $3, 1, $4, $5)
         on conflict (tenant, file_id) do update set
            attempts = cloudroom.recording_files.attempts + 1,
            last_attempt_at = excluded.last_attempt_at, last_error = excluded.last_error",
    )
    .bind(tenant)
    .bind(&file.file_id)
    .bind(file.conf_id)
    .bind(now)
    .bind(super::clean(error))
    .execute(pool)
    .await
    .during("recording a failed archive attempt")?;
    Ok(())
}

/// An archived file, for `archive verify` and the deletions.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ArchivedFile {
    pub file_id: String,
    pub conf_id: i64,
    pub location: String,
    pub bytes: i64,
    pub sha256: String,
}

/// Archived files, a sample of `limit` when given (the least recently
/// verified first).
pub async fn archived(
    pool: &PgPool,
    tenant: &str,
    limit: Option<i64>,
) -> Result<Vec<ArchivedFile>, StoreError> {
    sqlx::query_as(
        "select file_id, conf_id, location, bytes, sha256 from cloudroom.recording_files
          where tenant = $1 and archived_at is not null
          order by verified_at nulls first, file_id
          limit $2",
    )
    .bind(tenant)
    .bind(limit)
    .fetch_all(pool)
    .await
    .during("listing the archived files")
}

/// The object was read back whole and matched.
pub async fn mark_verified(
    pool: &PgPool,
    tenant: &str,
    file_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "update cloudroom.recording_files set verified_at = $3 where tenant = $1 and file_id = $2",
    )
    .bind(tenant)
    .bind(file_id)
    .bind(now)
    .execute(pool)
    .await
    .during("marking an archived file verified")?;
    Ok(())
}

/// The object no longer matches: not verified any more (and so never
/// deleted from CloudRoom), with why.
pub async fn mark_drift(
    pool: &PgPool,
    tenant: &str,
    file_id: &str,
    problem: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "update cloudroom.recording_files set verified_at = null, last_error = $3
          where tenant = $1 and file_id = $2",
    )
    .bind(tenant)
    .bind(file_id)
    .bind(super::clean(problem))
    .execute(pool)
    .await
    .during("recording archive drift")?;
    Ok(())
}

/// One DELETE video/{fileId}, audited; `deleted` also marks the file. The
/// commit waits for the WAL flush: the recording is gone from CloudRoom
/// already, and its audit must not be lost with a crash.
pub async fn record_deletion(
    pool: &PgPool,
    tenant: &str,
    file_id: &str,
    request_id: Option<&str>,
    outcome: (i64, &str),
    deleted: bool,
) -> Result<(), StoreError> {
    let mut tx = super::begin_durable(pool).await?;
    sqlx::query(
        "insert into confsync.archive_deletions (tenant, file_id, request_id, code, message)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(tenant)
    .bind(file_id)
    .bind(request_id)
    .bind(outcome.0)
    .bind(super::clean(outcome.1))
    .execute(&mut *tx)
    .await
    .during("auditing a deletion from CloudRoom")?;
    if deleted {
        sqlx::query(
            "update cloudroom.recording_files set deleted_from_cloudroom_at = now()
              where tenant = $1 and file_id = $2",
        )
        .bind(tenant)
        .bind(file_id)
        .execute(&mut *tx)
        .await
        .during("marking a recording deleted from CloudRoom")?;
    }
    tx.commit().await.during("committing a deletion's audit")?;
    Ok(())
}
