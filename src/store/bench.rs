//! What the benchmarks (`confsync bench …`) read and prepare: a fresh
//! database, and figures from `confsync.sync_runs` and the mirrored tables.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;

use super::{Context as _, StoreError};

/// Drops and recreates the database `options` name (default
/// `confsync_bench`), through the `postgres` database, and connects to it.
pub async fn recreate_database(options: PgConnectOptions) -> Result<PgPool, StoreError> {
    let name = options
        .get_database()
        .unwrap_or("confsync_bench")
        .to_string();
    let admin = PgPool::connect_with(options.clone().database("postgres"))
        .await
        .during("connecting to the postgres database")?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        r#"drop database if exists "{name}" with (force)"#
    )))
    .execute(&admin)
    .await
    .during("dropping the benchmark database")?;
    sqlx::query(sqlx::AssertSqlSafe(format!(r#"create database "{name}""#)))
        .execute(&admin)
        .await
        .during("creating the benchmark database")?;
    PgPool::connect_with(options)
        .await
        .during("connecting to the benchmark database")
}

/// The current transaction id, to count the rows written after it.
pub async fn current_xid(pool: &PgPool) -> Result<i64, StoreError> {
    sqlx::query_scalar("select txid_current()")
        .fetch_one(pool)
        .await
        .during("reading the current transaction id")
}

/// Connections per `application_name` of the benchmark's daemons.
pub async fn bench_connections(pool: &PgPool) -> Result<Vec<(String, i64)>, StoreError> {
    sqlx::query_as(
        "select application_name, count(*) from pg_stat_activity
          where application_name like 'confsync-bench-%' group by application_name",
    )
    .fetch_all(pool)
    .await
    .during("counting the benchmark's connections")
}

/// Seconds from `tick` until the last of its runs finished.
pub async fn tick_drained(pool: &PgPool, tick: DateTime<Utc>) -> Result<f64, StoreError> {
    let seconds: Option<f64> = sqlx::query_scalar(
        "select extract(epoch from max(finished_at) - $1)::float8
           from confsync.sync_runs where scheduled_for = $1",
    )
    .bind(tick)
    .fetch_one(pool)
    .await
    .during("reading when a tick drained")?;
    Ok(seconds.unwrap_or(0.0))
}

/// Runs each daemon (by pid, as its lease_owner names it) carried.
pub async fn runs_per_daemon(pool: &PgPool, pids: &[u32]) -> Result<Vec<i64>, StoreError> {
    let mut runs = Vec::new();
    for pid in pids {
        let n: i64 = sqlx::query_scalar(
            "select count(*) from confsync.sync_runs where split_part(lease_owner, '/', 2) = $1",
        )
        .bind(pid.to_string())
        .fetch_one(pool)
        .await
        .during("counting runs per daemon")?;
        runs.push(n);
    }
    Ok(runs)
}

/// Tenants whose recordings pass succeeded after their first successful
/// history pass, with nothing left in the recordings queue: all three
/// passes have gone through.
pub async fn tenants_mirrored(pool: &PgPool) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "select count(*) from (select tenant, min(finished_at) as history_done
                                 from confsync.sync_runs
                                where job = 'history' and status = 'succeeded' group by tenant) h
          where exists (select 1 from confsync.sync_runs c
                         where c.tenant = h.tenant and c.job = 'conferences' and c.status = 'succeeded')
            and exists (select 1 from confsync.sync_runs r
                         where r.tenant = h.tenant and r.job = 'recordings' and r.status = 'succeeded'
                           and r.started_at >= h.history_done)
            and not exists (select 1 from confsync.recording_queue q where q.tenant = h.tenant)",
    )
    .fetch_one(pool)
    .await
    .during("counting mirrored tenants")
}

pub async fn first_tick(pool: &PgPool) -> Result<Option<DateTime<Utc>>, StoreError> {
    sqlx::query_scalar("select min(scheduled_for) from confsync.sync_runs")
        .fetch_one(pool)
        .await
        .during("reading the first tick")
}

/// Ticks run, ticks run more than once, and ticks missed between `from`
/// and `to`: a (tenant, job, tick) with no run although no run of that
/// (tenant, job) was still going (or waiting for a slot) then.
pub async fn tick_counts(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    every: u32,
) -> Result<(i64, i64, i64), StoreError> {
    let (ticks, duplicates): (i64, i64) = sqlx::query_as(
        "select count(distinct (tenant, job, scheduled_for)),
                count(*) - count(distinct (tenant, job, scheduled_for))
           from confsync.sync_runs where scheduled_for is not null",
    )
    .fetch_one(pool)
    .await
    .during("counting ticks")?;
    let missed: i64 = sqlx::query_scalar(
        "with pairs as (select distinct tenant, job from confsync.sync_runs),
              ticks as (select generate_series($1::timestamptz, $2::timestamptz - interval '2 seconds',
                                               make_interval(secs => $3)) as tick)
         select count(*) from pairs p cross join ticks t
          where not exists (select 1 from confsync.sync_runs r
                             where r.tenant = p.tenant and r.job = p.job and r.scheduled_for = t.tick)
            and not exists (select 1 from confsync.sync_runs r
                             where r.tenant = p.tenant and r.job = p.job
                               and r.scheduled_for < t.tick and coalesce(r.finished_at, now()) > t.tick)",
    )
    .bind(from)
    .bind(to)
    .bind(f64::from(every))
    .fetch_one(pool)
    .await
    .during("counting ticks")?;
    Ok((ticks, duplicates, missed))
}

/// Rows physically written (inserted or updated) since transaction `xid`.
pub async fn rows_written_since(pool: &PgPool, xid: i64) -> Result<u64, StoreError> {
    let mut total = 0i64;
    for table in [
        "conferences",
        "meeting_history",
        "recordings",
        "recording_urls",
    ] {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select count(*) from cloudroom.{table} where xmin::text::bigint > ($1 % 4294967296)"
        )))
        .bind(xid)
        .fetch_one(pool)
        .await
        .during("counting the rows a benchmark wrote")?;
        total += n;
    }
    Ok(total as u64)
}
