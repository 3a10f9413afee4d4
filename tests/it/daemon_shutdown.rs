//! `confsync run` as a real child process: SIGTERM in the middle of a
//! mirror, and the systemd notifications.

use crate::common;
use crate::common::daemon as daemon_helpers;

use std::process::Stdio;
use std::time::Duration;

use confsync::jobs::{self, RunOptions};
use confsync_sim::SimConfig;
use daemon_helpers::{child_env, confsync, runs, sigterm, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_mirror_exits_0_with_the_page_committed_and_a_rerun_completes() {
    // 2,000 meetings are 20+ history pages, paced below at ten a minute,
    // so the signal lands in the middle of the pass.
    let config = SimConfig {
        history: 2000,
        latency_ms: 150,
        ..common::small_sim()
    };
    let sim = common::simulator(config).await;
    let db = common::migrated_db().await;
    let mut env = child_env(&sim, &db);
    env.push(("CONFSYNC_SCHEDULE__HISTORY".into(), "* * * * * *".into()));
    // History pages are read ahead: ten a minute keeps the pass going
    // until the signal, however fast the machine.
    env.push((
        "CONFSYNC_CLOUDROOM__RATE_LIMITS__CONFERENCE_HISTORY".into(),
        "10".into(),
    ));
    let mut child = confsync(&env)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let count = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from cloudroom.meeting_history")
            .fetch_one(&db.pool)
            .await
            .unwrap_or(0)
    };
    wait_for(
        "the first committed page",
        Duration::from_secs(60),
        || async { count().await > 0 },
    )
    .await;
    sigterm(&child);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exits within shutdown_timeout_seconds")
        .unwrap();
    assert_eq!(status.code(), Some(0));

    let committed = count().await;
    let total = confsync_sim::lock(&sim.state.cloudroom).history().len() as i64;
    assert!(committed > 0 && committed < total, "{committed} of {total}");
    let rows = runs(&db.pool, "history").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].status, "abandoned");
    assert!(rows[0].finished_at.is_some());
    assert!(
        rows[0].error.as_deref().unwrap_or("").contains("cancelled"),
        "{rows:?}"
    );
    // The checkpoint names only committed pages: a rerun completes the pass.
    let ctx = common::mirror_context(&sim, &db);
    let summary = common::run_job(&ctx, &jobs::History, &RunOptions::default())
        .await
        .unwrap();
    assert!(summary.error.is_none(), "{summary}");
    assert_eq!(count().await, total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tells_systemd_ready_watchdog_and_stopping() {
    use tokio::net::UnixDatagram;

    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    let mut env = child_env(&sim, &db);
    env.push(("NOTIFY_SOCKET".into(), path.display().to_string()));
    env.push(("WATCHDOG_USEC".into(), "200000".into()));
    let mut cmd = confsync(&env);
    cmd.env_remove("WATCHDOG_PID");
    let mut child = cmd
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    let mut buf = vec![0u8; 4096];
    while !(seen.contains("READY=1") && seen.contains("WATCHDOG=1")) {
        let n = tokio::time::timeout(Duration::from_secs(30), socket.recv(&mut buf))
            .await
            .expect("a notification")
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    sigterm(&child);
    while !seen.contains("STOPPING=1") {
        let n = tokio::time::timeout(Duration::from_secs(30), socket.recv(&mut buf))
            .await
            .expect("STOPPING")
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(0));
}

/// The daemon's stderr until its "started" line (then it is stopped).
async fn startup_log(extra: &[(&str, &str)]) -> Vec<String> {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let mut env = child_env(&sim, &db);
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut child = confsync(&env)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    while let Some(line) = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("a log line")
        .unwrap()
    {
        let started = line.contains("confsync daemon started");
        seen.push(line);
        if started {
            break;
        }
    }
    sigterm(&child);
    assert_eq!(child.wait().await.unwrap().code(), Some(0));
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_json_when_asked_and_plain_without_timestamps_under_journald() {
    let json = startup_log(&[("CONFSYNC_LOGGING__FORMAT", "json")]).await;
    for line in &json {
        let event: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert!(event["timestamp"].is_string(), "{line}");
    }
    assert!(json.last().unwrap().contains(r#""http":"127.0.0.1:"#));

    let journald = startup_log(&[("JOURNAL_STREAM", "8:12345")]).await;
    for line in &journald {
        assert!(
            line.trim_start().starts_with("INFO") || line.trim_start().starts_with("WARN"),
            "no timestamp: {line}"
        );
    }
}

/// With stderr on the journal's stream (JOURNAL_STREAM names its
/// device:inode, as systemd sets it), each line carries its priority.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_on_the_journal_stream_carry_their_priority() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::fs::MetadataExt;

    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let (reader, writer) = std::io::pipe().unwrap();
    let stream = {
        let file = std::fs::File::from(std::os::fd::OwnedFd::from(writer.try_clone().unwrap()));
        let meta = file.metadata().unwrap();
        format!("{}:{}", meta.dev(), meta.ino())
    };
    let mut env = child_env(&sim, &db);
    env.push(("JOURNAL_STREAM".into(), stream));
    // A schedule that cannot fire, so the one warning is about it.
    env.push(("CONFSYNC_SCHEDULE__HISTORY".into(), "0 0 0 30 2 *".into()));
    let child = confsync(&env)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::from(writer))
        .spawn()
        .unwrap();
    // Read to the end: a closed pipe would make the daemon's last lines fail.
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let all = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(reader).lines() {
            let line = line.unwrap();
            if line.contains("confsync daemon started") {
                let _ = started_tx.send(());
            }
            seen.push(line);
        }
        seen
    });
    tokio::task::spawn_blocking(move || started_rx.recv_timeout(Duration::from_secs(30)))
        .await
        .unwrap()
        .expect("the daemon starts");
    sigterm(&child);
    let mut child = child;
    assert_eq!(child.wait().await.unwrap().code(), Some(0));
    let lines = all.join().unwrap();
    assert!(lines.iter().all(|l| l.starts_with('<')), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("<6>")), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("<4>")), "{lines:?}");
}
