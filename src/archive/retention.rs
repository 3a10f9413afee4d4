//! Deletion from CloudRoom, opt-in (`archive.delete_from_cloudroom_after`):
//! only recordings whose object was verified (size and sha256) after the
//! archive, older than the setting, at most `max_deletes_per_run` per run,
//! each audited with its X-CR-RequestId. 21030 (already gone) counts as done.

use chrono::Utc;
use object_store::ObjectStoreExt;

use super::ArchiveContext;
use crate::store::recording_files::{self as store, ArchivedFile};

/// The recordings a run would delete now; none without the setting.
pub async fn candidates(ctx: &ArchiveContext) -> anyhow::Result<Vec<ArchivedFile>> {
    let Some(after) = ctx.settings.delete_after() else {
        return Ok(Vec::new());
    };
    let before = Utc::now() - chrono::Duration::from_std(after)?;
    let limit = i64::try_from(ctx.settings.max_deletes_per_run).unwrap_or(i64::MAX);
    Ok(store::deletable(&ctx.pool, &ctx.tenant, before, limit).await?)
}

/// Deletes the candidates; returns how many are gone from CloudRoom.
pub async fn delete_verified(ctx: &ArchiveContext) -> anyhow::Result<u64> {
    let mut deleted = 0;
    for file in candidates(ctx).await? {
        if ctx.cancel.is_cancelled() {
            break;
        }
        // The object must still be there, whole, the moment before.
        let present = match ctx.location.key_of(&file.location) {
            Some(key) => ctx
                .location
                .store
                .head(&key)
                .await
                .is_ok_and(|m| m.size == file.bytes as u64),
            None => false,
        };
        if !present {
            store::mark_drift(
                &ctx.pool,
                &ctx.tenant,
                &file.file_id,
                "the object is missing or changed; not deleted from CloudRoom",
            )
            .await?;
            continue;
        }
        deleted += u64::from(delete_one(ctx, &file).await?);
    }
    Ok(deleted)
}

/// One DELETE video/{fileId}, audited; true when the recording is gone.
async fn delete_one(ctx: &ArchiveContext, file: &ArchivedFile) -> anyhow::Result<bool> {
    let (result, ids) =
        crate::cloudroom::with_request_ids(ctx.cloudroom.delete_video(&file.file_id)).await;
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
        &file.file_id,
        request_id,
        (code, &message),
        gone,
    )
    .await?;
    if gone {
        tracing::info!(file_id = %file.file_id, request_id, "recording deleted from CloudRoom after its archive was verified");
    } else {
        tracing::warn!(file_id = %file.file_id, request_id, error = %message, "cannot delete a recording from CloudRoom");
    }
    Ok(gone)
}
