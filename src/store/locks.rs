//! One PostgreSQL advisory lock per (tenant, job), so that several confsync
//! processes sharing a database never run the same job at the same time.

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};

use super::{Context, StoreError};

/// Held while a job runs. The lock lives in the session of its own
/// connection; dropping the guard closes that connection, which releases it
/// even if `release` is never reached (a panic, a cancelled task).
pub struct JobLock {
    conn: Option<PoolConnection<Postgres>>,
}

const KEY: &str = "select hashtextextended('confsync/' || $1 || '/' || $2, 0)";

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
        let sql = format!("select pg_try_advisory_lock(({KEY}))");
        let locked: bool = sqlx::query_scalar(&sql)
            .bind(tenant)
            .bind(job)
            .fetch_one(&mut *conn)
            .await
            .during("taking the job lock")?;
        Ok(locked.then_some(JobLock { conn: Some(conn) }))
    }

    /// Unlocks and returns the connection to the pool.
    pub async fn release(mut self, tenant: &str, job: &str) -> Result<(), StoreError> {
        if let Some(mut conn) = self.conn.take() {
            let sql = format!("select pg_advisory_unlock(({KEY}))");
            sqlx::query(&sql)
                .bind(tenant)
                .bind(job)
                .execute(&mut *conn)
                .await
                .during("releasing the job lock")?;
        }
        Ok(())
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
