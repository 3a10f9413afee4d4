//! `confsync.sync_state`: checkpoints and watermarks, one JSON document per (tenant, job).

use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};

use super::{Context, StoreError};

pub async fn load<T: DeserializeOwned + Default>(
    pool: &PgPool,
    tenant: &str,
    job: &str,
) -> Result<T, StoreError> {
    let state: Option<serde_json::Value> =
        sqlx::query_scalar("select state from confsync.sync_state where tenant = $1 and job = $2")
            .bind(tenant)
            .bind(job)
            .fetch_optional(pool)
            .await
            .during("reading the checkpoint")?;
    // A checkpoint from an older layout is not worth failing a run over: start afresh.
    Ok(state
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// Saves inside the caller's transaction, so the checkpoint moves with the page it describes.
pub async fn save<'e, T: Serialize>(
    executor: impl PgExecutor<'e>,
    tenant: &str,
    job: &str,
    state: &T,
) -> Result<(), StoreError> {
    let value = serde_json::to_value(state).unwrap_or_default();
    sqlx::query(
        "insert into confsync.sync_state (tenant, job, state, updated_at) values ($1, $2, $3, now())
         on conflict (tenant, job) do update set state = excluded.state, updated_at = now()",
    )
    .bind(tenant)
    .bind(job)
    .bind(value)
    .execute(executor)
    .await
    .during("saving the checkpoint")?;
    Ok(())
}
