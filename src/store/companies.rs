//! `confsync.companies`: the companies `confsync companies apply` created
//! or renamed. CloudRoom cannot be asked for a company, so this is the
//! actual state a plan compares the tenants' `[company]` sections with.
//! `confsync.uncertain_companies`: creates whose answer was lost.

use chrono::{DateTime, Utc};
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

/// A company create that may or may not have taken effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct UncertainCompany {
    pub comp_guid: String,
    pub tenant: String,
    pub comp_name: String,
    pub admin: String,
    pub admin_name: String,
    pub request_id: Option<String>,
    pub at: DateTime<Utc>,
}

impl UncertainCompany {
    /// The company as it is recorded once it is proven: confsync sent its
    /// POST, so confsync created it.
    pub fn row(&self) -> CompanyRow {
        CompanyRow {
            comp_guid: self.comp_guid.clone(),
            tenant: self.tenant.clone(),
            comp_name: self.comp_name.clone(),
            admin: self.admin.clone(),
            admin_name: self.admin_name.clone(),
            created_by_confsync: true,
        }
    }
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

/// Records a company CloudRoom has just created (or renamed, on conflict);
/// a create that was uncertain is settled in the same transaction.
pub async fn upsert(pool: &PgPool, row: &CompanyRow) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.during("recording a company")?;
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
    .execute(&mut *tx)
    .await
    .during("recording a company in confsync.companies")?;
    sqlx::query("delete from confsync.uncertain_companies where comp_guid = $1")
        .bind(&row.comp_guid)
        .execute(&mut *tx)
        .await
        .during("settling an uncertain company create")?;
    tx.commit().await.during("recording a company")
}

pub async fn remove(pool: &PgPool, comp_guid: &str) -> Result<(), StoreError> {
    sqlx::query("delete from confsync.companies where comp_guid = $1")
        .bind(comp_guid)
        .execute(pool)
        .await
        .during("removing a deleted company from confsync.companies")?;
    Ok(())
}

pub async fn uncertain(pool: &PgPool) -> Result<Vec<UncertainCompany>, StoreError> {
    sqlx::query_as(
        "select comp_guid, tenant, comp_name, admin, admin_name, request_id, at
           from confsync.uncertain_companies order by comp_guid",
    )
    .fetch_all(pool)
    .await
    .during("reading confsync.uncertain_companies")
}

pub async fn record_uncertain(pool: &PgPool, row: &UncertainCompany) -> Result<(), StoreError> {
    sqlx::query(
        "insert into confsync.uncertain_companies
                (comp_guid, tenant, comp_name, admin, admin_name, request_id, at)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (comp_guid) do update set request_id = excluded.request_id, at = excluded.at",
    )
    .bind(&row.comp_guid)
    .bind(&row.tenant)
    .bind(&row.comp_name)
    .bind(&row.admin)
    .bind(&row.admin_name)
    .bind(&row.request_id)
    .bind(row.at)
    .execute(pool)
    .await
    .during("recording an uncertain company create")?;
    Ok(())
}

/// Removes the uncertainty of `comp_guid`; false when there was none.
pub async fn settle_absent(pool: &PgPool, comp_guid: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("delete from confsync.uncertain_companies where comp_guid = $1")
        .bind(comp_guid)
        .execute(pool)
        .await
        .during("settling an uncertain company create")?;
    Ok(done.rows_affected() > 0)
}
