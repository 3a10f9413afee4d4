//! All SQL lives here. Jobs hand the store rows; the store decides what is
//! new, changed or unchanged (by content hash) and writes only what changed,
//! in batched statements.

/// The `$field` of each picked row as one column vector: UNNEST turns the
/// vectors back into rows, so a page is written in one statement.
macro_rules! column {
    ($rows:ident, $picked:ident, $field:ident) => {
        $picked
            .iter()
            .map(|&i| $rows[i].$field.clone())
            .collect::<Vec<_>>()
    };
}

pub mod archive_retention;
pub mod attendance;
pub mod bench;
pub mod companies;
pub mod conferences;
pub mod db;
pub mod details;
pub mod directory;
pub mod directory_audit;
pub mod directory_released;
pub mod directory_uncertain;
pub(crate) mod hashed;
pub mod history;
pub mod locks;
pub mod pooler;
pub mod quarantine;
pub mod rate_budgets;
pub mod recording_files;
pub mod recordings;
pub mod reports;
pub mod state;
pub mod sync_runs;
pub mod tenants;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

/// A failed statement, with what the store was doing.
#[derive(Debug, thiserror::Error)]
#[error("database error while {action}")]
pub struct StoreError {
    pub action: &'static str,
    #[source]
    pub source: sqlx::Error,
}

pub(crate) trait Context<T> {
    fn during(self, action: &'static str) -> Result<T, StoreError>;
}

impl StoreError {
    /// The statement met a row that exists already (23505).
    pub fn is_unique_violation(&self) -> bool {
        matches!(&self.source, sqlx::Error::Database(e) if e.is_unique_violation())
    }
}

/// Runs `insert` (a plain INSERT, which costs PostgreSQL about a quarter
/// less than INSERT … ON CONFLICT: no separate check of each unique index)
/// in a savepoint of the caller's transaction; when a row it writes exists
/// already (23505), rolls it back and runs `upsert` instead. For writes that
/// seldom meet an existing row: a tenant's first sync.
pub(crate) async fn insert_else_upsert<T>(
    conn: &mut PgConnection,
    insert: impl AsyncFnOnce(&mut PgConnection) -> Result<T, StoreError>,
    upsert: impl AsyncFnOnce(&mut PgConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut savepoint = sqlx::Connection::begin(&mut *conn)
        .await
        .during("opening a savepoint")?;
    match insert(&mut savepoint).await {
        Ok(done) => {
            savepoint.commit().await.during("releasing a savepoint")?;
            Ok(done)
        }
        Err(e) if e.is_unique_violation() => {
            savepoint
                .rollback()
                .await
                .during("rolling back to a savepoint")?;
            upsert(conn).await
        }
        Err(e) => Err(e),
    }
}

impl<T> Context<T> for Result<T, sqlx::Error> {
    fn during(self, action: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError { action, source })
    }
}

/// Text as a text column takes it: NUL replaced (`text::storable_str`).
/// Every vendor-derived text the store writes outside the mirrored records
/// goes through here.
pub fn clean(text: &str) -> std::borrow::Cow<'_, str> {
    crate::text::storable_str(text)
}

/// Whether the database answers (`/readyz`).
pub async fn ping(pool: &sqlx::PgPool) -> Result<(), StoreError> {
    sqlx::query_scalar::<_, i32>("select 1")
        .fetch_one(pool)
        .await
        .during("asking the database for select 1")?;
    Ok(())
}

/// What a write did, row by row (the metrics own the type: they count it).
pub use crate::metrics::RowCounts;

/// The hash that decides whether a row changed: sha256 over the record as
/// received (serde_json sorts object keys, so equal records hash equally).
pub fn content_hash(raw: &serde_json::Value) -> Vec<u8> {
    hash_of_text(&serde_json::to_string(raw).unwrap_or_default())
}

/// [`content_hash`] of a record already serialized by serde_json: the one
/// definition, so that a record hashes alike on every path.
fn hash_of_text(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

/// Records serialized once, for both their [`content_hash`] and their `raw`
/// column (bound as text and cast to jsonb), instead of once for each.
pub(crate) struct RawJson {
    pub hashes: Vec<Vec<u8>>,
    pub texts: Vec<String>,
}

impl RawJson {
    pub fn of<'a>(records: impl Iterator<Item = &'a serde_json::Value>) -> Self {
        let texts: Vec<String> = records
            .map(|raw| serde_json::to_string(raw).unwrap_or_default())
            .collect();
        let hashes = texts.iter().map(|text| hash_of_text(text)).collect();
        RawJson { hashes, texts }
    }

    /// The hashes of the rows at `picked`, to bind as `bytea[]`.
    pub fn hashes_at(&self, picked: &[usize]) -> Vec<&[u8]> {
        picked.iter().map(|&i| self.hashes[i].as_slice()).collect()
    }

    /// The records at `picked`, to bind as `text[]` and cast to `jsonb[]`.
    pub fn texts_at(&self, picked: &[usize]) -> Vec<&str> {
        picked.iter().map(|&i| self.texts[i].as_str()).collect()
    }
}

/// Unchanged rows get `last_seen_at` refreshed at most once per this
/// interval, so an immediate re-sync writes nothing while `last_seen_at`
/// stays within a day of the truth.
pub const SEEN_RESOLUTION: chrono::Duration = chrono::Duration::days(1);

/// How an existing row compares with the incoming one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowFate {
    Insert,
    Update,
    TouchSeen,
    Unchanged,
}

/// `touch_before`: an unchanged row last seen before this gets its
/// `last_seen_at` refreshed (normally `now - SEEN_RESOLUTION`).
pub(crate) fn fate(
    existing: Option<(&[u8], bool, DateTime<Utc>)>,
    hash: &[u8],
    touch_before: DateTime<Utc>,
) -> RowFate {
    match existing {
        None => RowFate::Insert,
        Some((old, tombstoned, _)) if old != hash || tombstoned => RowFate::Update,
        Some((_, _, seen)) if seen < touch_before => RowFate::TouchSeen,
        Some(_) => RowFate::Unchanged,
    }
}

pub(crate) fn tally(fates: &[RowFate]) -> RowCounts {
    let mut counts = RowCounts::default();
    for f in fates {
        match f {
            RowFate::Insert => counts.inserted += 1,
            RowFate::Update => counts.updated += 1,
            RowFate::TouchSeen | RowFate::Unchanged => counts.unchanged += 1,
        }
    }
    counts
}

/// What the table already holds for one key: hash, tombstoned, last seen.
pub(crate) type Existing = (Vec<u8>, bool, DateTime<Utc>);

/// Decides each incoming row's fate against what the table holds.
pub(crate) fn fates<K: std::hash::Hash + Eq>(
    keys: impl Iterator<Item = K>,
    hashes: &[Vec<u8>],
    existing: &std::collections::HashMap<K, Existing>,
    touch_before: DateTime<Utc>,
) -> Vec<RowFate> {
    keys.zip(hashes)
        .map(|(key, hash)| {
            let old = existing.get(&key).map(|(h, t, s)| (h.as_slice(), *t, *s));
            fate(old, hash, touch_before)
        })
        .collect()
}

/// Indexes of the rows with the given fate.
pub(crate) fn pick(fates: &[RowFate], wanted: &[RowFate]) -> Vec<usize> {
    fates
        .iter()
        .enumerate()
        .filter(|(_, f)| wanted.contains(f))
        .map(|(i, _)| i)
        .collect()
}

/// Starts a mirror transaction.
///
/// Commits do not wait for the WAL flush (`synchronous_commit = off`): the
/// mirror can always be re-read from CloudRoom, and because each page
/// commits together with its checkpoint, a database crash that loses the
/// last commits also loses the checkpoints that claimed them, so the next run
/// re-reads exactly what was lost. It never loses earlier data and never
/// corrupts; it saves an fsync per page.
///
/// The lookups that compare a page with the table are planned on every
/// execution (`persistent(false)`): a generic plan cached while a table was
/// empty keeps scanning it whole once it holds a million rows, when nothing
/// (no autovacuum) re-analyzes it.
pub async fn begin(
    pool: &sqlx::PgPool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
    begin_with_commit(pool, false).await
}

/// Starts a transaction whose commit waits for the WAL flush, whatever the
/// server's default. The directory needs it: CloudRoom cannot list
/// departments, so a department id lost in a database crash would mean a
/// duplicate department at the next run.
pub async fn begin_durable(
    pool: &sqlx::PgPool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
    begin_with_commit(pool, true).await
}

/// The setting travels with the `begin` itself: one round trip, not two,
/// for each of the mirror's hundreds of transactions a pass.
async fn begin_with_commit(
    pool: &sqlx::PgPool,
    durable: bool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
    let statement = match durable {
        true => "begin; set local synchronous_commit = on",
        false => "begin; set local synchronous_commit = off",
    };
    pool.begin_with(statement)
        .await
        .during("starting a transaction")
}
