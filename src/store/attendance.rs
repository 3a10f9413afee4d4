//! `aliyun.meetings` and `aliyun.meeting_members`: the meetings whose
//! attendance is read, and every join read so far.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::{Context as _, StoreError};

/// Registers meetings not yet known; returns how many were new.
pub async fn register(
    pool: &PgPool,
    tenant: &str,
    uuids: &[String],
    source: &str,
) -> Result<u64, StoreError> {
    let added = sqlx::query(
        "insert into aliyun.meetings (tenant, meeting_uuid, source)
         select $1::text, uuid, $3::text from unnest($2::text[]) as uuid
         on conflict do nothing",
    )
    .bind(tenant)
    .bind(uuids)
    .bind(source)
    .execute(pool)
    .await
    .during("registering Aliyun meetings")?;
    Ok(added.rows_affected())
}

/// Forgets a meeting and what was read of it (its members go with it), so
/// that the next registration reads it afresh.
pub async fn forget_meeting(pool: &PgPool, tenant: &str, uuid: &str) -> Result<(), StoreError> {
    sqlx::query("delete from aliyun.meetings where tenant = $1 and meeting_uuid = $2")
        .bind(tenant)
        .bind(uuid)
        .execute(pool)
        .await
        .during("forgetting an Aliyun meeting")?;
    Ok(())
}

/// Runs `aliyun.meetings_source`; its first column holds the MeetingUUIDs.
pub async fn source_uuids(pool: &PgPool, query: &str) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> = // The operator's own query, from the configuration.
    sqlx::query_as(sqlx::AssertSqlSafe(query.to_string()))
        .fetch_all(pool)
        .await
        .during("running aliyun.meetings_source")?;
    Ok(rows.into_iter().map(|(uuid,)| uuid).collect())
}

/// A meeting whose attendance is still being read.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueMeeting {
    pub meeting_uuid: String,
    pub registered_at: DateTime<Utc>,
    pub quiet_reads: i32,
    /// Whether any join of it was ever read.
    pub joined: bool,
}

pub async fn due(pool: &PgPool, tenant: &str) -> Result<Vec<DueMeeting>, StoreError> {
    sqlx::query_as(
        "select m.meeting_uuid, m.registered_at, m.quiet_reads,
                exists (select 1 from aliyun.meeting_members j
                         where j.tenant = m.tenant and j.meeting_uuid = m.meeting_uuid) as joined
           from aliyun.meetings m
          where m.tenant = $1 and m.finished_at is null
          order by m.registered_at, m.meeting_uuid",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .during("finding the meetings whose attendance is due")
}

/// The meeting as ListMembers describes it.
#[derive(Debug, Clone, Default)]
pub struct MeetingRead {
    pub meeting_name: Option<String>,
    pub meeting_code: Option<String>,
    pub creator_user_id: Option<String>,
    pub memo: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub online_members: i32,
    pub quiet_reads: i32,
    pub finished: bool,
    pub raw: serde_json::Value,
}

/// One join as read.
#[derive(Debug, Clone)]
pub struct MemberRow {
    pub member_uuid: String,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub status: String,
    pub begin_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
}

/// Writes one read: the meeting, its progress and every join in it.
pub async fn write_read(
    conn: &mut PgConnection,
    tenant: &str,
    uuid: &str,
    read: &MeetingRead,
    members: &[MemberRow],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "update aliyun.meetings set
            meeting_name = $3, meeting_code = $4, creator_user_id = $5, memo = $6,
            created_at = $7, online_members = $8, quiet_reads = $9,
            finished_at = case when $10 then $11 end, last_read_at = $11,
            last_error = null, raw = $12
          where tenant = $1 and meeting_uuid = $2",
    )
    .bind(tenant)
    .bind(uuid)
    .bind(&read.meeting_name)
    .bind(&read.meeting_code)
    .bind(&read.creator_user_id)
    .bind(&read.memo)
    .bind(read.created_at)
    .bind(read.online_members)
    .bind(read.quiet_reads)
    .bind(read.finished)
    .bind(now)
    .bind(&read.raw)
    .execute(&mut *conn)
    .await
    .during("writing an Aliyun meeting")?;
    write_members(conn, tenant, uuid, members, now).await
}

async fn write_members(
    conn: &mut PgConnection,
    tenant: &str,
    uuid: &str,
    members: &[MemberRow],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let column = |f: fn(&MemberRow) -> Option<String>| members.iter().map(f).collect::<Vec<_>>();
    let ids = column(|m| Some(m.member_uuid.clone()));
    let users = column(|m| m.user_id.clone());
    let names = column(|m| m.user_name.clone());
    let statuses = column(|m| Some(m.status.clone()));
    let begins: Vec<Option<DateTime<Utc>>> = members.iter().map(|m| m.begin_time).collect();
    let ends: Vec<Option<DateTime<Utc>>> = members.iter().map(|m| m.end_time).collect();
    sqlx::query(
        "insert into aliyun.meeting_members
            (tenant, meeting_uuid, member_uuid, user_id, user_name, status, begin_time, end_time,
             first_seen_at, last_seen_at)
         select $1::text, $2::text, m.*, $9::timestamptz, $9::timestamptz
           from unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
                       $8::timestamptz[]) as m
         on conflict (tenant, meeting_uuid, member_uuid) do update set
            user_id = excluded.user_id, user_name = excluded.user_name,
            status = excluded.status, begin_time = excluded.begin_time,
            end_time = excluded.end_time, last_seen_at = excluded.last_seen_at",
    )
    .bind(tenant)
    .bind(uuid)
    .bind(&ids)
    .bind(&users)
    .bind(&names)
    .bind(&statuses)
    .bind(&begins)
    .bind(&ends)
    .bind(now)
    .execute(&mut *conn)
    .await
    .during("writing the joins of an Aliyun meeting")?;
    Ok(())
}

/// A read that failed: kept for `status` and the next run; `finished` when
/// the meeting is given up on.
pub async fn record_failure(
    pool: &PgPool,
    tenant: &str,
    uuid: &str,
    error: &str,
    finished: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "update aliyun.meetings set last_error = $3, last_read_at = $4,
                finished_at = case when $5 then $4 end
          where tenant = $1 and meeting_uuid = $2",
    )
    .bind(tenant)
    .bind(uuid)
    .bind(super::clean(error))
    .bind(now)
    .bind(finished)
    .execute(pool)
    .await
    .during("recording a failed ListMembers")?;
    Ok(())
}
