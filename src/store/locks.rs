//! One PostgreSQL advisory lock per (tenant, job), so that several confsync
//! processes sharing a database never run the same job at the same time.
//!
//! The lock lives in the session of one connection. If that session ends
//! (the server restarts, an operator terminates the backend, the network
//! drops it), the lock is gone and another daemon may start the same job:
//! [`JobLock::watch`] checks the session every few seconds and cancels a
//! token the moment it cannot vouch for the lock any more.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Context, StoreError};

/// Held while a job runs. Dropping the guard closes its connection, which
/// releases the lock even if `release` is never reached (a panic, a
/// cancelled task).
pub struct JobLock {
    conn: Option<PoolConnection<Postgres>>,
    /// The server session (`pg_backend_pid()`) that took the lock.
    backend: i32,
    tenant: String,
    job: String,
}

/// The lock's key is a hash of "confsync/{tenant}/{job}".
/// Also names the server session that took it (see [`watch`]).
const LOCK: &str =
    "select pg_try_advisory_lock(hashtextextended('confsync/' || $1 || '/' || $2, 0)),
                           pg_backend_pid()";
const UNLOCK: &str =
    "select pg_advisory_unlock(hashtextextended('confsync/' || $1 || '/' || $2, 0))";

impl JobLock {
    /// The lock, or `None` when another session holds it.
    pub async fn try_acquire(
        pool: &PgPool,
        tenant: &str,
        job: &str,
    ) -> Result<Option<JobLock>, StoreError> {
        let mut conn = pool
            .acquire()
            .await
            .during("taking a connection for the job lock")?;
        let (locked, backend): (bool, i32) = sqlx::query_as(LOCK)
            .bind(tenant)
            .bind(job)
            .fetch_one(&mut *conn)
            .await
            .during("taking the job lock")?;
        Ok(locked.then(|| JobLock {
            conn: Some(conn),
            backend,
            tenant: tenant.to_string(),
            job: job.to_string(),
        }))
    }

    /// Unlocks and returns the connection to the pool.
    pub async fn release(mut self) -> Result<(), StoreError> {
        match self.conn.take() {
            Some(mut conn) => unlock(&mut conn, &self.tenant, &self.job).await,
            None => Ok(()),
        }
    }

    /// Hands the lock to a task that checks, every `every`, that its session
    /// still holds it; the returned token is cancelled when it does not.
    pub fn watch(mut self, every: Duration) -> WatchedLock {
        let lost = CancellationToken::new();
        let (stop, stopped) = oneshot::channel();
        let conn = self.conn.take();
        let held = Held {
            tenant: self.tenant.clone(),
            job: self.job.clone(),
            backend: self.backend,
        };
        let why = Arc::new(OnceLock::new());
        let task = tokio::spawn(watch(
            conn,
            held,
            every,
            (lost.clone(), why.clone()),
            stopped,
        ));
        WatchedLock {
            lost,
            why,
            stop,
            task,
        }
    }
}

impl Drop for JobLock {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // Detached, the connection closes when dropped, and the server drops its locks.
            drop(conn.detach());
        }
    }
}

/// A lock whose session is being checked; see [`JobLock::watch`].
pub struct WatchedLock {
    lost: CancellationToken,
    why: Arc<OnceLock<String>>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), StoreError>>,
}

impl WatchedLock {
    /// Cancelled once the lock can no longer be vouched for.
    pub fn lost(&self) -> &CancellationToken {
        &self.lost
    }

    /// Why the lock could no longer be vouched for, once it could not.
    pub fn why_lost(&self) -> Option<&str> {
        self.why.get().map(String::as_str)
    }

    /// Stops the checks and unlocks (when the session still holds the lock).
    pub async fn release(self) -> Result<(), StoreError> {
        // The task may have ended already (lock lost): then there is nothing to stop.
        let _ = self.stop.send(());
        match self.task.await {
            Ok(result) => result,
            // A panicked or aborted watcher dropped its connection: released.
            Err(_) => Ok(()),
        }
    }
}

/// The lock a watcher vouches for.
struct Held {
    tenant: String,
    job: String,
    backend: i32,
}

async fn watch(
    conn: Option<PoolConnection<Postgres>>,
    held: Held,
    every: Duration,
    (lost, why): (CancellationToken, Arc<OnceLock<String>>),
    mut stopped: oneshot::Receiver<()>,
) -> Result<(), StoreError> {
    let Some(mut conn) = conn else {
        return Ok(());
    };
    let (tenant, job) = (held.tenant.as_str(), held.job.as_str());
    let mut ticks = tokio::time::interval(every);
    ticks.tick().await;
    loop {
        tokio::select! {
            _ = &mut stopped => return unlock(&mut conn, tenant, job).await,
            _ = ticks.tick() => {}
        }
        let holds = still_held(&mut conn).await;
        let reason = match holds {
            Ok(Some((backend, true))) if backend == held.backend => continue,
            Ok(Some((backend, _))) if backend != held.backend => format!(
                "the connection reached server session {backend}, not {} that took the lock: \
                 a connection pooler in transaction mode? (docs/database.md)",
                held.backend
            ),
            Ok(Some(_)) => "its session no longer holds it".to_string(),
            Ok(None) => "its session did not answer within 5 s".to_string(),
            Err(e) => crate::causes::Chain(&e).to_string(),
        };
        tracing::error!(tenant, job, reason, "the job lock is lost; the run stops");
        let _ = why.set(reason);
        lost.cancel();
        // Closing the connection drops whatever the session still held.
        drop(conn.detach());
        return Ok(());
    }
}

/// The connection's server session, and whether it still holds the lock
/// (asked with a deadline, so a dead network answers within the check
/// interval rather than at a TCP timeout); `None` when none came.
async fn still_held(
    conn: &mut PoolConnection<Postgres>,
) -> Result<Option<(i32, bool)>, StoreError> {
    // The lock's connection holds this one lock and nothing else.
    let query = sqlx::query_as(
        "select pg_backend_pid(), exists (select 1 from pg_locks
          where locktype = 'advisory' and pid = pg_backend_pid() and granted)",
    )
    .fetch_one(&mut **conn);
    match tokio::time::timeout(Duration::from_secs(5), query).await {
        Ok(result) => result.map(Some).during("checking the job lock"),
        Err(_) => Ok(None),
    }
}

async fn unlock(
    conn: &mut PoolConnection<Postgres>,
    tenant: &str,
    job: &str,
) -> Result<(), StoreError> {
    sqlx::query(UNLOCK)
        .bind(tenant)
        .bind(job)
        .execute(&mut **conn)
        .await
        .during("releasing the job lock")?;
    Ok(())
}
