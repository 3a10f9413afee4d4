//! `confsync bench ...`: benchmarks that print figures for BENCHMARKS.md.
//!
//! Each measured step runs as a child process of this binary against a
//! simulator process, so that figures (peak RSS, requests counted by the
//! simulator) belong to the step alone.

pub mod directory;
pub mod mirror;
pub mod pages;
pub mod tenants;

use std::collections::BTreeMap;
use std::process::Stdio;

use anyhow::{bail, Context as _};
use serde_json::Value;
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A `confsync simulate` child with its rate limits off.
struct Simulator {
    child: Child,
    base_url: String,
}

impl Simulator {
    async fn spawn(
        exe: &std::path::Path,
        seed: u64,
        conferences: usize,
        history: usize,
        recordings: usize,
    ) -> anyhow::Result<Simulator> {
        Self::spawn_with(exe, seed, (conferences, history, recordings), &[]).await
    }

    /// With the data sizes (conferences, history, recordings per
    /// conference) and `extra` flags.
    async fn spawn_with(
        exe: &std::path::Path,
        seed: u64,
        (conferences, history, recordings): (usize, usize, usize),
        extra: &[String],
    ) -> anyhow::Result<Simulator> {
        let mut child = Command::new(exe)
            .args(["simulate", "--port", "0", "--list-requests-per-minute", "0"])
            .args(["--seed", &seed.to_string()])
            .args(["--conferences", &conferences.to_string()])
            .args(["--history", &history.to_string()])
            .args(["--recordings-per-conference", &recordings.to_string()])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the simulator")?;
        let stdout = child.stdout.take().context("simulator stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        while let Some(line) = lines.next_line().await? {
            if let Some(url) = line.strip_prefix("simulator listening on ") {
                // Keep draining: a closed pipe would kill the simulator at its next println.
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                return Ok(Simulator {
                    child,
                    base_url: url.trim().to_string(),
                });
            }
        }
        bail!("the simulator exited before listening")
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Requests the simulator answered so far, by endpoint.
async fn counters(sim: &str) -> anyhow::Result<BTreeMap<String, u64>> {
    let list: Vec<Value> = reqwest::get(format!("{sim}/__admin/counters"))
        .await?
        .json()
        .await?;
    let mut out = BTreeMap::new();
    for c in list {
        let endpoint = c["endpoint"].as_str().unwrap_or("?").to_string();
        *out.entry(endpoint).or_insert(0) += c["count"].as_u64().unwrap_or(0);
    }
    Ok(out)
}

/// Drops and recreates the database of `url`, migrated.
async fn fresh_database(url: &str) -> anyhow::Result<PgPool> {
    use sqlx::ConnectOptions as _;
    let options: sqlx::postgres::PgConnectOptions = url.parse().context("bench database URL")?;
    // The harness polls a growing runs table: its slow statements are not
    // the daemons' log lines, which the tenants bench counts.
    let options = options.log_slow_statements(log::LevelFilter::Off, std::time::Duration::ZERO);
    let pool = crate::store::bench::recreate_database(options).await?;
    crate::store::db::MIGRATOR.run(&pool).await?;
    Ok(pool)
}
