//! `directory.*`: what the directory push sent to CloudRoom and Aliyun, the
//! audit of every mutation, and deletes held back for review.
//!
//! Every write takes a whole batch (UNNEST), never one statement per person.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use sqlx::{PgConnection, PgPool};

use super::{Context, StoreError};

/// A department confsync created, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredDepartment {
    pub key: String,
    pub cloudroom_id: i64,
    pub name: String,
    pub parent_key: Option<String>,
    pub path: String,
    pub content_hash: Vec<u8>,
}

/// What the plan needs of a stored person: hashes only, so that planning
/// 100,000 people does not load 100,000 JSON documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUser {
    pub employee_id: String,
    pub account: String,
    pub cloudroom_origin: Option<String>,
    pub cloudroom_hash: Option<Vec<u8>>,
    pub aliyun_hash: Option<Vec<u8>>,
    pub first_seen_inactive: Option<DateTime<Utc>>,
    /// The CloudRoom department (HR key) the person was last put in.
    pub cloudroom_department: Option<String>,
}

/// The fields each target received last, for showing `old -> new`.
#[derive(Debug, Clone, Default)]
pub struct StoredFields {
    pub cloudroom: Option<serde_json::Value>,
    pub aliyun: Option<serde_json::Value>,
}

/// A department as CloudRoom now has it, after a create or an update.
#[derive(Debug, Clone)]
pub struct DepartmentWrite {
    pub key: String,
    pub cloudroom_id: i64,
    pub name: String,
    pub parent_key: Option<String>,
    pub path: String,
    pub content_hash: Vec<u8>,
}

/// A person as one target now has them.
#[derive(Debug, Clone)]
pub struct UserWrite {
    pub employee_id: String,
    pub account: String,
    /// CloudRoom only: the record (employee id, account) this account was
    /// taken over from; cleared while it still names that account.
    pub taken_from: Option<(String, String)>,
    /// CloudRoom only: the account this person's record named until now,
    /// which the plan deletes as replaced (kept in `released_accounts`
    /// until that delete is done).
    pub releases: Option<String>,
    /// CloudRoom only: `created` or `adopted`.
    pub origin: Option<&'static str>,
    pub hash: Vec<u8>,
    pub fields: serde_json::Value,
}

pub use super::directory_audit::{record_changes, replace_staged, ChangeRecord, StagedDelete};

pub async fn departments(pool: &PgPool, tenant: &str) -> Result<Vec<StoredDepartment>, StoreError> {
    sqlx::query_as(
        "select key, cloudroom_id, name, parent_key, path, content_hash
           from directory.departments where tenant = $1",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .during("reading directory.departments")
}

type UserRow = (
    String,
    String,
    Option<String>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<DateTime<Utc>>,
    Option<String>,
);

pub async fn users(pool: &PgPool, tenant: &str) -> Result<Vec<StoredUser>, StoreError> {
    let rows: Vec<UserRow> = sqlx::query_as(
        "select employee_id, account, cloudroom_origin, cloudroom_hash, aliyun_hash, first_seen_inactive,
                cloudroom_fields->>'department'
           from directory.users where tenant = $1",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .during("reading directory.users")?;
    Ok(rows
        .into_iter()
        .map(
            |(
                employee_id,
                account,
                cloudroom_origin,
                cloudroom_hash,
                aliyun_hash,
                first_seen_inactive,
                cloudroom_department,
            )| StoredUser {
                employee_id,
                account,
                cloudroom_origin,
                cloudroom_hash,
                aliyun_hash,
                first_seen_inactive,
                cloudroom_department,
            },
        )
        .collect())
}

/// The last pushed fields of these people (those the plan changes).
pub async fn user_fields(
    pool: &PgPool,
    tenant: &str,
    employee_ids: &[&str],
) -> Result<HashMap<String, StoredFields>, StoreError> {
    if employee_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, Option<serde_json::Value>, Option<serde_json::Value>)> = sqlx::query_as(
        "select employee_id, cloudroom_fields, aliyun_fields
               from directory.users where tenant = $1 and employee_id = any($2)",
    )
    .bind(tenant)
    .bind(employee_ids)
    .fetch_all(pool)
    .await
    .during("reading the pushed fields of changed people")?;
    Ok(rows
        .into_iter()
        .map(|(id, cloudroom, aliyun)| (id, StoredFields { cloudroom, aliyun }))
        .collect())
}

pub async fn save_departments(
    conn: &mut PgConnection,
    tenant: &str,
    rows: &[DepartmentWrite],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let key: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    let id: Vec<i64> = rows.iter().map(|r| r.cloudroom_id).collect();
    let name: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    let parent: Vec<Option<&str>> = rows.iter().map(|r| r.parent_key.as_deref()).collect();
    let path: Vec<&str> = rows.iter().map(|r| r.path.as_str()).collect();
    let hash: Vec<&[u8]> = rows.iter().map(|r| r.content_hash.as_slice()).collect();
    sqlx::query(
        "insert into directory.departments (tenant, key, cloudroom_id, name, parent_key, path, content_hash, pushed_at)
         select $1, *, $8 from unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bytea[])
         on conflict (tenant, key) do update set
             cloudroom_id = excluded.cloudroom_id, name = excluded.name,
             parent_key = excluded.parent_key, path = excluded.path,
             content_hash = excluded.content_hash, pushed_at = excluded.pushed_at",
    )
    .bind(tenant)
    .bind(key)
    .bind(id)
    .bind(name)
    .bind(parent)
    .bind(path)
    .bind(hash)
    .bind(now)
    .execute(&mut *conn)
    .await
    .during("writing directory.departments")?;
    Ok(())
}

pub async fn forget_departments(
    conn: &mut PgConnection,
    tenant: &str,
    keys: &[&str],
) -> Result<(), StoreError> {
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query("delete from directory.departments where tenant = $1 and key = any($2)")
        .bind(tenant)
        .bind(keys)
        .execute(&mut *conn)
        .await
        .during("removing deleted departments")?;
    Ok(())
}

pub async fn save_cloudroom_users(
    conn: &mut PgConnection,
    tenant: &str,
    rows: &[UserWrite],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let left: Vec<(&str, &str)> = rows
        .iter()
        .filter_map(|r| Some((r.employee_id.as_str(), r.releases.as_deref()?)))
        .collect();
    super::directory_released::record(conn, tenant, &left, now).await?;
    let taken: Vec<(String, String)> = rows.iter().filter_map(|r| r.taken_from.clone()).collect();
    remove_cloudroom_accounts(conn, tenant, &taken).await?;
    let held: Vec<&str> = rows.iter().map(|r| r.account.as_str()).collect();
    super::directory_released::clear(conn, tenant, &held).await?;
    let (id, account, origin, hash, fields) = user_columns(rows);
    sqlx::query(
        "insert into directory.users (tenant, employee_id, account, cloudroom_origin, cloudroom_hash, cloudroom_fields, cloudroom_pushed_at)
         select $1, *, $7 from unnest($2::text[], $3::text[], $4::text[], $5::bytea[], $6::jsonb[])
         on conflict (tenant, employee_id) do update set
             account = excluded.account,
             cloudroom_origin = coalesce(excluded.cloudroom_origin, directory.users.cloudroom_origin),
             cloudroom_hash = excluded.cloudroom_hash, cloudroom_fields = excluded.cloudroom_fields,
             cloudroom_pushed_at = excluded.cloudroom_pushed_at",
    )
    .bind(tenant)
    .bind(id)
    .bind(account)
    .bind(origin)
    .bind(hash)
    .bind(fields)
    .bind(now)
    .execute(&mut *conn)
    .await
    .during("recording CloudRoom users")?;
    Ok(())
}

pub async fn save_aliyun_users(
    conn: &mut PgConnection,
    tenant: &str,
    rows: &[UserWrite],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let (id, account, _, hash, fields) = user_columns(rows);
    sqlx::query(
        "insert into directory.users (tenant, employee_id, account, aliyun_hash, aliyun_fields, aliyun_pushed_at)
         select $1, *, $6 from unnest($2::text[], $3::text[], $4::bytea[], $5::jsonb[])
         on conflict (tenant, employee_id) do update set
             aliyun_hash = excluded.aliyun_hash, aliyun_fields = excluded.aliyun_fields,
             aliyun_pushed_at = excluded.aliyun_pushed_at",
    )
    .bind(tenant)
    .bind(id)
    .bind(account)
    .bind(hash)
    .bind(fields)
    .bind(now)
    .execute(&mut *conn)
    .await
    .during("recording Aliyun users")?;
    Ok(())
}

type UserColumns<'a> = (
    Vec<&'a str>,
    Vec<&'a str>,
    Vec<Option<&'static str>>,
    Vec<&'a [u8]>,
    Vec<&'a serde_json::Value>,
);

fn user_columns(rows: &[UserWrite]) -> UserColumns<'_> {
    (
        rows.iter().map(|r| r.employee_id.as_str()).collect(),
        rows.iter().map(|r| r.account.as_str()).collect(),
        rows.iter().map(|r| r.origin).collect(),
        rows.iter().map(|r| r.hash.as_slice()).collect(),
        rows.iter().map(|r| &r.fields).collect(),
    )
}

/// Records that these CloudRoom accounts are gone from these records
/// (employee id, account): a record is cleared only while it still names
/// that account, so a record that has since taken another account (a swap
/// saved in an earlier batch) keeps it. A person in no target any more is
/// forgotten.
pub async fn remove_cloudroom_accounts(
    conn: &mut PgConnection,
    tenant: &str,
    records: &[(String, String)],
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = records.iter().map(|(id, _)| id.as_str()).collect();
    let accounts: Vec<&str> = records.iter().map(|(_, a)| a.as_str()).collect();
    sqlx::query(
        "update directory.users u
            set cloudroom_hash = null, cloudroom_fields = null, cloudroom_origin = null
           from unnest($2::text[], $3::text[]) as gone(employee_id, account)
          where u.tenant = $1 and u.employee_id = gone.employee_id and u.account = gone.account",
    )
    .bind(tenant)
    .bind(&ids)
    .bind(&accounts)
    .execute(&mut *conn)
    .await
    .during("recording deleted CloudRoom accounts")?;
    super::directory_released::clear(conn, tenant, &accounts).await?;
    forget_untargeted(conn, tenant, &ids).await
}

/// Records that these people are gone from Aliyun.
pub async fn remove_aliyun_users(
    conn: &mut PgConnection,
    tenant: &str,
    employee_ids: &[&str],
) -> Result<(), StoreError> {
    if employee_ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "update directory.users set aliyun_hash = null, aliyun_fields = null
          where tenant = $1 and employee_id = any($2)",
    )
    .bind(tenant)
    .bind(employee_ids)
    .execute(&mut *conn)
    .await
    .during("recording deleted Aliyun users")?;
    forget_untargeted(conn, tenant, employee_ids).await
}

/// Forgets the people of `employee_ids` that no target has any more.
async fn forget_untargeted(
    conn: &mut PgConnection,
    tenant: &str,
    employee_ids: &[&str],
) -> Result<(), StoreError> {
    sqlx::query(
        "delete from directory.users
          where tenant = $1 and employee_id = any($2) and cloudroom_hash is null and aliyun_hash is null",
    )
    .bind(tenant)
    .bind(employee_ids)
    .execute(&mut *conn)
    .await
    .during("forgetting users gone from every target")?;
    Ok(())
}

/// Starts the grace period of people newly seen as leavers and stops it for
/// people who are active again.
pub async fn mark_leavers(
    conn: &mut PgConnection,
    tenant: &str,
    leavers: &[&str],
    returned: &[&str],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if !leavers.is_empty() {
        sqlx::query(
            "update directory.users set first_seen_inactive = $3
              where tenant = $1 and employee_id = any($2) and first_seen_inactive is null",
        )
        .bind(tenant)
        .bind(leavers)
        .bind(now)
        .execute(&mut *conn)
        .await
        .during("starting the grace period of leavers")?;
    }
    if !returned.is_empty() {
        sqlx::query(
            "update directory.users set first_seen_inactive = null
              where tenant = $1 and employee_id = any($2) and first_seen_inactive is not null",
        )
        .bind(tenant)
        .bind(returned)
        .execute(&mut *conn)
        .await
        .during("ending the grace period of returning people")?;
    }
    Ok(())
}

/// Runs an HR query (`directory.source = "postgres:..."`) and returns each
/// row as a JSON object, whatever the column types.
pub async fn source_rows(pool: &PgPool, query: &str) -> Result<Vec<serde_json::Value>, StoreError> {
    let sql = format!("select to_jsonb(hr) from ({query}) as hr");
    // The operator's own query, from the configuration.
    sqlx::query_scalar::<_, serde_json::Value>(sqlx::AssertSqlSafe(sql))
        .fetch(pool)
        .try_collect()
        .await
        .during("running the directory.source query")
}

/// A random sample of the people pushed to Aliyun, with what they were sent.
pub async fn aliyun_sample(
    pool: &PgPool,
    tenant: &str,
    size: usize,
) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
    sqlx::query_as(
        "select employee_id, aliyun_fields from directory.users
          where tenant = $1 and aliyun_hash is not null and aliyun_fields is not null
          order by random() limit $2",
    )
    .bind(tenant)
    .bind(i64::try_from(size).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await
    .during("sampling users for verify")
}

/// Forgets everything pushed for a tenant (the demo, whose simulator
/// starts empty on every run). The audit trail stays.
pub async fn forget_tenant(pool: &PgPool, tenant: &str) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.during("starting a transaction")?;
    for sql in [
        "delete from directory.users where tenant = $1",
        "delete from directory.departments where tenant = $1",
        "delete from directory.staged_deletes where tenant = $1",
        "delete from directory.released_accounts where tenant = $1",
        "delete from directory.uncertain_departments where tenant = $1",
    ] {
        sqlx::query(sql)
            .bind(tenant)
            .execute(&mut *tx)
            .await
            .during("forgetting a tenant's directory")?;
    }
    tx.commit()
        .await
        .during("forgetting a tenant's directory")?;
    Ok(())
}
