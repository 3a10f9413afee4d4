//! Aliyun CVC attendance: every join and leave of every member of the
//! registered meetings, from ListMembers.
//!
//! The API cannot list meetings, so they come from outside (`aliyun.meetings`
//! rows, `confsync aliyun meetings add FILE`, `aliyun.meetings_source`). A
//! meeting is read at each run until a read finds members but none online,
//! then once more (a member may come back); one that nobody joins within
//! `aliyun.attendance_window` of its registration is no longer read.

pub mod meetings_file;
mod times;

use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::aliyun::{AliyunClient, AliyunError, MeetingInfo};
use crate::store::attendance::{self as store, DueMeeting, MeetingRead, MemberRow};
use crate::store::sync_runs::RunTotals;

/// What an attendance run needs.
pub struct AttendanceContext {
    pub pool: PgPool,
    pub tenant: String,
    /// `None` without Aliyun keys: fine while no meeting is due.
    pub client: Option<AliyunClient>,
    pub meetings_query: Option<String>,
    pub window: Duration,
    /// Times sent as `yyyy-MM-dd HH:mm:ss` are read in this zone.
    pub timezone: Tz,
    pub cancel: CancellationToken,
}

pub async fn run(ctx: &AttendanceContext, totals: &mut RunTotals) -> anyhow::Result<()> {
    if let Some(query) = &ctx.meetings_query {
        let uuids = store::source_uuids(&ctx.pool, query).await?;
        store::register(&ctx.pool, &ctx.tenant, &uuids, "query").await?;
    }
    let due = store::due(&ctx.pool, &ctx.tenant).await?;
    if due.is_empty() {
        return Ok(());
    }
    let client = ctx.client.as_ref().context(
        "Aliyun meetings are registered but aliyun.access_key_id and aliyun.access_key_secret are not set",
    )?;
    let mut failures = Vec::new();
    for meeting in &due {
        if ctx.cancel.is_cancelled() {
            anyhow::bail!("cancelled; the other meetings are read next run");
        }
        totals.pages += 1;
        match client.list_members(&meeting.meeting_uuid).await {
            Ok(info) => write(ctx, meeting, info, totals).await?,
            Err(e) if is_doomed(&e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("meeting {}; the run stopped", meeting.meeting_uuid)))
            }
            Err(e) => failures.push(failed(ctx, meeting, &e).await?),
        }
    }
    match failures.first() {
        None => Ok(()),
        Some(first) => anyhow::bail!("{} meeting(s) failed; first: {first}", failures.len()),
    }
}

/// Refused keys or a bad clock: no other meeting can be read.
fn is_doomed(e: &AliyunError) -> bool {
    matches!(
        e,
        AliyunError::AccessKeyNotFound(_)
            | AliyunError::SignatureMismatch(_)
            | AliyunError::TimestampExpired(_)
    )
}

async fn write(
    ctx: &AttendanceContext,
    meeting: &DueMeeting,
    info: MeetingInfo,
    totals: &mut RunTotals,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let members = members(&info, ctx.timezone);
    let read = read_of(meeting, info, &members, now, ctx.window);
    let mut tx = crate::store::begin(&ctx.pool).await?;
    store::write_read(
        &mut tx,
        &ctx.tenant,
        &meeting.meeting_uuid,
        &read,
        &members,
        now,
    )
    .await?;
    tx.commit()
        .await
        .context("cannot commit a meeting's attendance")?;
    totals.rows.updated += members.len() as u64;
    Ok(())
}

/// Records a read that failed; a meeting past its window is given up on.
async fn failed(
    ctx: &AttendanceContext,
    meeting: &DueMeeting,
    e: &AliyunError,
) -> anyhow::Result<String> {
    let now = Utc::now();
    let message = crate::causes::Chain(e).to_string();
    let give_up = !meeting.joined && past_window(meeting.registered_at, now, ctx.window);
    store::record_failure(
        &ctx.pool,
        &ctx.tenant,
        &meeting.meeting_uuid,
        &message,
        give_up,
        now,
    )
    .await?;
    tracing::warn!(meeting = %meeting.meeting_uuid, error = %message, "ListMembers failed");
    Ok(format!("meeting {}: {message}", meeting.meeting_uuid))
}

fn past_window(registered_at: DateTime<Utc>, now: DateTime<Utc>, window: Duration) -> bool {
    chrono::Duration::from_std(window).is_ok_and(|w| now - registered_at > w)
}

fn members(info: &MeetingInfo, tz: Tz) -> Vec<MemberRow> {
    info.members
        .iter()
        .filter(|m| !m.member_uuid.is_empty())
        .map(|m| MemberRow {
            member_uuid: m.member_uuid.clone(),
            user_id: m.user_id.clone(),
            user_name: m.user_name.clone(),
            status: m.status.trim().to_lowercase(),
            begin_time: times::parse(m.begin_time.as_deref(), tz),
            end_time: times::parse(m.end_time.as_deref(), tz),
        })
        .collect()
}

/// `online` and `ring` (in a call) are there; `offline` has left.
fn is_present(member: &MemberRow) -> bool {
    matches!(member.status.as_str(), "online" | "ring")
}

/// The meeting as read, and whether this was its last read.
fn read_of(
    meeting: &DueMeeting,
    info: MeetingInfo,
    members: &[MemberRow],
    now: DateTime<Utc>,
    window: Duration,
) -> MeetingRead {
    let online = members.iter().filter(|m| is_present(m)).count();
    let (quiet_reads, finished) = match (online, members.is_empty()) {
        (0, true) => (0, past_window(meeting.registered_at, now, window)),
        (0, false) => (meeting.quiet_reads + 1, meeting.quiet_reads + 1 >= 2),
        _ => (0, false),
    };
    let raw = serde_json::to_value(&info).unwrap_or_default();
    MeetingRead {
        meeting_name: info.meeting_name,
        meeting_code: info.meeting_code,
        creator_user_id: info.user_id,
        memo: info.memo,
        created_at: info.create_date.and_then(times::from_number),
        online_members: i32::try_from(online).unwrap_or(i32::MAX),
        quiet_reads,
        finished,
        raw,
    }
}
