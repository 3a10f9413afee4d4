//! The hashed upsert every mirrored table shares: each incoming row's
//! content hash is compared with the row the table holds, and only new and
//! changed rows are written; an unchanged row only has its `last_seen_at`
//! moved, at most once per [`super::SEEN_RESOLUTION`]. Each table says how
//! its rows are keyed, written and touched ([`HashedTable`]).

use std::collections::HashMap;
use std::hash::Hash;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::{fates, pick, Existing, RawJson, RowFate, StoreError};

/// A mirrored table of content-hashed rows.
pub(crate) trait HashedTable {
    type Row;
    type Key: Hash + Eq;

    fn key(row: &Self::Row) -> Self::Key;

    /// The record as received, which the hash covers.
    fn raw(row: &Self::Row) -> &serde_json::Value;

    /// Writes the rows at `picked` (new or changed) with their hashes.
    async fn write(
        conn: &mut PgConnection,
        tenant: &str,
        rows: &[Self::Row],
        raw: &RawJson,
        picked: &[usize],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Moves `last_seen_at` of the unchanged rows at `picked`.
    async fn touch(
        conn: &mut PgConnection,
        tenant: &str,
        rows: &[Self::Row],
        picked: &[usize],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

/// Compares `rows` with `existing` (what the table holds for their keys),
/// writes the new and changed ones and touches the unchanged ones last
/// seen before `touch_before`; returns each row's fate.
pub(crate) async fn upsert<T: HashedTable>(
    conn: &mut PgConnection,
    tenant: &str,
    rows: &[T::Row],
    existing: &HashMap<T::Key, Existing>,
    touch_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<RowFate>, StoreError> {
    let raw = RawJson::of(rows.iter().map(T::raw));
    let fates = fates(rows.iter().map(T::key), &raw.hashes, existing, touch_before);
    let write = pick(&fates, &[RowFate::Insert, RowFate::Update]);
    if !write.is_empty() {
        T::write(conn, tenant, rows, &raw, &write, now).await?;
    }
    let touch = pick(&fates, &[RowFate::TouchSeen]);
    if !touch.is_empty() {
        T::touch(conn, tenant, rows, &touch, now).await?;
    }
    Ok(fates)
}
