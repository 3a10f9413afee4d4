//! `directory.uncertain_departments`: department creates whose answer was
//! lost. CloudRoom cannot list departments, so confsync cannot find out by
//! itself whether such a create took effect; it sends no second POST until
//! a person settles it.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::{Context, StoreError};

/// One department create that may or may not have taken effect.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UncertainDepartment {
    pub key: String,
    pub name: String,
    pub parent_key: Option<String>,
    pub path: String,
    pub request_id: Option<String>,
    pub at: DateTime<Utc>,
}

pub async fn list(pool: &PgPool, tenant: &str) -> Result<Vec<UncertainDepartment>, StoreError> {
    sqlx::query_as(
        "select key, name, parent_key, path, request_id, at
           from directory.uncertain_departments where tenant = $1 order by path",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .during("reading directory.uncertain_departments")
}

pub async fn record(
    conn: &mut PgConnection,
    tenant: &str,
    run_id: Option<i64>,
    rows: &[UncertainDepartment],
) -> Result<(), StoreError> {
    for row in rows {
        sqlx::query(
            "insert into directory.uncertain_departments
                    (tenant, key, name, parent_key, path, request_id, run_id, at)
             values ($1, $2, $3, $4, $5, $6, $7, $8)
             on conflict (tenant, key) do update set request_id = excluded.request_id,
                    run_id = excluded.run_id, at = excluded.at",
        )
        .bind(tenant)
        .bind(&row.key)
        .bind(&row.name)
        .bind(&row.parent_key)
        .bind(&row.path)
        .bind(&row.request_id)
        .bind(run_id)
        .bind(row.at)
        .execute(&mut *conn)
        .await
        .during("recording an uncertain department create")?;
    }
    Ok(())
}

/// Removes the uncertainty of `key`; false when there was none.
pub async fn settle(conn: &mut PgConnection, tenant: &str, key: &str) -> Result<bool, StoreError> {
    let done =
        sqlx::query("delete from directory.uncertain_departments where tenant = $1 and key = $2")
            .bind(tenant)
            .bind(key)
            .execute(&mut *conn)
            .await
            .during("settling an uncertain department create")?;
    Ok(done.rows_affected() > 0)
}
