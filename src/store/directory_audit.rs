//! `directory.changes` (one audit row per mutation confsync attempted) and
//! `directory.staged_deletes` (deletes held back by the mass-delete guard).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::{Context, StoreError};

/// One audit row of `directory.changes`.
#[derive(Debug, Clone)]
pub struct ChangeRecord {
    pub target: &'static str,
    pub action: &'static str,
    pub object: String,
    pub request_id: Option<String>,
    pub outcome: &'static str,
    pub vendor_code: Option<String>,
    pub message: Option<String>,
}

/// One delete held back by `directory.max_deletes`.
#[derive(Debug, Clone)]
pub struct StagedDelete {
    pub target: &'static str,
    pub kind: &'static str,
    pub object: String,
}

pub async fn record_changes(
    conn: &mut PgConnection,
    tenant: &str,
    run_id: Option<i64>,
    changes: &[ChangeRecord],
) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&ChangeRecord) -> Option<&str>| -> Vec<Option<&str>> {
        changes.iter().map(f).collect()
    };
    sqlx::query(
        "insert into directory.changes (tenant, run_id, target, action, object, request_id, outcome, vendor_code, message)
         select $1, $2, * from unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])",
    )
    .bind(tenant)
    .bind(run_id)
    .bind(col(|c| Some(c.target)))
    .bind(col(|c| Some(c.action)))
    .bind(col(|c| Some(c.object.as_str())))
    .bind(col(|c| c.request_id.as_deref()))
    .bind(col(|c| Some(c.outcome)))
    .bind(col(|c| c.vendor_code.as_deref()))
    .bind(
        changes
            .iter()
            .map(|c| c.message.as_deref().map(|m| super::clean(m).into_owned()))
            .collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await
    .during("recording directory changes")?;
    Ok(())
}

/// Replaces the staged deletes with this run's.
pub async fn replace_staged(
    conn: &mut PgConnection,
    tenant: &str,
    staged: &[StagedDelete],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("delete from directory.staged_deletes where tenant = $1")
        .bind(tenant)
        .execute(&mut *conn)
        .await
        .during("clearing staged deletes")?;
    if staged.is_empty() {
        return Ok(());
    }
    let target: Vec<&str> = staged.iter().map(|s| s.target).collect();
    let kind: Vec<&str> = staged.iter().map(|s| s.kind).collect();
    let object: Vec<&str> = staged.iter().map(|s| s.object.as_str()).collect();
    sqlx::query(
        "insert into directory.staged_deletes (tenant, target, kind, object, staged_at)
         select $1, t, k, o, $5 from unnest($2::text[], $3::text[], $4::text[]) as u(t, k, o)
         on conflict do nothing",
    )
    .bind(tenant)
    .bind(target)
    .bind(kind)
    .bind(object)
    .bind(now)
    .execute(&mut *conn)
    .await
    .during("staging deletes")?;
    Ok(())
}
