//! `cloudroom.conference_details` and `cloudroom.conference_invitees`: what
//! `GET conference/{confId}` adds to the lists.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::{Context as _, StoreError};

/// One conference's detail, ready to write (passwords already removed
/// unless kept).
#[derive(Debug, Clone, Default)]
pub struct DetailRow {
    pub conf_id: i64,
    pub subject: Option<String>,
    pub host_id: Option<i64>,
    pub host_name: Option<String>,
    pub status: Option<i32>,
    pub url: Option<String>,
    pub public_url: Option<String>,
    pub pstn_num: Option<String>,
    pub password: Option<String>,
    pub pstn_password: Option<String>,
    pub schedule_start: Option<DateTime<Utc>>,
    pub schedule_end: Option<DateTime<Utc>>,
    pub period_type: Option<i32>,
    pub period_end: Option<DateTime<Utc>>,
    pub email_notice: Option<i32>,
    pub sms_notice: Option<i32>,
    pub attributes: Option<serde_json::Value>,
    pub permission: Option<serde_json::Value>,
    pub assistants: serde_json::Value,
    pub invitees: Vec<InviteeRow>,
    pub raw: serde_json::Value,
    /// The record exactly as received, when `raw` had NUL replaced.
    pub raw_original: Option<String>,
}

#[derive(Debug, Clone)]
pub struct InviteeRow {
    pub invitee_id: i64,
    pub name: Option<String>,
    pub invitee_type: Option<i32>,
}

/// A conference whose detail is due, with the list hash it is read for
/// (`None` for a conference of the meeting history).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DueDetail {
    pub conf_id: i64,
    pub list_hash: Option<Vec<u8>>,
}

/// The conferences of the list (not removed) whose detail is missing or was
/// read for other content, then the conferences of the meeting history that
/// have no detail row at all: each is read once.
pub async fn due(pool: &PgPool, tenant: &str) -> Result<Vec<DueDetail>, StoreError> {
    sqlx::query_as(
        "select c.conf_id, c.content_hash as list_hash
           from cloudroom.conferences c
           left join cloudroom.conference_details d using (tenant, conf_id)
          where c.tenant = $1 and c.removed_at is null
            and (d.conf_id is null or d.list_hash is distinct from c.content_hash)
         union all
         select distinct h.conf_id, null::bytea
           from cloudroom.meeting_history h
          where h.tenant = $1
            and not exists (select 1 from cloudroom.conferences c
                             where c.tenant = h.tenant and c.conf_id = h.conf_id
                               and c.removed_at is null)
            and not exists (select 1 from cloudroom.conference_details d
                             where d.tenant = h.tenant and d.conf_id = h.conf_id)
         order by 1",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .during("finding the conferences whose detail is due")
}

/// Writes one detail and replaces its invitees; true when the conference
/// had no detail row before.
pub async fn write(
    conn: &mut PgConnection,
    tenant: &str,
    row: &DetailRow,
    list_hash: Option<&[u8]>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let inserted: bool = sqlx::query_scalar(
        "insert into cloudroom.conference_details
            (tenant, conf_id, available, subject, host_id, host_name, status, url, public_url,
             pstn_num, password, pstn_password, schedule_start, schedule_end, period_type,
             period_end, email_notice, sms_notice, attributes, permission, assistants,
             list_hash, read_at, raw, raw_original)
         values ($1, $2, true, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                 $17, $18, $19, $20, $21, $22, $23, $24)
         on conflict (tenant, conf_id) do update set
            available = true, subject = excluded.subject, host_id = excluded.host_id,
            host_name = excluded.host_name, status = excluded.status, url = excluded.url,
            public_url = excluded.public_url, pstn_num = excluded.pstn_num,
            password = excluded.password, pstn_password = excluded.pstn_password,
            schedule_start = excluded.schedule_start, schedule_end = excluded.schedule_end,
            period_type = excluded.period_type, period_end = excluded.period_end,
            email_notice = excluded.email_notice, sms_notice = excluded.sms_notice,
            attributes = excluded.attributes, permission = excluded.permission,
            assistants = excluded.assistants, list_hash = excluded.list_hash,
            read_at = excluded.read_at, raw = excluded.raw, raw_original = excluded.raw_original
         returning (xmax = 0)",
    )
    .bind(tenant)
    .bind(row.conf_id)
    .bind(&row.subject)
    .bind(row.host_id)
    .bind(&row.host_name)
    .bind(row.status)
    .bind(&row.url)
    .bind(&row.public_url)
    .bind(&row.pstn_num)
    .bind(&row.password)
    .bind(&row.pstn_password)
    .bind(row.schedule_start)
    .bind(row.schedule_end)
    .bind(row.period_type)
    .bind(row.period_end)
    .bind(row.email_notice)
    .bind(row.sms_notice)
    .bind(&row.attributes)
    .bind(&row.permission)
    .bind(&row.assistants)
    .bind(list_hash)
    .bind(now)
    .bind(&row.raw)
    .bind(&row.raw_original)
    .fetch_one(&mut *conn)
    .await
    .during("writing a conference detail")?;
    replace_invitees(conn, tenant, row).await?;
    Ok(inserted)
}

async fn replace_invitees(
    conn: &mut PgConnection,
    tenant: &str,
    row: &DetailRow,
) -> Result<(), StoreError> {
    sqlx::query("delete from cloudroom.conference_invitees where tenant = $1 and conf_id = $2")
        .bind(tenant)
        .bind(row.conf_id)
        .execute(&mut *conn)
        .await
        .during("replacing a conference's invitees")?;
    let ids: Vec<i64> = row.invitees.iter().map(|i| i.invitee_id).collect();
    let names: Vec<Option<String>> = row.invitees.iter().map(|i| i.name.clone()).collect();
    let types: Vec<Option<i32>> = row.invitees.iter().map(|i| i.invitee_type).collect();
    sqlx::query(
        "insert into cloudroom.conference_invitees (tenant, conf_id, invitee_id, invitee_name, invitee_type)
         select $1::text, $2::bigint, * from unnest($3::bigint[], $4::text[], $5::int[])
         on conflict do nothing",
    )
    .bind(tenant)
    .bind(row.conf_id)
    .bind(&ids)
    .bind(&names)
    .bind(&types)
    .execute(&mut *conn)
    .await
    .during("writing a conference's invitees")?;
    Ok(())
}

/// CloudRoom answered 22201 for this conference: recorded, so that it is
/// not asked again (a list conference is asked again when it changes).
pub async fn mark_unavailable(
    conn: &mut PgConnection,
    tenant: &str,
    conf_id: i64,
    list_hash: Option<&[u8]>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into cloudroom.conference_details (tenant, conf_id, available, list_hash, read_at)
         values ($1, $2, false, $3, $4)
         on conflict (tenant, conf_id) do update set
            available = false, list_hash = excluded.list_hash, read_at = excluded.read_at",
    )
    .bind(tenant)
    .bind(conf_id)
    .bind(list_hash)
    .bind(now)
    .execute(&mut *conn)
    .await
    .during("recording a conference detail as not available")?;
    Ok(())
}
