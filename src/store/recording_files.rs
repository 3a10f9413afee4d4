//! `cloudroom.recording_files` (the archive) and `confsync.archive_deletions`
//! (the audit of deletions from CloudRoom).

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{Context as _, StoreError};

/// A recording whose file is to be archived.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueFile {
    pub file_id: String,
    pub conf_id: i64,
    pub download_url: String,
    /// The API's `size`, which the archived object must match.
    pub size_bytes: Option<i64>,
    pub attempts: i32,
}

/// Recordings CloudRoom still lists, with a download URL, not archived yet
/// and with attempts left.
pub async fn due(
    pool: &PgPool,
    tenant: &str,
    max_attempts: u32,
) -> Result<Vec<DueFile>, StoreError> {
    sqlx::query_as(
        "select r.file_id, r.conf_id, r.download_url, r.size_bytes, coalesce(f.attempts, 0) as attempts
           from cloudroom.recordings r
           left join cloudroom.recording_files f using (tenant, file_id)
          where r.tenant = $1 and r.deleted_at is null
            and coalesce(r.download_url, '') <> ''
            and f.archived_at is null and coalesce(f.attempts, 0) < $2
          order by r.created_at nulls last, r.file_id",
    )
    .bind(tenant)
    .bind(i32::try_from(max_attempts).unwrap_or(i32::MAX))
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
}

pub async fn record_archived(
    pool: &PgPool,
    tenant: &str,
    file: &DueFile,
    archived: &Archived,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into cloudroom.recording_files
            (tenant, file_id, conf_id, location, bytes, sha256, content_type, archived_at,
             verified_at, attempts, last_attempt_at, last_error)
         values ($1, $2, $3, $4, $5, $6, $7, $8, case when $9 then $8 end, 1, $8, null)
         on conflict (tenant, file_id) do update set
            location = excluded.location, bytes = excluded.bytes, sha256 = excluded.sha256,
            content_type = excluded.content_type, archived_at = excluded.archived_at,
            verified_at = excluded.verified_at,
            attempts = cloudroom.recording_files.attempts + 1,
            last_attempt_at = excluded.last_attempt_at, last_error = null",
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
    .execute(pool)
    .await
    .during("recording an archived file")?;
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
    .bind(error)
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
    .bind(problem)
    .execute(pool)
    .await
    .during("recording archive drift")?;
    Ok(())
}

/// Recordings safe to delete from CloudRoom: archived, verified after the
/// archive, created before `created_before`, not deleted yet; oldest first.
pub async fn deletable(
    pool: &PgPool,
    tenant: &str,
    created_before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ArchivedFile>, StoreError> {
    sqlx::query_as(
        "select f.file_id, f.conf_id, f.location, f.bytes, f.sha256
           from cloudroom.recording_files f
           join cloudroom.recordings r using (tenant, file_id)
          where f.tenant = $1 and f.archived_at is not null and f.verified_at >= f.archived_at
            and f.deleted_from_cloudroom_at is null and r.created_at < $2
          order by r.created_at, f.file_id
          limit $3",
    )
    .bind(tenant)
    .bind(created_before)
    .bind(limit)
    .fetch_all(pool)
    .await
    .during("finding the recordings safe to delete from CloudRoom")
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
    .bind(outcome.1)
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
