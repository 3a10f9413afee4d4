//! What the clients and jobs report to `confsync::metrics`, and retry waits
//! that a cancellation cuts short.

use crate::common;
use crate::common::directory as dh;

use std::time::Duration;

use confsync::aliyun::{AliyunClient, AliyunError};
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
    let summary = common::run_job(&ctx, &jobs::Conferences, &RunOptions::default())
        .await
        .unwrap();
    assert!(summary.error.is_none(), "{summary}");
    let settings = common::settings_for(&sim, &db);
    let aliyun = AliyunClient::new(&settings.aliyun).unwrap();
    // The simulator's default answer for a missing user is Success=false,
    // an error of the call (docs/simulator.md), which is counted too.
    let absent = aliyun.get_user("nobody").await.unwrap_err();
    assert!(matches!(absent, AliyunError::Business { .. }), "{absent:?}");

    let text = confsync::metrics::render();
    let runs =
        r#"confsync_runs_total{confsync_job="conferences",outcome="succeeded",tenant="default"}"#;
    assert_eq!(value(&text, runs), 1.0);
    let inserted =
        r#"confsync_rows_total{kind="inserted",table="cloudroom.conferences",tenant="default"}"#;
    assert_eq!(value(&text, inserted), 30.0);
    let failed = r#"confsync_api_calls_total{code="500",endpoint="conference.list",status="500",tenant="default",vendor="cloudroom"}"#;
    assert_eq!(value(&text, failed), 1.0);
    let ok = r#"confsync_api_calls_total{code="0",endpoint="conference.list",status="200",tenant="default",vendor="cloudroom"}"#;
    assert_eq!(value(&text, ok), 1.0);
    let retries = r#"confsync_api_retries_total{endpoint="conference.list",tenant="default",vendor="cloudroom"}"#;
    assert_eq!(value(&text, retries), 1.0);
    assert!(text.contains(r#"vendor="aliyun""#), "{text}");
    assert!(text.contains(r#"endpoint="GetUser""#), "{text}");
    assert!(
        value(
            &text,
            r#"confsync_rate_limiter_wait_seconds_total{tenant="default",vendor="cloudroom"}"#
        ) >= 0.0
    );
    assert_eq!(
        value(
            &text,
            r#"confsync_run_duration_seconds_count{confsync_job="conferences"}"#
        ),
        1.0
    );
    let last = value(
        &text,
        r#"confsync_last_success_timestamp_seconds{confsync_job="conferences",tenant="default"}"#,
    );
    assert!(last > 1.7e9, "{last}");
    // Each attempt's latency, per endpoint: the failed one and the retry.
    let latency = r#"confsync_api_request_duration_seconds_count{endpoint="conference.list",vendor="cloudroom"}"#;
    assert_eq!(value(&text, latency), 2.0);
    let build = format!(
        r#"confsync_build_info{{revision="{}",version="{}"}}"#,
        env!("BUILD_GIT_REVISION"),
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(value(&text, &build), 1.0);
    assert!(value(&text, "process_resident_memory_bytes") > 1e6);
    // The text format's metadata for every family.
    for family in [
        "confsync_runs_total",
        "confsync_rows_total",
        "confsync_api_calls_total",
        "confsync_api_retries_total",
        "confsync_api_request_duration_seconds",
        "confsync_rate_limiter_wait_seconds_total",
        "confsync_run_duration_seconds",
        "confsync_last_success_timestamp_seconds",
        "confsync_build_info",
        "process_cpu_seconds_total",
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

/// The directory's objects have their own family, apart from the mirror's
/// rows; and the last success survives a restart.
#[test]
fn directory_objects_and_restored_last_success() {
    common::run_alone("metrics::directory_objects_and_last_success_of_a_restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run in its own process by directory_objects_and_restored_last_success"]
async fn directory_objects_and_last_success_of_a_restart() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let (_dir, source) = dh::write_source("hr.csv", dh::sample_text().as_bytes());
    let settings = dh::settings(&sim, &db, &source);
    let summary = dh::apply(&settings, &db).await;
    assert!(!summary.failed(), "{summary}");
    let text = confsync::metrics::render();
    let created = r#"confsync_directory_objects_total{outcome="created",section="cloudroom_users",tenant="default"}"#;
    assert!(value(&text, created) > 0.0, "{text}");
    let staged = r#"confsync_directory_staged_deletes{section="aliyun_users",tenant="default"}"#;
    assert_eq!(value(&text, staged), 0.0);
    assert!(!text.contains(r#"table="cloudroom_users""#), "{text}");

    // A success recorded by an earlier process: 2026-01-02T00:00:00Z.
    sqlx::query("insert into confsync.sync_runs (job, status, started_at, finished_at) values ('reconcile', 'succeeded', to_timestamp(1767312000), to_timestamp(1767312000))")
        .execute(&db.pool)
        .await
        .unwrap();
    let mut daemon_settings = common::daemon::daemon_settings(&sim, &db);
    daemon_settings.schedule.reconcile = "0 0 3 1 1 *".into();
    let running = confsync::app::start_daemon(daemon_settings).await.unwrap();
    let text = confsync::metrics::render();
    let last =
        r#"confsync_last_success_timestamp_seconds{confsync_job="reconcile",tenant="default"}"#;
    assert_eq!(value(&text, last), 1_767_312_000.0);
    assert!(running.shutdown(common::daemon::SHUTDOWN).await);
}

/// The shipped alert rules and dashboard name only metrics confsync
/// defines, so that a renamed metric cannot leave them silently empty.
#[test]
fn monitoring_names_only_metrics_confsync_exports() {
    let defined = confsync::metrics::family_names();
    assert!(
        defined.iter().any(|n| n == "confsync_runs_total"),
        "{defined:?}"
    );
    let name = metric_names;
    for file in ["monitoring/alerts.yml", "monitoring/grafana-dashboard.json"] {
        let text = std::fs::read_to_string(file).unwrap();
        let used = name(&text);
        assert!(used.len() >= 4, "{file}: {used:?}");
        for metric in used {
            let family = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|suffix| metric.strip_suffix(suffix))
                .filter(|base| defined.iter().any(|d| d == base))
                .unwrap_or(&metric);
            assert!(
                defined.iter().any(|d| d == family),
                "{file} names {metric}, which confsync does not export"
            );
        }
    }
}

/// Words starting `confsync_` or `process_` (metric names; the label
/// `confsync_job` is skipped).
fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("confsync_") || w.starts_with("process_"))
        .filter(|w| *w != "confsync_job")
        .map(str::to_string)
        .collect()
}
