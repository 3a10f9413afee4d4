//! `confsync.sync_runs`: one row per job run, and all of its SQL: the
//! start (claiming a tick), the lease (heartbeat, stale runs, takeover,
//! runs marked abandoned), the end, and what `status` and `/healthz` read.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use super::{Context, RowCounts, StoreError};

#[derive(Debug, Clone, Default, Serialize)]
pub struct RunTotals {
    pub pages: u64,
    pub api_calls: u64,
    pub rows: RowCounts,
    /// Records set aside in `confsync.quarantine` instead of stored.
    pub quarantined: u64,
}

/// Records the start of the run for scheduled tick `tick`, leased to
/// `owner`, or returns `None` when a run of this job already claimed that
/// tick (another daemon ran it).
pub async fn start_for_tick(
    pool: &PgPool,
    (tenant, job): (&str, &str),
    full: bool,
    tick: Option<DateTime<Utc>>,
    owner: &str,
) -> Result<Option<i64>, StoreError> {
    sqlx::query_scalar(
        "insert into confsync.sync_runs (tenant, job, full_pass, scheduled_for, lease_owner)
         values ($1, $2, $3, $4, $5)
         on conflict (tenant, job, scheduled_for) where scheduled_for is not null do nothing
         returning id",
    )
    .bind(tenant)
    .bind(job)
    .bind(full)
    .bind(tick)
    .bind(owner)
    .fetch_optional(pool)
    .await
    .during("recording the start of a run")
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    Succeeded,
    Failed,
    /// Stopped before finishing: cancelled by a shutdown, or left by a crash.
    Abandoned,
}

impl RunEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            RunEnd::Succeeded => "succeeded",
            RunEnd::Failed => "failed",
            RunEnd::Abandoned => "abandoned",
        }
    }
}

/// Records how run `run_id` ended, if `owner` still holds its lease;
/// false when another instance took the run over (its end is theirs).
pub async fn finish_as(
    pool: &PgPool,
    (run_id, owner): (i64, &str),
    totals: &RunTotals,
    end: RunEnd,
    error: Option<&str>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "update confsync.sync_runs
            set finished_at = now(), status = $2, pages = $3, api_calls = $4,
                rows_inserted = $5, rows_updated = $6, rows_unchanged = $7, error = $8,
                quarantined = $10
          where id = $1 and lease_owner is not distinct from $9",
    )
    .bind(run_id)
    .bind(end.as_str())
    .bind(totals.pages as i64)
    .bind(totals.api_calls as i64)
    .bind(totals.rows.inserted as i64)
    .bind(totals.rows.updated as i64)
    .bind(totals.rows.unchanged as i64)
    .bind(error.map(|e| super::clean(e).into_owned()))
    .bind(owner)
    .bind(totals.quarantined as i64)
    .execute(pool)
    .await
    .during("recording the end of a run")?;
    Ok(done.rows_affected() == 1)
}

/// Fails run `run_id` with `reason`, touching nothing else: the last
/// resort when its end, as the run saw it, could not be recorded.
pub async fn fail_unrecorded(
    pool: &PgPool,
    (run_id, owner): (i64, &str),
    reason: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "update confsync.sync_runs set status = 'failed', finished_at = now(), error = $3
          where id = $1 and status = 'running' and lease_owner is not distinct from $2",
    )
    .bind(run_id)
    .bind(owner)
    .bind(super::clean(reason))
    .execute(pool)
    .await
    .during("failing a run whose end could not be recorded")?;
    Ok(done.rows_affected() == 1)
}

/// What `confsync status` and `/healthz` know about one job.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct JobRecord {
    pub tenant: String,
    pub job: String,
    pub last_started_at: Option<DateTime<Utc>>,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub last_status: Option<String>,
    pub last_rows_inserted: Option<i64>,
    pub last_rows_updated: Option<i64>,
    pub last_rows_unchanged: Option<i64>,
    /// Records the last run set aside in `confsync.quarantine`.
    pub last_quarantined: Option<i64>,
    pub last_error: Option<String>,
    /// Failed runs since the last success (abandoned runs neither count nor break the streak).
    pub consecutive_failures: i64,
    pub last_success_at: Option<DateTime<Utc>>,
}

/// The latest run, the failure streak and the last success of each
/// (tenant, job) pair, in their order, in one query.
pub async fn job_records(
    pool: &PgPool,
    pairs: &[(String, &str)],
) -> Result<Vec<JobRecord>, StoreError> {
    let tenants: Vec<&str> = pairs.iter().map(|(t, _)| t.as_str()).collect();
    let jobs: Vec<&str> = pairs.iter().map(|(_, j)| *j).collect();
    sqlx::query_as(
        "select j.tenant, j.job,
                last.started_at as last_started_at, last.finished_at as last_finished_at,
                last.status as last_status, last.rows_inserted as last_rows_inserted,
                last.rows_updated as last_rows_updated, last.rows_unchanged as last_rows_unchanged,
                last.quarantined as last_quarantined,
                last.error as last_error,
                (select count(*) from confsync.sync_runs f
                  where f.tenant = j.tenant and f.job = j.job and f.status = 'failed'
                    and f.started_at > coalesce(ok.started_at, '-infinity')) as consecutive_failures,
                ok.finished_at as last_success_at
           from unnest($1::text[], $2::text[]) with ordinality as j(tenant, job, position)
           left join lateral (
                select * from confsync.sync_runs r
                 where r.tenant = j.tenant and r.job = j.job
                 order by r.started_at desc, r.id desc limit 1) last on true
           left join lateral (
                select r.started_at, r.finished_at from confsync.sync_runs r
                 where r.tenant = j.tenant and r.job = j.job and r.status = 'succeeded'
                 order by r.started_at desc limit 1) ok on true
          order by j.position",
    )
    .bind(tenants)
    .bind(jobs)
    .fetch_all(pool)
    .await
    .during("reading the run history")
}

/// A run still `running` far longer than its job usually takes.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StuckRun {
    pub tenant: String,
    pub job: String,
    pub run_id: i64,
    pub started_at: DateTime<Utc>,
    pub running_seconds: f64,
    /// The longest of the job's last 20 successful runs, in seconds.
    pub usual_seconds: Option<f64>,
}

/// Runs of the (tenant, job) pairs that have run longer than `floor` and
/// than `factor` times the longest of their job's last 20 successful runs.
pub async fn stuck_runs(
    pool: &PgPool,
    pairs: &[(String, &str)],
    floor: std::time::Duration,
    factor: f64,
) -> Result<Vec<StuckRun>, StoreError> {
    let tenants: Vec<&str> = pairs.iter().map(|(t, _)| t.as_str()).collect();
    let jobs: Vec<&str> = pairs.iter().map(|(_, j)| *j).collect();
    sqlx::query_as(
        "select r.tenant, r.job, r.id as run_id, r.started_at,
                extract(epoch from now() - r.started_at)::float8 as running_seconds,
                usual.seconds as usual_seconds
           from unnest($1::text[], $2::text[]) as j(tenant, job)
           join confsync.sync_runs r on r.tenant = j.tenant and r.job = j.job and r.status = 'running'
           left join lateral (
                select max(extract(epoch from s.finished_at - s.started_at))::float8 as seconds
                  from (select finished_at, started_at from confsync.sync_runs s
                         where s.tenant = r.tenant and s.job = r.job and s.status = 'succeeded'
                         order by s.started_at desc limit 20) s) usual on true
          where extract(epoch from now() - r.started_at)
                > greatest($3::float8, $4::float8 * coalesce(usual.seconds, 0))
          order by r.started_at",
    )
    .bind(tenants)
    .bind(jobs)
    .bind(floor.as_secs_f64())
    .bind(factor)
    .fetch_all(pool)
    .await
    .during("finding stuck runs")
}

/// Runs whose heartbeat stopped longer ago than this many leases are not
/// taken over but abandoned: the next tick does their work.
pub const TAKEOVER_WINDOW_LEASES: u32 = 10;

/// Attempts of one run (its start and its takeovers): a run still not
/// finished after them is failed, not taken over again, so a run whose
/// every attempt dies (or whose end cannot be recorded) cannot circle
/// between daemons forever.
pub const MAX_ATTEMPTS: i32 = 3;

/// A `running` run whose heartbeat is older than the lease.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaleRun {
    pub id: i64,
    pub tenant: String,
    pub job: String,
    pub scheduled_for: Option<DateTime<Utc>>,
    /// A scheduled run that died recently: another daemon continues it.
    pub resumable: bool,
}

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Renews the run's heartbeat; false when the run is no longer running
/// (another daemon took it over after this one went silent).
pub async fn heartbeat(pool: &PgPool, run_id: i64, owner: &str) -> Result<bool, StoreError> {
    let renewed = sqlx::query(
        "update confsync.sync_runs set heartbeat_at = now()
          where id = $1 and status = 'running' and lease_owner is not distinct from $2",
    )
    .bind(run_id)
    .bind(owner)
    .execute(pool)
    .await
    .during("renewing a run's lease")?;
    Ok(renewed.rows_affected() == 1)
}

/// The stale runs of `tenants`.
pub async fn stale_runs(
    pool: &PgPool,
    tenants: &[String],
    lease: Duration,
) -> Result<Vec<StaleRun>, StoreError> {
    sqlx::query_as(
        "select id, tenant, job, scheduled_for,
                scheduled_for is not null and attempts < $4
                  and heartbeat_at > now() - make_interval(secs => $2 * $3) as resumable
           from confsync.sync_runs
          where status = 'running' and tenant = any($1)
            and (heartbeat_at is null or heartbeat_at < now() - make_interval(secs => $2))
          order by heartbeat_at",
    )
    .bind(tenants)
    .bind(seconds(lease))
    .bind(f64::from(TAKEOVER_WINDOW_LEASES))
    .bind(MAX_ATTEMPTS)
    .fetch_all(pool)
    .await
    .during("looking for runs whose lease expired")
}

/// Takes run `run_id` over for `owner` when it is still stale; call it
/// holding the run's job lock. False when it is not (it finished, or
/// another daemon took it first).
pub async fn take_over(
    pool: &PgPool,
    run_id: i64,
    owner: &str,
    lease: Duration,
) -> Result<bool, StoreError> {
    let taken = sqlx::query(
        "update confsync.sync_runs
            set lease_owner = $2, heartbeat_at = now(), attempts = attempts + 1
          where id = $1 and status = 'running'
            and (heartbeat_at is null or heartbeat_at < now() - make_interval(secs => $3))",
    )
    .bind(run_id)
    .bind(owner)
    .bind(seconds(lease))
    .execute(pool)
    .await
    .during("taking over a run whose lease expired")?;
    Ok(taken.rows_affected() == 1)
}

/// Which of a job's stale runs [`mark_abandoned`] leaves running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveRunning {
    /// Abandon every stale run (a new run of the job supersedes them).
    Nothing,
    /// The run being taken over.
    Run(i64),
    /// Every run a sweep would take over (a daemon starting up leaves them
    /// to the sweep rather than abandon a run it could continue).
    Resumable,
}

/// Marks the runs of (tenant, job) left `running` by a stopped process as
/// `abandoned`, except what `leave` says. Call it only while holding that
/// job's lock: no live process runs them then. A scheduled run within its
/// lease is left for a takeover (its owner's session may have dropped a
/// moment ago while its heartbeat is fresh).
pub async fn mark_abandoned(
    pool: &PgPool,
    (tenant, job): (&str, &str),
    lease: Duration,
    leave: LeaveRunning,
) -> Result<u64, StoreError> {
    let keep = match leave {
        LeaveRunning::Run(id) => Some(id),
        LeaveRunning::Nothing | LeaveRunning::Resumable => None,
    };
    let done = sqlx::query(
        "update confsync.sync_runs
            set status = case when attempts >= $7 then 'failed' else 'abandoned' end,
                finished_at = now(),
                error = case when attempts >= $7
                             then 'not finished after ' || attempts || ' attempts (its start and takeovers); failed rather than taken over again'
                             else coalesce(error, 'left running by a process that stopped; marked when the job lock was next taken') end
          where tenant = $1 and job = $2 and status = 'running' and id is distinct from $4
            and (scheduled_for is null or heartbeat_at is null
                 or heartbeat_at < now() - make_interval(secs => $3))
            and not ($5 and scheduled_for is not null and attempts < $7
                     and heartbeat_at > now() - make_interval(secs => $3 * $6))",
    )
    .bind(tenant)
    .bind(job)
    .bind(seconds(lease))
    .bind(keep)
    .bind(leave == LeaveRunning::Resumable)
    .bind(f64::from(TAKEOVER_WINDOW_LEASES))
    .bind(MAX_ATTEMPTS)
    .execute(pool)
    .await
    .during("marking abandoned runs")?;
    Ok(done.rows_affected())
}

/// The (tenant, job) pairs of `tenants` with a run marked `running`: the
/// only ones a daemon starting up needs to look at.
pub async fn running_jobs(
    pool: &PgPool,
    tenants: &[String],
) -> Result<Vec<(String, String)>, StoreError> {
    sqlx::query_as(
        "select distinct tenant, job from confsync.sync_runs
          where status = 'running' and tenant = any($1)",
    )
    .bind(tenants)
    .fetch_all(pool)
    .await
    .during("looking for runs left running")
}
