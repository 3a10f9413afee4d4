//! `confsync.tenants`: what the report views need to know of each tenant.

use sqlx::PgPool;

use super::{Context as _, StoreError};

/// Records `tenant`'s time zone (an IANA name `configuration` has checked);
/// a row that already says so is left alone.
pub async fn record_timezone(
    pool: &PgPool,
    tenant: &str,
    timezone: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into confsync.tenants (tenant, timezone) values ($1, $2)
         on conflict (tenant) do update set timezone = excluded.timezone, updated_at = now()
          where confsync.tenants.timezone is distinct from excluded.timezone",
    )
    .bind(tenant)
    .bind(timezone)
    .execute(pool)
    .await
    .during("recording the tenant's time zone")?;
    Ok(())
}
