//! What the clients and jobs report to `confsync::metrics`, and retry waits
//! that a cancellation cuts short.

use crate::common;

use std::time::Duration;

use confsync::aliyun::AliyunClient;
use confsync::cloudroom::{CloudRoomClient, ListQuery};
use confsync::jobs::{self, RunOptions};
use confsync::retry::Backoff;
use tokio_util::sync::CancellationToken;

/// The value of the series whose line starts with `series` (labels in the
/// exposition's sorted order).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

/// The metrics are process-wide and every other test adds to them, so the
/// exact counts are checked in a process of their own.
#[test]
fn jobs_and_clients_report_runs_rows_calls_retries_and_waits() {
    common::run_alone("metrics::counts_of_one_run");
}

#[tokio::test]
#[ignore = "run in its own process by jobs_and_clients_report_runs_rows_calls_retries_and_waits"]
async fn counts_of_one_run() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let ctx = common::mirror_context(&sim, &db);
    sim.state.faults().fail_next = 1;
    let summary = jobs::run_job(&ctx, &jobs::Conferences, &RunOptions::default())
        .await
        .unwrap();
    assert!(summary.error.is_none(), "{summary}");
    let settings = common::settings_for(&sim, &db);
    let aliyun = AliyunClient::new(&settings.aliyun).unwrap();
    assert!(aliyun.get_user("nobody").await.unwrap().is_none());

    let text = confsync::metrics::render();
    let runs = r#"confsync_runs_total{job="conferences",outcome="succeeded"}"#;
    assert_eq!(value(&text, runs), 1.0);
    let inserted = r#"confsync_rows_total{kind="inserted",table="cloudroom.conferences"}"#;
    assert_eq!(value(&text, inserted), 30.0);
    let failed = r#"confsync_api_calls_total{code="500",endpoint="conference.list",status="500",vendor="cloudroom"}"#;
    assert_eq!(value(&text, failed), 1.0);
    let ok = r#"confsync_api_calls_total{code="0",endpoint="conference.list",status="200",vendor="cloudroom"}"#;
    assert_eq!(value(&text, ok), 1.0);
    let retries = r#"confsync_api_retries_total{endpoint="conference.list",vendor="cloudroom"}"#;
    assert_eq!(value(&text, retries), 1.0);
    assert!(text.contains(r#"vendor="aliyun""#), "{text}");
    assert!(text.contains(r#"endpoint="GetUser""#), "{text}");
    assert!(
        value(
            &text,
            r#"confsync_rate_limiter_wait_seconds_total{vendor="cloudroom"}"#
        ) >= 0.0
    );
    assert_eq!(
        value(
            &text,
            r#"confsync_run_duration_seconds_count{job="conferences"}"#
        ),
        1.0
    );
    let last = value(
        &text,
        r#"confsync_last_success_timestamp_seconds{job="conferences"}"#,
    );
    assert!(last > 1.7e9, "{last}");
    // The text format's metadata for every family.
    for family in [
        "confsync_runs_total",
        "confsync_rows_total",
        "confsync_api_calls_total",
        "confsync_api_retries_total",
        "confsync_rate_limiter_wait_seconds_total",
        "confsync_run_duration_seconds",
        "confsync_last_success_timestamp_seconds",
    ] {
        assert!(text.contains(&format!("# HELP {family} ")), "{family}");
        assert!(text.contains(&format!("# TYPE {family} ")), "{family}");
    }
}

#[tokio::test]
async fn a_cancellation_cuts_a_retry_wait_short() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::test_db().await;
    let settings = common::settings_for(&sim, &db);
    let cancel = CancellationToken::new();
    // A retry wait of at least five minutes: only the cancellation can end it.
    // (History, not the conference list: the other test counts those calls.)
    let backoff = Backoff {
        base: Duration::from_secs(600),
        max: Duration::from_secs(600),
        max_retries: 3,
    };
    let cloudroom = CloudRoomClient::new(&settings.cloudroom)
        .unwrap()
        .with_backoff(backoff.clone())
        .with_cancel(cancel.clone());
    let aliyun = AliyunClient::new(&settings.aliyun)
        .unwrap()
        .with_backoff(backoff)
        .with_cancel(cancel.clone());
    sim.state.faults().fail_next = 2;
    let calls = tokio::spawn(async move {
        let cr = cloudroom.list_history(&ListQuery::page(1, 10)).await;
        let al = aliyun.get_user("someone").await;
        (cr, al)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    cancel.cancel();
    let (cr, al) = tokio::time::timeout(Duration::from_secs(60), calls)
        .await
        .expect("the waits ended with the cancellation")
        .unwrap();
    // The last error comes back; nothing was retried after the cancellation.
    assert_eq!(cr.unwrap_err().code(), Some(500));
    assert!(al.is_err());
    assert_eq!(sim.state.requests("cloudroom", None, None), 1);
}
