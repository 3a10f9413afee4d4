//! `confsync bench tenants`: many small tenants on 1 and on 3 daemon
//! processes sharing one database. For each daemon count: the time from the
//! first tick until every tenant is mirrored, duplicate and missed ticks,
//! and each daemon's peak RSS and peak database connections.
//!
//! The simulator serves the tenants (`--tenants N`), the daemons are
//! `confsync run` children with one configuration and one drop-in per
//! tenant, and every figure is read from the outside: the database, the
//! children's /proc and `pg_stat_activity` (each daemon connects with its
//! own application_name).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::process::{Child, Command};

use crate::configuration::Settings;
use crate::store::bench;

#[derive(Debug, Clone, clap::Args)]
pub struct TenantsBenchArgs {
    /// Tenants the simulator serves, each with its own credentials.
    #[arg(long, default_value_t = 200)]
    pub tenants: usize,
    /// The daemon counts to compare, in one run.
    #[arg(long, value_delimiter = ',', default_value = "1,3")]
    pub daemons: Vec<usize>,
    /// Seconds between ticks of each mirror job.
    #[arg(long, default_value_t = 5)]
    pub every: u32,
    /// Seconds of re-sync ticks counted after every tenant is mirrored.
    #[arg(long, default_value_t = 30)]
    pub settle: u64,
    /// The simulator's latency per request (a vendor is not on localhost).
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// daemon.max_concurrent_runs of each daemon.
    #[arg(long, default_value_t = 8)]
    pub max_concurrent_runs: usize,
    /// Database the benchmark recreates.
    #[arg(
        long,
        default_value = "postgres://postgres@127.0.0.1:5432/confsync_bench_tenants"
    )]
    pub database_url: String,
}

/// What one daemon count measured.
struct Figures {
    daemons: usize,
    mirrored_seconds: f64,
    /// From the first tick until its last run finished: the daemons'
    /// throughput, where `mirrored_seconds` also waits for the next tick.
    first_tick_seconds: f64,
    runs_per_daemon: Vec<i64>,
    ticks: i64,
    duplicate_ticks: i64,
    missed_ticks: i64,
    peak_rss_kib: Vec<u64>,
    peak_connections: Vec<i64>,
}

pub async fn run(_settings: &Settings, args: &TenantsBenchArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("cannot find the confsync binary")?;
    let dir = std::env::temp_dir().join(format!("confsync-bench-tenants-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    println!(
        "tenants bench: {} tenants (5 conferences, 20 meetings, 1 recording each), {} ms latency, mirror jobs every {} s, max_concurrent_runs {}",
        args.tenants, args.latency_ms, args.every, args.max_concurrent_runs
    );
    let mut all = Vec::new();
    for &daemons in &args.daemons {
        let figures = measure(&exe, &dir, args, daemons).await?;
        print_figures(&figures);
        all.push(figures);
    }
    let _ = std::fs::remove_dir_all(&dir);
    if let (Some(first), Some(last)) = (all.first(), all.last()) {
        println!(
            "scaling {} -> {} daemons: the first tick's runs {:.2}x faster, every tenant mirrored {:.2}x faster",
            first.daemons,
            last.daemons,
            first.first_tick_seconds / last.first_tick_seconds.max(1e-9),
            first.mirrored_seconds / last.mirrored_seconds.max(1e-9)
        );
    }
    Ok(())
}

async fn measure(
    exe: &Path,
    dir: &Path,
    args: &TenantsBenchArgs,
    count: usize,
) -> anyhow::Result<Figures> {
    let credentials = dir.join(format!("tenants-{count}.json"));
    let sim = spawn_simulator(exe, args, &credentials).await?;
    let pool = super::fresh_database(&args.database_url).await?;
    let config = write_config(dir, count, args, &sim.base_url, &credentials)?;
    let started = Utc::now();
    let mut daemons = Vec::new();
    for n in 0..count {
        daemons.push(spawn_daemon(exe, &config, &app_url(&args.database_url, n))?);
    }
    let mut watch = Watch::new(count);
    let mirrored_at = watch
        .until_mirrored(&pool, args.tenants, Duration::from_secs(1800))
        .await?;
    let first_tick = bench::first_tick(&pool).await?.unwrap_or(started);
    let settle_end = Instant::now() + Duration::from_secs(args.settle);
    while Instant::now() < settle_end {
        watch.sample(&pool).await?;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let peak_rss_kib = daemons.iter().map(peak_rss_kib).collect();
    let pids: Vec<u32> = daemons.iter().filter_map(Child::id).collect();
    let ended = Utc::now();
    stop(&mut daemons).await;
    sim.stop().await;
    let (ticks, duplicate_ticks, missed_ticks) =
        bench::tick_counts(&pool, first_tick, ended, args.every).await?;
    Ok(Figures {
        daemons: count,
        mirrored_seconds: (mirrored_at - first_tick).num_milliseconds() as f64 / 1000.0,
        first_tick_seconds: bench::tick_drained(&pool, first_tick).await?,
        runs_per_daemon: bench::runs_per_daemon(&pool, &pids).await?,
        ticks,
        duplicate_ticks,
        missed_ticks,
        peak_rss_kib,
        peak_connections: watch.peak_connections,
    })
}

fn print_figures(f: &Figures) {
    println!(
        "{} daemon(s): the first tick's runs done in {:.2} s; every tenant mirrored {:.1} s after the first tick; {} ticks run, {} duplicate, {} missed",
        f.daemons, f.first_tick_seconds, f.mirrored_seconds, f.ticks, f.duplicate_ticks, f.missed_ticks
    );
    for (n, rss) in f.peak_rss_kib.iter().enumerate() {
        let conns = f.peak_connections.get(n).copied().unwrap_or(0);
        let runs = f.runs_per_daemon.get(n).copied().unwrap_or(0);
        println!(
            "  daemon {n}: {runs} runs, peak RSS {:.1} MiB, peak {conns} database connections",
            *rss as f64 / 1024.0
        );
    }
}

/// The simulator with `tenants` small enterprises, no rate limit.
async fn spawn_simulator(
    exe: &Path,
    args: &TenantsBenchArgs,
    file: &Path,
) -> anyhow::Result<super::Simulator> {
    let extra = [
        "--tenants".to_string(),
        args.tenants.to_string(),
        "--tenants-file".to_string(),
        file.display().to_string(),
        "--latency-ms".to_string(),
        args.latency_ms.to_string(),
    ];
    super::Simulator::spawn_with(exe, 42, (5, 20, 1), &extra).await
}

/// The database URL with the daemon's own application_name, so that
/// `pg_stat_activity` tells the daemons' connections apart.
fn app_url(url: &str, n: usize) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}application_name=confsync-bench-{n}")
}

/// The configuration: the mirror jobs every `every` seconds, every other
/// job off, one `tenants_dir` drop-in per tenant from the simulator's file.
fn write_config(
    dir: &Path,
    count: usize,
    args: &TenantsBenchArgs,
    base_url: &str,
    credentials: &Path,
) -> anyhow::Result<PathBuf> {
    let drop_ins = dir.join(format!("tenants-{count}.d"));
    std::fs::create_dir_all(&drop_ins)?;
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(credentials)?)?;
    for tenant in file["tenants"]
        .as_array()
        .context("the tenants file lists no tenants")?
    {
        let name = tenant["name"].as_str().context("a tenant without a name")?;
        let text = format!(
            "[cloudroom]\nsecret_id = \"{}\"\nsecret_key = \"{}\"\n",
            tenant["secret_id"].as_str().unwrap_or_default(),
            tenant["secret_key"].as_str().unwrap_or_default()
        );
        std::fs::write(drop_ins.join(format!("{name}.toml")), text)?;
    }
    let every = format!("*/{} * * * * *", args.every);
    let text = format!(
        "tenants_dir = \"{}\"\n[daemon]\nmax_concurrent_runs = {}\n[database]\nmax_connections = {}\n\
         [cloudroom]\nbase_url = \"{base_url}/CLOUDROOM-SERVER\"\nhistory_start = \"2024-01-01\"\nrequests_per_minute = 100000000\n\
         [http]\nlisten = \"127.0.0.1:0\"\n[logging]\nlevel = \"warn\"\n\
         [schedule]\ntimezone = \"UTC\"\nconferences = \"{every}\"\nhistory = \"{every}\"\nrecordings = \"{every}\"\n\
         details = \"off\"\nreconcile = \"off\"\ndirectory = \"off\"\nattendance = \"off\"\narchive = \"off\"\n",
        drop_ins.display(),
        args.max_concurrent_runs,
        args.max_concurrent_runs * 2 + 2,
    );
    let path = dir.join(format!("confsync-{count}.toml"));
    std::fs::write(&path, text)?;
    Ok(path)
}

fn spawn_daemon(exe: &Path, config: &Path, database_url: &str) -> anyhow::Result<Child> {
    Command::new(exe)
        .arg("--config")
        .arg(config)
        .arg("run")
        .env_remove("CONFSYNC_CONFIG")
        .env("CONFSYNC_DATABASE__URL", database_url)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start a daemon")
}

async fn stop(daemons: &mut [Child]) {
    for daemon in daemons.iter() {
        if let Some(pid) = daemon.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
    }
    for daemon in daemons.iter_mut() {
        let _ = tokio::time::timeout(Duration::from_secs(30), daemon.wait()).await;
    }
}

/// The child's peak resident set (VmHWM), from /proc.
fn peak_rss_kib(child: &Child) -> u64 {
    let status = child
        .id()
        .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .unwrap_or_default();
    crate::jobs::summary::parse_vm_hwm(&status).unwrap_or(0)
}

/// Polls the database: when every tenant is mirrored, and the peak of
/// each daemon's connections.
struct Watch {
    peak_connections: Vec<i64>,
}

impl Watch {
    fn new(daemons: usize) -> Self {
        Watch {
            peak_connections: vec![0; daemons],
        }
    }

    async fn sample(&mut self, pool: &PgPool) -> anyhow::Result<()> {
        let counts = bench::bench_connections(pool).await?;
        for (name, n) in counts {
            let index = name.trim_start_matches("confsync-bench-").parse::<usize>();
            if let Some(peak) = index.ok().and_then(|i| self.peak_connections.get_mut(i)) {
                *peak = (*peak).max(n);
            }
        }
        Ok(())
    }

    async fn until_mirrored(
        &mut self,
        pool: &PgPool,
        tenants: usize,
        limit: Duration,
    ) -> anyhow::Result<DateTime<Utc>> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            self.sample(pool).await?;
            if bench::tenants_mirrored(pool).await? >= tenants as i64 {
                return Ok(Utc::now());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        bail!("not every tenant was mirrored within {} s", limit.as_secs())
    }
}
