use crate::common;

use chrono::{TimeZone, Utc};
use confsync::store::conferences::{self, ConferenceRow};
use confsync::store::history::{self, HistoryRow};
use confsync::store::recordings::{self, ConferenceRecordings, RecordingRow};
use confsync::store::SEEN_RESOLUTION;
use serde_json::json;

fn conference(id: i64, subject: &str) -> ConferenceRow {
    ConferenceRow {
        conf_id: id,
        subject: Some(subject.into()),
        conf_type: Some(1),
        status: Some(0),
        schedule_start: Utc.timestamp_opt(1_700_000_000, 0).single(),
        schedule_end: None,
        host_name: Some("张三".into()),
        members: Some(3),
        period_type: Some(0),
        owner_id: Some(3_000_000_000),
        raw: json!({"confId": id, "subject": subject}),
        raw_original: None,
    }
}

#[tokio::test]
async fn unchanged_rows_are_not_rewritten_and_removed_rows_return() {
    let db = common::migrated_db().await;
    let now = Utc::now();
    let mut conn = db.pool.acquire().await.unwrap();
    let page = vec![conference(1, "a"), conference(2, "b")];
    let first = conferences::upsert_page(&mut conn, "default", &page, now)
        .await
        .unwrap();
    assert_eq!((first.inserted, first.updated, first.unchanged), (2, 0, 0));
    let again = conferences::upsert_page(&mut conn, "default", &page, now)
        .await
        .unwrap();
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 2));
    let changed = vec![conference(1, "a2"), conference(2, "b")];
    let third = conferences::upsert_page(&mut conn, "default", &changed, now)
        .await
        .unwrap();
    assert_eq!((third.inserted, third.updated, third.unchanged), (0, 1, 1));
    assert_eq!(
        conferences::mark_removed(&mut conn, "default", &[1], now)
            .await
            .unwrap(),
        1
    );
    let back = conferences::upsert_page(&mut conn, "default", &page, now)
        .await
        .unwrap();
    assert_eq!(
        back.updated, 2,
        "a changed subject and a returning conference"
    );
    let removed: i64 = sqlx::query_scalar(
        "select count(*) from cloudroom.conferences where removed_at is not null",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(removed, 0);
}

#[tokio::test]
async fn history_queues_conferences_and_recordings_archive_urls() {
    let db = common::migrated_db().await;
    let now = Utc::now();
    let mut conn = db.pool.acquire().await.unwrap();
    let start = Utc.timestamp_opt(1_700_000_000, 0).single().unwrap();
    let rows: Vec<HistoryRow> = (0..2)
        .map(|i| HistoryRow {
            conf_id: 77,
            start_time: start + chrono::Duration::days(7 * i),
            subject: Some("周会".into()),
            conf_type: Some(1),
            end_time: Some(start + chrono::Duration::days(7 * i) + chrono::Duration::hours(1)),
            duration_seconds: Some(3600),
            host_name: None,
            members: Some(5),
            period_type: Some(3),
            raw: json!({"confId": 77, "startTime": i}),
            raw_original: None,
        })
        .collect();
    let counts = history::upsert_page(
        &mut conn,
        "default",
        &rows,
        now,
        now - SEEN_RESOLUTION,
        false,
    )
    .await
    .unwrap()
    .counts;
    assert_eq!(
        counts.inserted, 2,
        "a periodic meeting keeps both occurrences"
    );
    assert_eq!(
        recordings::queued(&mut conn, "default").await.unwrap(),
        vec![77]
    );

    let rec = |url: &str| RecordingRow {
        file_id: "f1".into(),
        conf_id: 77,
        title: Some("录像".into()),
        created_at: None,
        duration_seconds: Some(60),
        size_bytes: Some(5_000_000_000),
        vod_url: Some("http://v/1".into()),
        download_url: Some(url.into()),
        raw: json!({"fileId": "f1", "url": url}),
        raw_original: None,
    };
    let read = |rows: Vec<RecordingRow>| {
        vec![ConferenceRecordings {
            conf_id: 77,
            rows: Some(rows),
            complete: true,
        }]
    };
    recordings::write_conferences(&mut conn, "default", read(vec![rec("http://d/1")]), now)
        .await
        .unwrap();
    recordings::write_conferences(&mut conn, "default", read(vec![rec("http://d/2")]), now)
        .await
        .unwrap();
    let urls: i64 = sqlx::query_scalar("select count(*) from cloudroom.recording_urls")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(urls, 2);
    let gone = recordings::write_conferences(&mut conn, "default", read(vec![]), now)
        .await
        .unwrap();
    assert_eq!(gone.updated, 1);
    let changes: i64 = sqlx::query_scalar("select count(*) from report.recording_url_changes")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(changes, 2);
}

#[tokio::test]
async fn a_job_lock_is_exclusive_until_released_or_dropped() {
    use confsync::store::locks::JobLock;
    let db = common::migrated_db().await;
    let first = JobLock::try_acquire(&db.pool, "default", "history")
        .await
        .unwrap();
    assert!(first.is_some());
    assert!(JobLock::try_acquire(&db.pool, "default", "history")
        .await
        .unwrap()
        .is_none());
    assert!(JobLock::try_acquire(&db.pool, "default", "recordings")
        .await
        .unwrap()
        .is_some());
    assert!(JobLock::try_acquire(&db.pool, "other", "history")
        .await
        .unwrap()
        .is_some());
    first.unwrap().release().await.unwrap();
    let again = JobLock::try_acquire(&db.pool, "default", "history")
        .await
        .unwrap();
    assert!(again.is_some());
    drop(again);
    // The dropped guard's connection closes asynchronously; give the server a moment.
    let mut retaken = None;
    for _ in 0..50 {
        retaken = JobLock::try_acquire(&db.pool, "default", "history")
            .await
            .unwrap();
        if retaken.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(retaken.is_some());
}

#[tokio::test]
async fn a_backfill_page_counts_what_it_wrote_without_a_lookup() {
    let db = common::migrated_db().await;
    let now = Utc::now();
    let mut conn = db.pool.acquire().await.unwrap();
    let start = Utc.timestamp_opt(1_700_000_000, 0).single().unwrap();
    let row = |i: i64, subject: &str| HistoryRow {
        conf_id: 900 + i,
        start_time: start + chrono::Duration::hours(i),
        subject: Some(subject.into()),
        conf_type: None,
        end_time: None,
        duration_seconds: None,
        host_name: None,
        members: None,
        period_type: None,
        raw: json!({"confId": 900 + i, "subject": subject}),
        raw_original: None,
    };
    let end = start + chrono::Duration::days(1);
    assert!(history::window_is_empty(&mut conn, "default", start, end)
        .await
        .unwrap());
    let page = vec![row(0, "a"), row(1, "b")];
    let first = history::upsert_page(
        &mut conn,
        "default",
        &page,
        now,
        now - SEEN_RESOLUTION,
        true,
    )
    .await
    .unwrap()
    .counts;
    assert_eq!((first.inserted, first.updated, first.unchanged), (2, 0, 0));
    assert!(!history::window_is_empty(&mut conn, "default", start, end)
        .await
        .unwrap());
    // A row a shifted page repeats, and one that changed in between.
    let again = vec![row(0, "a"), row(1, "b2")];
    let second = history::upsert_page(
        &mut conn,
        "default",
        &again,
        now,
        now - SEEN_RESOLUTION,
        true,
    )
    .await
    .unwrap()
    .counts;
    assert_eq!(
        (second.inserted, second.updated, second.unchanged),
        (0, 1, 1)
    );
}

/// The mirror's transactions may lose their tail in a crash (their
/// checkpoints go with it); the directory's may not: CloudRoom cannot list
/// departments, so a lost department id means a duplicate department.
#[tokio::test]
async fn directory_transactions_commit_durably_and_the_mirrors_do_not() {
    let db = common::migrated_db().await;
    let setting = |durable: bool| {
        let pool = db.pool.clone();
        async move {
            let mut tx = if durable {
                confsync::store::begin_durable(&pool).await.unwrap()
            } else {
                confsync::store::begin(&pool).await.unwrap()
            };
            let value: String = sqlx::query_scalar("select current_setting('synchronous_commit')")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            value
        }
    };
    assert_eq!(setting(true).await, "on");
    assert_eq!(setting(false).await, "off");
}

/// A first sync writes with a plain insert; a batch that meets a row an
/// earlier batch wrote (the same fileId under two conferences) falls back
/// to the upsert in the same transaction instead of failing.
#[tokio::test]
async fn a_first_sync_batch_that_meets_an_existing_recording_is_upserted() {
    let db = common::migrated_db().await;
    let mut tx = db.pool.begin().await.unwrap();
    let now = chrono::Utc::now();
    let batch = |conf_id: i64, file_ids: &[&str]| {
        let rows = file_ids.iter().map(|f| RecordingRow {
            file_id: f.to_string(),
            conf_id,
            title: Some(format!("{f} of {conf_id}")),
            created_at: None,
            duration_seconds: None,
            size_bytes: None,
            vod_url: None,
            download_url: Some(format!("http://d/{conf_id}/{f}")),
            raw: json!({"fileId": f, "conf": conf_id}),
            raw_original: None,
        });
        vec![ConferenceRecordings {
            conf_id,
            rows: Some(rows.collect()),
            complete: true,
        }]
    };
    let first = recordings::write_first_conferences(&mut tx, "default", batch(1, &["a", "b"]), now)
        .await
        .unwrap();
    assert_eq!((first.inserted, first.updated), (2, 0));
    let second =
        recordings::write_first_conferences(&mut tx, "default", batch(2, &["b", "c"]), now)
            .await
            .unwrap();
    // A first sync compares with nothing, so what it writes counts as new.
    assert_eq!(second.inserted + second.updated, 2);
    tx.commit().await.unwrap();
    let rows: Vec<(String, i64)> =
        sqlx::query_as("select file_id, conf_id from cloudroom.recordings order by file_id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let expected = [("a", 1), ("b", 2), ("c", 2)].map(|(f, c)| (f.to_string(), c));
    assert_eq!(rows, expected);
    let urls: i64 = sqlx::query_scalar("select count(*) from cloudroom.recording_urls")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(urls, 4, "b keeps both of its URLs");
}
