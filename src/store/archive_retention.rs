//! What the archive's deletions from CloudRoom read: every recording that
//! could be deleted now or is held back, with what was archived of it and
//! what CloudRoom lists now. The rule that decides is the archive's
//! (`archive::retention`); this only reads.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{Context as _, StoreError};

/// One recording CloudRoom still lists and confsync has not deleted from
/// it: archived (of any age), or older than the retention cutoff.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RetentionRow {
    pub file_id: String,
    pub conf_id: i64,
    pub created_at: Option<DateTime<Utc>>,
    /// The API's `size` as last mirrored.
    pub listed_size: Option<i64>,
    /// The API's download URL as last mirrored, without its query string.
    pub listed_url: Option<String>,
    pub archived_at: Option<DateTime<Utc>>,
    pub location: Option<String>,
    pub bytes: Option<i64>,
    pub sha256: Option<String>,
    /// The size and URL (without query) the object was copied at.
    pub source_size: Option<i64>,
    pub source_url: Option<String>,
    pub last_error: Option<String>,
}

/// Oldest first, so that the cap takes the oldest recordings.
pub async fn rows(
    pool: &PgPool,
    tenant: &str,
    created_before: DateTime<Utc>,
) -> Result<Vec<RetentionRow>, StoreError> {
    sqlx::query_as(
        "select r.file_id, r.conf_id, r.created_at, r.size_bytes as listed_size,
                nullif(split_part(r.download_url, '?', 1), '') as listed_url,
                f.archived_at, f.location, f.bytes, f.sha256, f.source_size, f.source_url,
                f.last_error
           from cloudroom.recordings r
           left join cloudroom.recording_files f using (tenant, file_id)
          where r.tenant = $1 and r.deleted_at is null
            and f.deleted_from_cloudroom_at is null
            and (f.archived_at is not null or r.created_at < $2)
          order by r.created_at nulls last, r.file_id",
    )
    .bind(tenant)
    .bind(created_before)
    .fetch_all(pool)
    .await
    .during("reading the recordings that retention could delete")
}
