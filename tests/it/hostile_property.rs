//! Random hostile worlds (proptest): in each, the mirror stores every
//! storable record, equal to what the simulator holds after NUL
//! replacement, quarantines the rest, fails no run, leaves no run
//! running, and a rerun rewrites nothing. One database; each world is a
//! tenant of its own.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use confsync::jobs::RunOptions;
use confsync_sim::SimConfig;
use proptest::prelude::*;

/// Cases per `cargo test`: each a simulator and two mirrors (about 0.3 s).
const CASES: u32 = 64;

static WORLDS: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, Clone)]
struct World {
    seed: u64,
    conferences: usize,
    history: usize,
    recordings_per_conference: usize,
    hostile: bool,
}

fn worlds() -> impl Strategy<Value = World> {
    (
        any::<u64>(),
        0usize..8,
        0usize..40,
        0usize..4,
        prop::bool::weighted(0.85),
    )
        .prop_map(
            |(seed, conferences, history, recordings_per_conference, hostile)| World {
                seed,
                conferences,
                history,
                recordings_per_conference,
                hostile,
            },
        )
}

/// What the mirror holds for `tenant`: history subjects by key, recordings
/// by fileId, and the raw text of every open quarantine row.
async fn mirrored(
    pool: &sqlx::PgPool,
    tenant: &str,
) -> (
    BTreeMap<(i64, i64), Option<String>>,
    BTreeSet<String>,
    Vec<String>,
) {
    let history: Vec<(i64, i64, Option<String>)> = sqlx::query_as(
        "select conf_id, extract(epoch from start_time)::bigint, subject
           from cloudroom.meeting_history where tenant = $1",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .unwrap();
    let files: Vec<String> =
        sqlx::query_scalar("select file_id from cloudroom.recordings where tenant = $1")
            .bind(tenant)
            .fetch_all(pool)
            .await
            .unwrap();
    let held: Vec<String> = sqlx::query_scalar(
        "select raw || ' ' || record_key from confsync.quarantine where tenant = $1 and resolved_at is null",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .unwrap();
    let history = history
        .into_iter()
        .map(|(c, s, subject)| ((c, s), subject))
        .collect();
    (history, files.into_iter().collect(), held)
}

async fn check_world(db: &common::TestDb, world: World) -> Result<(), TestCaseError> {
    let tenant = format!("p{}", WORLDS.fetch_add(1, Ordering::Relaxed));
    let sim = common::simulator(SimConfig {
        seed: world.seed,
        conferences: world.conferences,
        history: world.history,
        recordings_per_conference: world.recordings_per_conference,
        hostile_data: world.hostile,
        ..common::small_sim()
    })
    .await;
    let mut settings = common::settings_for(&sim, db);
    settings.cloudroom.tenant = tenant.clone();
    let ctx = common::job_context(settings, db);
    let first = common::run_mirror(&ctx, &RunOptions::default())
        .await
        .unwrap();
    for s in &first {
        prop_assert!(s.error.is_none(), "{world:?}: {s}");
    }
    let (history, files, held) = mirrored(&db.pool, &tenant).await;
    let (truth, recordings) = {
        let w = confsync_sim::lock(&sim.state.cloudroom);
        let truth: Vec<(i64, i64, String)> = w
            .history()
            .iter()
            .map(|m| (m.conf_id, m.start_time, m.subject.to_string()))
            .collect();
        let recordings: Vec<(String, i64, i64)> = w
            .recordings()
            .iter()
            .map(|r| (r.file_id.to_string(), r.conf_id, r.create_time))
            .collect();
        (truth, recordings)
    };
    for (conf_id, start, subject) in truth {
        match history.get(&(conf_id, start)) {
            // Stored: the truth, after replacement, or a hostile variant of it
            // (the simulator appended to it or replaced it in its answer).
            Some(stored) => {
                let stored = stored.clone().unwrap_or_default();
                prop_assert!(!stored.contains('\0'));
                let replaced = subject.replace('\0', "\u{fffd}");
                prop_assert!(
                    stored.starts_with(&replaced) || stored.chars().all(|c| c == '长'),
                    "{world:?}: {conf_id}@{start}: {stored:?} is not {replaced:?}"
                );
            }
            None => prop_assert!(
                held.iter()
                    .any(|h| h.contains(&format!("\"startTime\":{start}"))),
                "{world:?}: meeting {conf_id}@{start} neither stored nor quarantined"
            ),
        }
    }
    // Recordings are read for the meetings stored; each is stored or held.
    let read: BTreeSet<i64> = history.keys().map(|(c, _)| *c).collect();
    for (file_id, conf_id, created) in &recordings {
        if read.contains(conf_id) && !files.contains(file_id) {
            prop_assert!(
                held.iter().any(|h| h.contains(file_id.as_str())
                    || h.contains(&format!("\"createTime\":{created}"))),
                "{world:?}: recording {file_id} of {conf_id} neither stored nor quarantined"
            );
        }
    }
    let again = common::run_mirror(&ctx, &RunOptions::default())
        .await
        .unwrap();
    let rewritten: u64 = again.iter().map(|s| s.rows_inserted + s.rows_updated).sum();
    prop_assert_eq!(rewritten, 0, "{:?}: {:?}", world, again);
    let stuck: i64 = sqlx::query_scalar(
        "select count(*) from confsync.sync_runs where tenant = $1 and status <> 'succeeded'",
    )
    .bind(&tenant)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    prop_assert_eq!(stuck, 0, "{:?}", world);
    sim.stop().await;
    Ok(())
}

#[test]
fn random_hostile_worlds_are_stored_or_quarantined_and_converge() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = runtime.block_on(common::migrated_db());
    let config = ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(world in worlds())| {
        runtime.block_on(check_world(&db, world))?;
    });
}
