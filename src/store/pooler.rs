//! Connection poolers. confsync keeps each job's lock, and the migrator's,
//! as a session advisory lock: it holds only while every statement of a
//! connection runs in the same server session. A pooler in session mode
//! keeps that promise; one in transaction or statement mode (PgBouncer's
//! `pool_mode = transaction`, and the managed poolers built on it) hands a
//! client's next transaction to whichever server session is free, so a lock
//! taken by one run could be held, or released, on behalf of another.
//!
//! The check asks for the server session (`pg_backend_pid()`) of one
//! connection, lets a second connection open a transaction, and asks the
//! first again. Through a pooler that keeps sessions, the second connection
//! gets a session of its own and the first keeps its one. Through one that
//! shares them, the second is handed the session the first just released
//! (PgBouncer reuses the most recently released one), and the first then
//! gets another. The statements go as simple queries: a pooler that shares
//! sessions would mix up sqlx's prepared statements between clients.

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, Row};

/// What two statements of one connection showed about its server session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sessions {
    /// Every statement of a connection ran in its own server session.
    Kept,
    /// A connection's statements ran in different server sessions, or
    /// another connection was given its session while it was open.
    Shared,
}

/// Checks `ROUNDS` times, so that a pooler serving other clients at the
/// same moment cannot hide the sharing by chance.
const ROUNDS: usize = 3;

pub async fn sessions(options: &PgConnectOptions) -> Result<Sessions, sqlx::Error> {
    let mut first = PgConnection::connect_with(options).await?;
    let mut second = PgConnection::connect_with(options).await?;
    let mut seen = Sessions::Kept;
    for _ in 0..ROUNDS {
        if one_round(&mut first, &mut second).await? == Sessions::Shared {
            seen = Sessions::Shared;
            break;
        }
    }
    let _ = first.close().await;
    let _ = second.close().await;
    Ok(seen)
}

async fn one_round(
    first: &mut PgConnection,
    second: &mut PgConnection,
) -> Result<Sessions, sqlx::Error> {
    let before = backend(first).await?;
    sqlx::raw_sql("begin").execute(&mut *second).await?;
    let other = backend(second).await;
    let after = backend(first).await;
    sqlx::raw_sql("rollback").execute(&mut *second).await?;
    let (other, after) = (other?, after?);
    Ok(match other == before || after != before {
        true => Sessions::Shared,
        false => Sessions::Kept,
    })
}

async fn backend(conn: &mut PgConnection) -> Result<String, sqlx::Error> {
    let row = sqlx::raw_sql("select pg_backend_pid()::text")
        .fetch_one(conn)
        .await?;
    row.try_get(0)
}
