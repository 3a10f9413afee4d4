//! `confsync bench mirror`: measures the mirror as a user runs it.
//!
//! The simulator and each sync run are separate processes (this binary), so
//! the peak RSS reported is that of the sync process alone, and the request
//! counts come from the simulator's own counters, not from our client.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Instant;

use anyhow::{bail, Context as _};
use serde_json::Value;
use sqlx::PgPool;

use crate::configuration::Settings;
use crate::mirror::history::WINDOW_SECONDS;
use confsync_sim::{DOC_SECRET_ID, DOC_SECRET_KEY};

#[derive(Debug, Clone, clap::Args)]
pub struct MirrorBenchArgs {
    /// Seed of the simulator's data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Conferences in the simulator's list.
    #[arg(long, default_value_t = 2_000)]
    pub conferences: usize,
    /// Ended meetings in the simulator's history.
    #[arg(long, default_value_t = 20_000)]
    pub history: usize,
    /// Recordings per ended meeting.
    #[arg(long, default_value_t = 2)]
    pub recordings_per_conference: usize,
    /// History rows of the memory run (0 skips it).
    #[arg(long, default_value_t = 1_000_000)]
    pub large_history: usize,
    /// Database the benchmark recreates for each run.
    #[arg(
        long,
        default_value = "postgres://postgres@127.0.0.1:5432/confsync_bench"
    )]
    pub database_url: String,
}

/// One sync process: what it took and what it did.
#[derive(Debug, Default)]
struct Measured {
    seconds: f64,
    peak_rss_kib: i64,
    rows_written: u64,
    rows_seen: u64,
    requests: BTreeMap<String, u64>,
}

impl Measured {
    fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }
}

pub async fn run(_settings: &Settings, args: &MirrorBenchArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("cannot find this executable")?;
    let history_start = (chrono::Utc::now() - chrono::Duration::days(3 * 366 + 7))
        .format("%Y-%m-%d")
        .to_string();
    println!(
        "confsync bench mirror: seed {}, {} conferences, {} history rows, {} recordings per meeting, rate limit off",
        args.seed, args.conferences, args.history, args.recordings_per_conference
    );
    let sim = super::Simulator::spawn(
        &exe,
        args.seed,
        args.conferences,
        args.history,
        args.recordings_per_conference,
    )
    .await?;
    let pool = super::fresh_database(&args.database_url).await?;
    let env = sync_env(&sim.base_url, &args.database_url, &history_start);
    let minimum = minimum_requests(&sim.base_url, &history_start).await?;

    let first = run_sync(
        &exe,
        &env,
        &sim.base_url,
        &["sync", "mirror", "--json"],
        &pool,
    )
    .await?;
    print_run("first sync", &first);
    print_minimum(&first, &minimum);
    let second = run_sync(
        &exe,
        &env,
        &sim.base_url,
        &["sync", "mirror", "--json"],
        &pool,
    )
    .await?;
    print_run("no-change re-sync", &second);
    println!(
        "  requests: {:.2}% of the first sync; rows rewritten: {}",
        100.0 * second.total_requests() as f64 / first.total_requests().max(1) as f64,
        second.rows_written
    );
    sim.stop().await;

    if args.large_history > 0 {
        large_history_run(&exe, args, &history_start).await?;
    }
    Ok(())
}

/// The history job alone on `args.large_history` rows, for its memory.
async fn large_history_run(
    exe: &std::path::Path,
    args: &MirrorBenchArgs,
    history_start: &str,
) -> anyhow::Result<()> {
    println!(
        "\nmemory run: {} history rows (history job only)",
        args.large_history
    );
    let sim = super::Simulator::spawn(exe, args.seed, 0, args.large_history, 0).await?;
    let pool = super::fresh_database(&args.database_url).await?;
    let env = sync_env(&sim.base_url, &args.database_url, history_start);
    let large = run_sync(
        exe,
        &env,
        &sim.base_url,
        &["sync", "history", "--json"],
        &pool,
    )
    .await?;
    print_run("large history", &large);
    sim.stop().await;
    Ok(())
}

/// Whether the first sync sent exactly the requests a mirror needs.
fn print_minimum(first: &Measured, minimum: &BTreeMap<String, u64>) {
    println!(
        "  requests vs minimum: {} sent, {} minimum ({})",
        first.total_requests(),
        minimum.values().sum::<u64>(),
        if first.requests == *minimum {
            "exactly the minimum"
        } else {
            "NOT the minimum"
        }
    );
    if first.requests != *minimum {
        println!("  minimum by endpoint: {minimum:?}");
    }
}

fn print_run(label: &str, m: &Measured) {
    println!(
        "{label}: {:.2} s, {} rows seen ({:.0} rows/s), {} rows written, {} requests, peak RSS {:.1} MiB",
        m.seconds,
        m.rows_seen,
        m.rows_seen as f64 / m.seconds.max(1e-9),
        m.rows_written,
        m.total_requests(),
        m.peak_rss_kib as f64 / 1024.0
    );
    println!("  requests by endpoint: {:?}", m.requests);
}

fn sync_env(sim: &str, database_url: &str, history_start: &str) -> Vec<(String, String)> {
    [
        ("CONFSYNC_DATABASE__URL", database_url.to_string()),
        (
            "CONFSYNC_CLOUDROOM__BASE_URL",
            format!("{sim}/CLOUDROOM-SERVER"),
        ),
        ("CONFSYNC_CLOUDROOM__SECRET_ID", DOC_SECRET_ID.to_string()),
        ("CONFSYNC_CLOUDROOM__SECRET_KEY", DOC_SECRET_KEY.to_string()),
        (
            "CONFSYNC_CLOUDROOM__REQUESTS_PER_MINUTE",
            "100000000".to_string(),
        ),
        (
            "CONFSYNC_CLOUDROOM__HISTORY_START",
            history_start.to_string(),
        ),
        ("CONFSYNC_LOGGING__LEVEL", "warn".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Runs `confsync <args>` as a child and measures it.
async fn run_sync(
    exe: &std::path::Path,
    env: &[(String, String)],
    sim: &str,
    args: &[&str],
    pool: &PgPool,
) -> anyhow::Result<Measured> {
    let before = super::counters(sim).await?;
    let xid = crate::store::bench::current_xid(pool).await?;
    let started = Instant::now();
    let child = std::process::Command::new(exe)
        .args(args)
        .env_remove("CONFSYNC_CONFIG")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start the sync process")?;
    let (status, stdout) = tokio::task::spawn_blocking(move || wait_for(child)).await??;
    let seconds = started.elapsed().as_secs_f64();
    if !status {
        bail!("`confsync {}` failed", args.join(" "));
    }
    let after = super::counters(sim).await?;
    let requests = after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect();
    let summaries: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect();
    let rows_seen = summaries
        .iter()
        .map(|v| {
            ["rows_inserted", "rows_updated", "rows_unchanged"]
                .iter()
                .map(|k| v[k].as_u64().unwrap_or(0))
                .sum::<u64>()
        })
        .sum();
    // The process reports its own peak (VmHWM) with each summary; the last is the highest.
    let peak_rss_kib = summaries
        .iter()
        .filter_map(|v| v["peak_rss_kib"].as_i64())
        .max()
        .unwrap_or(0);
    Ok(Measured {
        seconds,
        peak_rss_kib,
        rows_written: crate::store::bench::rows_written_since(pool, xid).await?,
        rows_seen,
        requests,
    })
}

fn wait_for(child: std::process::Child) -> anyhow::Result<(bool, String)> {
    let out = child.wait_with_output()?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

/// The fewest requests that can read everything: one per page of each
/// history window (at least one), one per conference-list page, one per page
/// of each conference's recordings.
async fn minimum_requests(sim: &str, history_start: &str) -> anyhow::Result<BTreeMap<String, u64>> {
    let state: Value = reqwest::get(format!(
        "{sim}/__admin/state?parts=conferences,history,recordings"
    ))
    .await?
    .json()
    .await?;
    let list = |k: &str| state[k].as_array().cloned().unwrap_or_default();
    let pages = |n: u64| n.div_ceil(100).max(1);
    let start = chrono::NaiveDate::parse_from_str(history_start, "%Y-%m-%d")?
        .and_hms_opt(0, 0, 0)
        .context("midnight")?
        .and_utc()
        .timestamp();
    // The run ends "now"; a few seconds either way do not move any generated meeting.
    let until = chrono::Utc::now().timestamp() + 5;
    let starts: Vec<i64> = list("history")
        .iter()
        .filter_map(|h| h["startTime"].as_i64())
        .collect();
    let mut history = 0;
    let mut window = start;
    while window <= until {
        let end = (window + WINDOW_SECONDS - 1).min(until);
        history += pages(starts.iter().filter(|&&s| s >= window && s <= end).count() as u64);
        window = end + 1;
    }
    let mut per_conf: BTreeMap<i64, u64> = list("history")
        .iter()
        .filter_map(|h| h["confId"].as_i64())
        .map(|c| (c, 0))
        .collect();
    for r in list("recordings") {
        if let Some(c) = r["confId"].as_i64() {
            // Only conferences with history are read on a first sync.
            if let Some(n) = per_conf.get_mut(&c) {
                *n += 1;
            }
        }
    }
    let mut out = BTreeMap::new();
    out.insert(
        "conference.list".to_string(),
        pages(list("conferences").len() as u64),
    );
    out.insert("conference.history".to_string(), history);
    out.insert(
        "video.list".to_string(),
        per_conf.values().map(|&n| pages(n)).sum(),
    );
    Ok(out)
}
