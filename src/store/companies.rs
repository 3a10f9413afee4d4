//! `confsync.companies`: the companies `confsync companies apply` created
//! or renamed. CloudRoom cannot be asked for a company, so this is the
//! actual state a plan compares the tenants' `[company]` sections with.

use serde::Serialize;
use sqlx::PgPool;

use super::{Context, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CompanyRow {
    pub comp_guid: String,
    pub tenant: String,
    pub comp_name: String,
    pub admin: String,
    pub admin_name: String,
    /// Only a company confsync created may ever be deleted by it.
    pub created_by_confsync: bool,
}

pub async fn all(pool: &PgPool) -> Result<Vec<CompanyRow>, StoreError> {
    sqlx::query_as(
        "select comp_guid, tenant, comp_name, admin, admin_name, created_by_confsync
           from confsync.companies order by comp_guid",
    )
    .fetch_all(pool)
    .await
    .during("reading confsync.companies")
}

/// Records a company CloudRoom has just created (or renamed, on conflict).
pub async fn upsert(pool: &PgPool, row: &CompanyRow) -> Result<(), StoreError> {
    sqlx::query(
        "insert into confsync.companies
                (comp_guid, tenant, comp_name, admin, admin_name, created_by_confsync)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (comp_guid) do update
            set tenant = excluded.tenant, comp_name = excluded.comp_name, updated_at = now()",
    )
    .bind(&row.comp_guid)
    .bind(&row.tenant)
    .bind(&row.comp_name)
    .bind(&row.admin)
    .bind(&row.admin_name)
    .bind(row.created_by_confsync)
    .execute(pool)
    .await
    .during("recording a company in confsync.companies")?;
    Ok(())
}

pub async fn remove(pool: &PgPool, comp_guid: &str) -> Result<(), StoreError> {
    sqlx::query("delete from confsync.companies where comp_guid = $1")
        .bind(comp_guid)
        .execute(pool)
        .await
        .during("removing a deleted company from confsync.companies")?;
    Ok(())
}
