//! `confsync bench directory --people N`: plan time, API calls and peak
//! memory of a directory push of N generated people, for a first push, a
//! no-op run and a one-change run.
//!
//! The simulator (rate limit off) and every measured step are separate
//! processes of this binary: a plan-only child gives the plan's time and
//! peak RSS (VmHWM) alone, an apply child the calls and the whole run's
//! peak. Calls are counted by the simulator itself.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use anyhow::{bail, Context as _};
use serde::Serialize;
use serde_json::Value;
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use crate::configuration::Settings;
use confsync_sim::{DOC_SECRET_ID, DOC_SECRET_KEY, SIM_ACCESS_KEY_ID, SIM_ACCESS_KEY_SECRET};

#[derive(Debug, Clone, clap::Args)]
pub struct DirectoryBenchArgs {
    /// Generated people in the directory.
    #[arg(long, default_value_t = 100_000)]
    pub people: usize,
    /// Database the benchmark recreates.
    #[arg(
        long,
        default_value = "postgres://postgres@127.0.0.1:5432/confsync_bench_directory"
    )]
    pub database_url: String,
    /// Internal: run one measured step (`plan` or `apply`) with the
    /// configuration from the environment and print it as JSON.
    #[arg(long, hide = true)]
    pub child: Option<String>,
}

/// What a plan-only child prints.
#[derive(Debug, Serialize)]
struct PlanFigures {
    plan_seconds: f64,
    changes: usize,
    peak_rss_kib: Option<u64>,
}

pub async fn run(settings: &Settings, args: &DirectoryBenchArgs) -> anyhow::Result<()> {
    match args.child.as_deref() {
        Some("plan") => child_plan(settings).await,
        Some("apply") => child_apply(settings).await,
        Some(other) => bail!("unknown bench step {other:?}"),
        None => parent(settings, args).await,
    }
}

async fn child_plan(settings: &Settings) -> anyhow::Result<()> {
    let pool = crate::store::db::connect(&settings.database).await?;
    let started = Instant::now();
    let tenant = settings.top_tenant();
    let plan = crate::directory::prepare(tenant.directory_config(), &pool, false).await?;
    let figures = PlanFigures {
        plan_seconds: started.elapsed().as_secs_f64(),
        changes: plan.changes.len(),
        peak_rss_kib: crate::rss::peak_rss_kib(),
    };
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

async fn child_apply(settings: &Settings) -> anyhow::Result<()> {
    let ctx = crate::app::build(
        settings.clone(),
        CancellationToken::new(),
        indicatif::ProgressBar::hidden(),
    )
    .await?;
    let job = &crate::jobs::Directory;
    let outcome = crate::jobs::run_job(&ctx, job, &Default::default()).await?;
    let run = crate::cli::jobs::ran(outcome, &ctx, job)?;
    let failed = run.report.as_ref().is_none_or(|r| r.partial());
    if failed {
        bail!(
            "the apply failed: {}",
            run.error.clone().unwrap_or_default()
        );
    }
    println!("{}", serde_json::to_string(&run)?);
    Ok(())
}

async fn parent(settings: &Settings, args: &DirectoryBenchArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("cannot find this executable")?;
    let batch_size = settings.aliyun.batch_size;
    println!(
        "confsync bench directory: {} people, Aliyun batch size {batch_size}, rate limit off",
        args.people
    );
    let sim = super::Simulator::spawn(&exe, 42, 0, 0, 0).await?;
    super::fresh_database(&args.database_url).await?;
    let dir = tempfile_dir()?;
    let source = dir.join("hr.csv");
    let changed_line = write_people(&source, args.people, None)?;
    let env = child_env(&sim.base_url, &args.database_url, &source, batch_size);

    let first = measure(&exe, &env, &sim.base_url).await?;
    first.print("first push");
    let aliyun_creates = first.requests.get("CreateUser").copied().unwrap_or(0);
    println!(
        "  Aliyun CreateUser calls: {aliyun_creates}, expected ceil({} / {batch_size}) = {}",
        args.people,
        args.people.div_ceil(batch_size.max(1))
    );
    let noop = measure(&exe, &env, &sim.base_url).await?;
    noop.print("no-op run");
    write_people(&source, args.people, Some(changed_line))?;
    let one = measure(&exe, &env, &sim.base_url).await?;
    one.print("one-change run");
    sim.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// One scenario: a plan-only child, then an apply child.
#[derive(Debug, Default)]
struct Measured {
    plan_seconds: f64,
    plan_peak_rss_kib: u64,
    changes: u64,
    apply_seconds: f64,
    apply_peak_rss_kib: u64,
    requests: BTreeMap<String, u64>,
}

impl Measured {
    fn print(&self, label: &str) {
        let total: u64 = self.requests.values().sum();
        println!(
            "{label}: plan {:.2} s ({} changes, peak RSS {:.1} MiB); apply {:.2} s, {total} API calls, peak RSS {:.1} MiB",
            self.plan_seconds,
            self.changes,
            self.plan_peak_rss_kib as f64 / 1024.0,
            self.apply_seconds,
            self.apply_peak_rss_kib as f64 / 1024.0,
        );
        println!("  calls by endpoint: {:?}", self.requests);
    }
}

async fn measure(exe: &Path, env: &[(String, String)], sim: &str) -> anyhow::Result<Measured> {
    let plan = run_child(exe, env, "plan").await?;
    let before = super::counters(sim).await?;
    let apply = run_child(exe, env, "apply").await?;
    let after = super::counters(sim).await?;
    let requests = after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect();
    let number = |v: &Value, k: &str| v[k].as_f64().unwrap_or(0.0);
    Ok(Measured {
        plan_seconds: number(&plan, "plan_seconds"),
        plan_peak_rss_kib: plan["peak_rss_kib"].as_u64().unwrap_or(0),
        changes: plan["changes"].as_u64().unwrap_or(0),
        apply_seconds: number(&apply, "seconds"),
        apply_peak_rss_kib: apply["peak_rss_kib"].as_u64().unwrap_or(0),
        requests,
    })
}

async fn run_child(exe: &Path, env: &[(String, String)], step: &str) -> anyhow::Result<Value> {
    let output = Command::new(exe)
        .args(["bench", "directory", "--child", step])
        .env_remove("CONFSYNC_CONFIG")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .await
        .with_context(|| format!("cannot run the {step} step"))?;
    if !output.status.success() {
        bail!("the {step} step failed");
    }
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
        .with_context(|| format!("the {step} step printed no figures"))
}

fn child_env(
    sim: &str,
    database_url: &str,
    source: &Path,
    batch_size: usize,
) -> Vec<(String, String)> {
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
        ("CONFSYNC_ALIYUN__ENDPOINT", sim.to_string()),
        (
            "CONFSYNC_ALIYUN__ACCESS_KEY_ID",
            SIM_ACCESS_KEY_ID.to_string(),
        ),
        (
            "CONFSYNC_ALIYUN__ACCESS_KEY_SECRET",
            SIM_ACCESS_KEY_SECRET.to_string(),
        ),
        ("CONFSYNC_ALIYUN__GROUP_ID", "bench".to_string()),
        ("CONFSYNC_ALIYUN__GROUP_NAME", "基准公司".to_string()),
        ("CONFSYNC_ALIYUN__BATCH_SIZE", batch_size.to_string()),
        ("CONFSYNC_DIRECTORY__SOURCE", source.display().to_string()),
        // A first push of N people is a mass change by design.
        ("CONFSYNC_DIRECTORY__MIN_ROWS", "1".to_string()),
        ("CONFSYNC_DIRECTORY__CONCURRENCY", "16".to_string()),
        ("CONFSYNC_LOGGING__LEVEL", "warn".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

const CENTRES: [&str; 10] = [
    "研发中心",
    "销售中心",
    "市场中心",
    "职能中心",
    "运营中心",
    "产品中心",
    "客服中心",
    "供应链中心",
    "法务中心",
    "国际中心",
];
const SURNAMES: [&str; 20] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高",
];
const GIVEN: [&str; 16] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超",
];
const ROLES: [&str; 5] = ["scheduler", "user", "scheduler", "dept_admin", "admin"];

/// Writes N people in 10 x 10 x 10 departments; with `change`, person
/// `change` gets another mobile number. Returns the person that the
/// one-change run changes.
fn write_people(path: &Path, people: usize, change: Option<usize>) -> anyhow::Result<usize> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    writeln!(
        out,
        "employee_id,account,name,email,mobile,department,department_id,role,status"
    )?;
    for i in 0..people {
        let (a, b, c) = (i % 10, (i / 10) % 10, (i / 100) % 10);
        let department = format!("{} / 第{b}部 / 第{c}组", CENTRES[a]);
        let mobile = if change == Some(i) {
            19_900_000_000
        } else {
            13_000_000_000 + i as u64
        };
        writeln!(
            out,
            "E{i:07},user{i:07},{}{},user{i:07}@example.com,{mobile},{department},D{a}{b}{c},{},active",
            SURNAMES[i % SURNAMES.len()],
            GIVEN[(i / SURNAMES.len()) % GIVEN.len()],
            ROLES[i % ROLES.len()],
        )?;
    }
    out.flush()?;
    Ok(people / 2)
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("confsync-bench-directory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}
