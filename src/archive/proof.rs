//! The same-run proof a recording's DELETE needs: CloudRoom lists the file
//! now with the size and URL it was archived from, and the object, read
//! back whole just now, has the archived size and sha256.

use std::collections::HashMap;

use chrono::Utc;

use super::ArchiveContext;
use crate::cloudroom::models::ListQuery;
use crate::cloudroom::CloudRoomError;
use crate::store::archive_retention::RetentionRow;
use crate::store::recording_files as store;

/// Records per page of a listing (the document's maximum).
const PAGE_SIZE: u32 = 100;
/// Pages of one conference's recordings read at most.
const MAX_PAGES: u32 = 50;

/// One conference's recordings as CloudRoom lists them now: file id →
/// (size, download URL before its query).
type Listed = HashMap<String, (Option<u64>, Option<String>)>;

/// [`Listed`] per conference, read once per conference per run.
#[derive(Default)]
pub struct Listings(HashMap<i64, Listed>);

/// `Ok(Ok(()))`: proven; `Ok(Err(why))`: not proven, nothing deleted.
pub async fn prove(
    ctx: &ArchiveContext,
    listings: &mut Listings,
    row: &RetentionRow,
) -> anyhow::Result<Result<(), String>> {
    let listed = match listings.0.get(&row.conf_id) {
        Some(listed) => listed,
        None => match list_conference(ctx, row.conf_id).await {
            Ok(listed) => listings.0.entry(row.conf_id).or_insert(listed),
            Err(e @ CloudRoomError::Cancelled { .. }) => return Err(e.into()),
            Err(e) => {
                let why = crate::causes::Chain(&e).to_string();
                return Ok(Err(format!(
                    "cannot list the conference's recordings again: {why}"
                )));
            }
        },
    };
    let archived = row.bytes.and_then(|b| u64::try_from(b).ok());
    match listed.get(&row.file_id) {
        None => return Ok(Err("CloudRoom no longer lists it".into())),
        Some((size, _)) if *size != archived || archived.unwrap_or(0) == 0 => {
            return Ok(Err(format!(
                "CloudRoom lists it with {size:?} bytes now, {archived:?} were archived; archived again after the next mirror"
            )))
        }
        Some((_, url)) if *url != row.source_url => {
            return Ok(Err("CloudRoom lists another download URL now".into()))
        }
        Some(_) => {}
    }
    read_back_now(ctx, row).await
}

/// Reads the object whole; a mismatch is recorded (and makes the file due
/// again), a match marks it verified now.
async fn read_back_now(
    ctx: &ArchiveContext,
    row: &RetentionRow,
) -> anyhow::Result<Result<(), String>> {
    let (Some(location), Some(bytes), Some(sha256)) = (&row.location, row.bytes, &row.sha256)
    else {
        return Ok(Err("no archived object is recorded".into()));
    };
    let result = match ctx.location.key_of(location) {
        Some(key) => super::read_back(&ctx.location, &key, bytes as u64, sha256).await,
        None => Err(format!("{location} is not under archive.location")),
    };
    match result {
        Ok(()) => {
            store::mark_verified(&ctx.pool, &ctx.tenant, &row.file_id, Utc::now()).await?;
            Ok(Ok(()))
        }
        Err(problem) => {
            let why = format!("{problem}; not deleted from CloudRoom, archived again next run");
            store::mark_drift(&ctx.pool, &ctx.tenant, &row.file_id, &why).await?;
            Ok(Err(why))
        }
    }
}

/// Every recording of one conference, as CloudRoom lists it now.
async fn list_conference(ctx: &ArchiveContext, conf_id: i64) -> Result<Listed, CloudRoomError> {
    let mut listed = HashMap::new();
    for page_no in 1..=MAX_PAGES {
        let page = ctx
            .cloudroom
            .list_videos(conf_id, &ListQuery::page(page_no, PAGE_SIZE))
            .await?;
        let count = page.records.len();
        for record in page.records {
            if let Some(file_id) = record.file_id {
                let url = record
                    .url
                    .as_deref()
                    .map(|u| crate::transport::before_query(u).to_string());
                listed.insert(file_id, (record.size, url));
            }
        }
        let seen = u64::from(page_no) * u64::from(PAGE_SIZE);
        if count < PAGE_SIZE as usize || seen >= page.total {
            break;
        }
    }
    Ok(listed)
}
