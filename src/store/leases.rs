//! Run leases in `confsync.sync_runs`: a running run renews its heartbeat;
//! a run whose heartbeat is older than the lease is stale, and a daemon
//! takes it over by continuing the same row.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{Context, StoreError};

/// Runs whose heartbeat stopped longer ago than this many leases are not
/// taken over but abandoned: the next tick does their work.
pub const TAKEOVER_WINDOW_LEASES: u32 = 10;

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
                scheduled_for is not null
                  and heartbeat_at > now() - make_interval(secs => $2 * $3) as resumable
           from confsync.sync_runs
          where status = 'running' and tenant = any($1)
            and (heartbeat_at is null or heartbeat_at < now() - make_interval(secs => $2))
          order by heartbeat_at",
    )
    .bind(tenants)
    .bind(seconds(lease))
    .bind(f64::from(TAKEOVER_WINDOW_LEASES))
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

/// The stale runs that marking abandoned leaves alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spare {
    /// Abandon every stale run (a new run of the job supersedes them).
    Nothing,
    /// The run being taken over.
    Run(i64),
    /// Every run a sweep would take over (a daemon starting up leaves them
    /// to the sweep rather than abandon a run it could continue).
    Resumable,
}

/// Marks the runs of (tenant, job) left `running` by a stopped process as
/// `abandoned`, except what `spare` says. Call it only while holding that
/// job's lock: no live process runs them then. A scheduled run within its
/// lease is left for a takeover (its owner's session may have dropped a
/// moment ago while its heartbeat is fresh).
pub async fn abandon_stale(
    pool: &PgPool,
    (tenant, job): (&str, &str),
    lease: Duration,
    spare: Spare,
) -> Result<u64, StoreError> {
    let keep = match spare {
        Spare::Run(id) => Some(id),
        Spare::Nothing | Spare::Resumable => None,
    };
    let done = sqlx::query(
        "update confsync.sync_runs
            set status = 'abandoned', finished_at = now(),
                error = coalesce(error, 'left running by a process that stopped; marked when the job lock was next taken')
          where tenant = $1 and job = $2 and status = 'running' and id is distinct from $4
            and (scheduled_for is null or heartbeat_at is null
                 or heartbeat_at < now() - make_interval(secs => $3))
            and not ($5 and scheduled_for is not null
                     and heartbeat_at > now() - make_interval(secs => $3 * $6))",
    )
    .bind(tenant)
    .bind(job)
    .bind(seconds(lease))
    .bind(keep)
    .bind(spare == Spare::Resumable)
    .bind(f64::from(TAKEOVER_WINDOW_LEASES))
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
