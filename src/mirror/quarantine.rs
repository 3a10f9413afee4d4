//! What the mirror sets aside instead of failing a page: entries that are
//! no record, records without their key, and a key twice in one write.

use std::collections::HashSet;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::cloudroom::models::Rejected;
use crate::store::conferences::ConferenceRow;
use crate::store::history::HistoryRow;
use crate::store::quarantine::Quarantined;
use crate::store::recordings::RecordingRow;

macro_rules! as_received {
    ($($row:ty),*) => {$(
        impl AsReceived for $row {
            fn as_received(&self) -> (&Value, Option<&str>) {
                (&self.raw, self.raw_original.as_deref())
            }
        }
    )*};
}
as_received!(ConferenceRow, HistoryRow, RecordingRow);

/// A record of `endpoint` that cannot be stored. `key` is `None` for an
/// entry without one: a digest of the entry stands in.
pub fn set_aside(
    endpoint: &'static str,
    key: Option<String>,
    (raw, raw_original): (&Value, Option<&str>),
    reason: impl Into<String>,
) -> Quarantined {
    let raw = raw_original.map_or_else(|| raw.to_string(), str::to_string);
    let key = key.unwrap_or_else(|| {
        let digest = hex::encode(Sha256::digest(raw.as_bytes()));
        format!("raw:{}", &digest[..16])
    });
    Quarantined {
        endpoint,
        key,
        raw,
        reason: reason.into(),
    }
}

/// A list entry that did not decode.
pub fn rejected(endpoint: &'static str, entry: Rejected) -> Quarantined {
    set_aside(
        endpoint,
        None,
        (&entry.raw, entry.raw_original.as_deref()),
        entry.reason,
    )
}

/// A stored row's record as quarantine keeps it: as received.
pub trait AsReceived {
    fn as_received(&self) -> (&Value, Option<&str>);
}

/// The first row of each key; the later ones of a key are set aside
/// (one write may not touch a row twice).
pub fn first_of_each<R: AsReceived>(
    rows: Vec<R>,
    endpoint: &'static str,
    key: impl Fn(&R) -> String,
) -> (Vec<R>, Vec<Quarantined>) {
    first_unseen(rows, endpoint, key, &mut HashSet::new())
}

/// [`first_of_each`] across several calls: `seen` holds the keys kept so far.
pub fn first_unseen<R: AsReceived>(
    rows: Vec<R>,
    endpoint: &'static str,
    key: impl Fn(&R) -> String,
    seen: &mut HashSet<String>,
) -> (Vec<R>, Vec<Quarantined>) {
    let (mut kept, mut aside) = (Vec::with_capacity(rows.len()), Vec::new());
    for row in rows {
        let k = key(&row);
        if seen.insert(k.clone()) {
            kept.push(row);
        } else {
            let reason = "the same key twice in one answer; the first was stored";
            aside.push(set_aside(endpoint, Some(k), row.as_received(), reason));
        }
    }
    (kept, aside)
}

/// The keys of `stored` that were not set aside as well: their open
/// quarantine rows can be closed.
pub fn released(stored: impl Iterator<Item = String>, aside: &[Quarantined]) -> Vec<String> {
    let held: HashSet<&str> = aside.iter().map(|q| q.key.as_str()).collect();
    stored.filter(|k| !held.contains(k.as_str())).collect()
}

/// A pass's quarantine: each write holds what its page set aside and
/// closes the rows of the keys it stored, in the page's transaction.
pub struct PassQuarantine {
    tenant: String,
    job: &'static str,
    endpoint: &'static str,
    /// Whether rows of this endpoint may be open: if none were at the
    /// start and none were held since, nothing needs closing.
    open: std::sync::atomic::AtomicBool,
}

impl PassQuarantine {
    pub async fn start(
        pool: &sqlx::PgPool,
        (tenant, job): (&str, &'static str),
        endpoint: &'static str,
    ) -> Result<Self, crate::store::StoreError> {
        let open = crate::store::quarantine::any_open(pool, tenant, endpoint).await?;
        Ok(PassQuarantine {
            tenant: tenant.to_string(),
            job,
            endpoint,
            open: open.into(),
        })
    }

    /// Holds `aside` and closes the open rows of `stored`; returns how many
    /// records were set aside.
    pub async fn settle(
        &self,
        conn: &mut sqlx::PgConnection,
        stored: impl Iterator<Item = String>,
        aside: &[Quarantined],
    ) -> Result<u64, crate::store::StoreError> {
        use crate::store::quarantine::{hold, release};
        use std::sync::atomic::Ordering;
        if self.open.load(Ordering::Acquire) {
            release(conn, &self.tenant, self.endpoint, &released(stored, aside)).await?;
        }
        if !aside.is_empty() {
            self.open.store(true, Ordering::Release);
            crate::metrics::record_quarantined(&self.tenant, self.endpoint, aside.len() as u64);
            for q in aside {
                tracing::warn!(tenant = %self.tenant, endpoint = q.endpoint, key = %q.key, reason = %q.reason, "a record was quarantined instead of stored");
            }
        }
        hold(conn, (&self.tenant, self.job), aside).await
    }
}

/// Converts each record, setting aside those that cannot be keyed.
pub fn convert_all<T, R>(
    records: Vec<T>,
    convert: impl Fn(T) -> Result<R, Quarantined>,
) -> (Vec<R>, Vec<Quarantined>) {
    let (mut rows, mut aside) = (Vec::with_capacity(records.len()), Vec::new());
    for record in records {
        match convert(record) {
            Ok(row) => rows.push(row),
            Err(q) => aside.push(q),
        }
    }
    (rows, aside)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    impl AsReceived for Value {
        fn as_received(&self) -> (&Value, Option<&str>) {
            (self, None)
        }
    }

    #[test]
    fn later_duplicates_are_set_aside_and_keep_their_key() {
        let rows = vec![
            json!({"id": 1, "v": "a"}),
            json!({"id": 2}),
            json!({"id": 1, "v": "b"}),
        ];
        let (kept, aside) = first_of_each(rows, "video.list", |r| r["id"].to_string());
        assert_eq!(kept.len(), 2);
        assert_eq!(aside.len(), 1);
        assert_eq!(aside[0].key, "1");
        assert!(aside[0].raw.contains("\"b\""));
        assert_eq!(
            released(["1".into(), "2".into()].into_iter(), &aside),
            ["2"]
        );
    }

    #[test]
    fn an_entry_without_a_key_is_named_by_its_digest() {
        let q = set_aside(
            "video.list",
            None,
            (&Value::Null, None),
            "not a record: null",
        );
        assert!(q.key.starts_with("raw:") && q.key.len() == 20, "{}", q.key);
        assert_eq!(q.raw, "null");
    }
}
