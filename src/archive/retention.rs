//! Deletion from CloudRoom, opt-in (`archive.delete_from_cloudroom_after`).
//!
//! A DELETE video/{fileId} cannot be undone, so it is sent only with proof,
//! gathered in the same run just before it, that the archive holds the file
//! CloudRoom holds now:
//!
//! 1. from the store: the object was archived from the size and download
//!    URL the mirror lists now, its size is that size, greater than 0, no
//!    error has been recorded since, and the recording is older than the
//!    setting ([`judge`]);
//! 2. from CloudRoom: the conference's recordings, listed again, name the
//!    file with that same size and URL ([`super::proof`]);
//! 3. from the store of objects: the object, read back whole, has the
//!    archived size and sha256.
//!
//! At most `max_deletes_per_run` per run, each audited with its
//! X-CR-RequestId. 21030 (录像不存在, documented) counts as done.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ArchiveContext;
use crate::store::archive_retention::{self, RetentionRow};
use crate::store::recording_files as store;

/// Why a recording is not deleted from CloudRoom now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Hold {
    /// Not archived yet (or its last attempt failed).
    NotArchived { last_error: Option<String> },
    /// CloudRoom lists no size, so nothing can prove the copy whole.
    NoListedSize,
    /// 0 bytes listed or archived: nothing proves such a copy.
    Empty,
    /// The listed size is not the one archived: archived again first.
    SizeChanged { archived: i64, listed: i64 },
    /// The download URL is not the one archived from: archived again first.
    UrlChanged,
    /// The last read-back or re-archive failed.
    LastError { error: String },
    /// Created after the cutoff (or with no creation time).
    TooYoung,
    /// Deletable, but past `archive.max_deletes_per_run` this run.
    OverCap,
}

impl std::fmt::Display for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hold::NotArchived { last_error: None } => f.write_str("not archived yet"),
            Hold::NotArchived { last_error: Some(e) } => write!(f, "not archived; last error: {e}"),
            Hold::NoListedSize => f.write_str("CloudRoom lists no size for it"),
            Hold::Empty => f.write_str("empty (0 bytes): never deleted"),
            Hold::SizeChanged { archived, listed } => write!(
                f,
                "size changed: {archived} bytes archived, CloudRoom lists {listed}; archived again first"
            ),
            Hold::UrlChanged => {
                f.write_str("download URL changed since it was archived; archived again first")
            }
            Hold::LastError { error } => write!(f, "last error: {error}"),
            Hold::TooYoung => f.write_str("too young for archive.delete_from_cloudroom_after"),
            Hold::OverCap => f.write_str("over archive.max_deletes_per_run this run"),
        }
    }
}

/// A recording held back, for `archive plan`.
#[derive(Debug, Clone, Serialize)]
pub struct Held {
    pub file_id: String,
    #[serde(flatten)]
    pub hold: Hold,
}

/// What retention would do now.
#[derive(Debug, Default)]
pub struct Review {
    /// Within the cap, oldest first; each still needs the same-run proof.
    pub candidates: Vec<RetentionRow>,
    pub held: Vec<Held>,
}

/// The store's side of the rule; `None` when the row may be deleted.
pub fn judge(row: &RetentionRow, cutoff: DateTime<Utc>) -> Option<Hold> {
    let (Some(_), Some(bytes)) = (row.archived_at, row.bytes) else {
        return Some(Hold::NotArchived {
            last_error: row.last_error.clone(),
        });
    };
    let Some(listed) = row.listed_size else {
        return Some(Hold::NoListedSize);
    };
    if listed <= 0 || bytes <= 0 {
        return Some(Hold::Empty);
    }
    if row.source_size != Some(listed) || bytes != listed {
        return Some(Hold::SizeChanged {
            archived: bytes,
            listed,
        });
    }
    if row.source_url.is_none() || row.source_url != row.listed_url {
        return Some(Hold::UrlChanged);
    }
    if let Some(error) = &row.last_error {
        return Some(Hold::LastError {
            error: error.clone(),
        });
    }
    match row.created_at {
        Some(created) if created < cutoff => None,
        _ => Some(Hold::TooYoung),
    }
}

/// Every recording retention looks at, judged; empty without the setting.
pub async fn review(ctx: &ArchiveContext) -> anyhow::Result<Review> {
    let Some(after) = ctx.settings.delete_after() else {
        return Ok(Review::default());
    };
    // `validate` caps durations at 100 years, so this cannot overflow.
    let cutoff = Utc::now() - chrono::Duration::from_std(after)?;
    let rows = archive_retention::rows(&ctx.pool, &ctx.tenant, cutoff).await?;
    let mut review = Review::default();
    for row in rows {
        let hold = match judge(&row, cutoff) {
            None if review.candidates.len() >= ctx.settings.max_deletes_per_run => {
                Some(Hold::OverCap)
            }
            other => other,
        };
        match hold {
            None => review.candidates.push(row),
            Some(hold) => review.held.push(Held {
                file_id: row.file_id,
                hold,
            }),
        }
    }
    Ok(review)
}

/// Deletes the candidates that pass the same-run proof; returns how many
/// are gone from CloudRoom.
pub async fn delete_proven(ctx: &ArchiveContext) -> anyhow::Result<u64> {
    let review = review(ctx).await?;
    let mut listings = super::proof::Listings::default();
    let mut deleted = 0;
    for row in &review.candidates {
        if ctx.cancel.is_cancelled() {
            break;
        }
        match super::proof::prove(ctx, &mut listings, row).await? {
            Ok(()) => deleted += u64::from(delete_one(ctx, &row.file_id).await?),
            Err(why) => {
                tracing::warn!(file_id = %row.file_id, reason = %why, "not deleted from CloudRoom");
            }
        }
    }
    Ok(deleted)
}

/// One DELETE video/{fileId}, audited; true when the recording is gone.
async fn delete_one(ctx: &ArchiveContext, file_id: &str) -> anyhow::Result<bool> {
    let (result, ids) =
        crate::cloudroom::with_request_ids(ctx.cloudroom.delete_video(file_id)).await;
    let request_id = ids.last().map(String::as_str);
    let (code, message, gone) = match &result {
        Ok(()) => (0, "deleted".to_string(), true),
        Err(e) if e.code() == Some(21030) => (21030, "already gone".to_string(), true),
        Err(e) => (
            e.code().unwrap_or(-1),
            crate::causes::Chain(e).to_string(),
            false,
        ),
    };
    store::record_deletion(
        &ctx.pool,
        &ctx.tenant,
        file_id,
        request_id,
        (code, &message),
        gone,
    )
    .await?;
    if gone {
        tracing::info!(
            file_id,
            request_id,
            "recording deleted from CloudRoom after its archive was proven whole"
        );
    } else {
        tracing::warn!(file_id, request_id, error = %message, "cannot delete a recording from CloudRoom");
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archived(size: i64) -> RetentionRow {
        RetentionRow {
            file_id: "f".into(),
            conf_id: 1,
            created_at: Some(Utc::now() - chrono::Duration::days(40)),
            listed_size: Some(size),
            listed_url: Some("http://x/f.mp4".into()),
            archived_at: Some(Utc::now()),
            location: Some("file:///a/f.mp4".into()),
            bytes: Some(size),
            sha256: Some("00".into()),
            source_size: Some(size),
            source_url: Some("http://x/f.mp4".into()),
            last_error: None,
        }
    }

    #[test]
    fn only_an_unchanged_nonempty_old_archive_may_be_deleted() {
        let cutoff = Utc::now() - chrono::Duration::days(30);
        assert_eq!(judge(&archived(10), cutoff), None);
        assert_eq!(judge(&archived(0), cutoff), Some(Hold::Empty));
        let grown = RetentionRow {
            listed_size: Some(11),
            ..archived(10)
        };
        assert_eq!(
            judge(&grown, cutoff),
            Some(Hold::SizeChanged {
                archived: 10,
                listed: 11
            })
        );
        let moved = RetentionRow {
            listed_url: Some("http://y/f.mp4".into()),
            ..archived(10)
        };
        assert_eq!(judge(&moved, cutoff), Some(Hold::UrlChanged));
        let young = RetentionRow {
            created_at: Some(Utc::now()),
            ..archived(10)
        };
        assert_eq!(judge(&young, cutoff), Some(Hold::TooYoung));
        let unlisted = RetentionRow {
            listed_size: None,
            ..archived(10)
        };
        assert_eq!(judge(&unlisted, cutoff), Some(Hold::NoListedSize));
        let drifted = RetentionRow {
            last_error: Some("the object has 9 bytes".into()),
            ..archived(10)
        };
        assert!(matches!(
            judge(&drifted, cutoff),
            Some(Hold::LastError { .. })
        ));
    }
}
