//! `directory.released_accounts`: CloudRoom accounts their holder left for
//! another account. The person's record names the new account once it is
//! pushed, so without this table a failed DELETE of the old one would leave
//! it in CloudRoom, able to sign in, with nothing to retry it.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::{Context, StoreError};

/// An account whose holder moved to another one, not deleted yet.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReleasedAccount {
    pub account: String,
    pub employee_id: String,
    /// The CloudRoom fields last sent for it.
    pub fields: Option<serde_json::Value>,
    pub released_at: DateTime<Utc>,
}

pub async fn list(pool: &PgPool, tenant: &str) -> Result<Vec<ReleasedAccount>, StoreError> {
    sqlx::query_as(
        "select account, employee_id, fields, released_at
           from directory.released_accounts where tenant = $1 order by account",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .during("reading directory.released_accounts")
}

/// Records, before their records are overwritten, the accounts these
/// people (employee id, account) leave, with the fields last sent for them.
pub(super) async fn record(
    conn: &mut PgConnection,
    tenant: &str,
    left: &[(&str, &str)],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if left.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = left.iter().map(|(id, _)| *id).collect();
    let accounts: Vec<&str> = left.iter().map(|(_, a)| *a).collect();
    sqlx::query(
        "insert into directory.released_accounts (tenant, account, employee_id, fields, released_at)
         select u.tenant, u.account, u.employee_id, u.cloudroom_fields, $4
           from directory.users u
           join unnest($2::text[], $3::text[]) as left_(employee_id, account)
             on u.employee_id = left_.employee_id and u.account = left_.account
          where u.tenant = $1 and u.cloudroom_hash is not null
         on conflict (tenant, account) do update set employee_id = excluded.employee_id,
                fields = excluded.fields, released_at = excluded.released_at",
    )
    .bind(tenant)
    .bind(&ids)
    .bind(&accounts)
    .bind(now)
    .execute(&mut *conn)
    .await
    .during("recording released CloudRoom accounts")?;
    Ok(())
}

/// These accounts are deleted, proven gone, or held by a record again.
pub(super) async fn clear(
    conn: &mut PgConnection,
    tenant: &str,
    accounts: &[&str],
) -> Result<(), StoreError> {
    if accounts.is_empty() {
        return Ok(());
    }
    sqlx::query("delete from directory.released_accounts where tenant = $1 and account = any($2)")
        .bind(tenant)
        .bind(accounts)
        .execute(&mut *conn)
        .await
        .during("clearing released CloudRoom accounts")?;
    Ok(())
}
