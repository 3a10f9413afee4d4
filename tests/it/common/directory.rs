//! Helpers for the directory push tests: sources on disk, settings, runs,
//! and what the simulator holds.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use confsync::configuration::Settings;
use confsync::directory::{ApplyOptions, ApplySummary};
use confsync_sim::{lock, RunningSimulator};
use tokio_util::sync::CancellationToken;

use crate::common::TestDb;

pub const HEADER: &str =
    "employee_id,account,name,email,mobile,tel,avatar_url,department,department_id,role,status";

pub fn sample_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sample-hr.csv")
}

pub fn sample_text() -> String {
    std::fs::read_to_string(sample_path()).expect("config/sample-hr.csv")
}

/// A source file in a fresh temporary directory (kept alive by the returned guard).
pub fn write_source(name: &str, content: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, content).expect("write source");
    (dir, path)
}

/// Replaces the source file's content (same path).
pub fn rewrite(path: &Path, content: &str) {
    std::fs::write(path, content).expect("rewrite source");
}

pub fn settings(sim: &RunningSimulator, db: &TestDb, source: &Path) -> Settings {
    let mut s = crate::common::settings_for(sim, db);
    s.directory.source = Some(source.display().to_string());
    s
}

/// A directory run's report and the run's own API call count.
#[derive(Debug, Clone)]
pub struct DirectoryRun {
    pub report: ApplySummary,
    /// HTTP requests the run sent to both vendors (the run's total).
    pub api_calls: u64,
}

impl std::ops::Deref for DirectoryRun {
    type Target = ApplySummary;
    fn deref(&self) -> &ApplySummary {
        &self.report
    }
}

impl std::fmt::Display for DirectoryRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} API calls\n{}", self.api_calls, self.report)
    }
}

pub async fn apply(settings: &Settings, db: &TestDb) -> DirectoryRun {
    apply_with(settings, db, false).await
}

pub async fn apply_with(settings: &Settings, db: &TestDb, allow_mass_delete: bool) -> DirectoryRun {
    let options = ApplyOptions { allow_mass_delete };
    run_apply(settings, db, options, CancellationToken::new())
        .await
        .expect("apply runs")
}

/// A directory run through the job lifecycle, as the daemon and the CLI run
/// it: the apply's report, or the error that stopped it before it had one.
/// `cancel` plays the shutdown.
pub async fn run_apply(
    settings: &Settings,
    db: &TestDb,
    options: ApplyOptions,
    cancel: CancellationToken,
) -> anyhow::Result<DirectoryRun> {
    let mut ctx = crate::common::job_context(settings.clone(), db);
    ctx.shutdown = cancel;
    let run_options = confsync::jobs::RunOptions {
        allow_mass_delete: options.allow_mass_delete,
        ..Default::default()
    };
    let summary = crate::common::run_job(&ctx, &confsync::jobs::Directory, &run_options).await?;
    if let Some(report) = summary.report_as::<ApplySummary>() {
        return Ok(DirectoryRun {
            report: report.clone(),
            api_calls: summary.api_calls,
        });
    }
    match summary.cause {
        Some(cause) => Err(std::sync::Arc::try_unwrap(cause)
            .unwrap_or_else(|shared| anyhow::anyhow!("{shared:#}"))),
        None => anyhow::bail!("the run ended without a report: {:?}", summary.error),
    }
}

/// Requests answered by the simulator per (vendor, endpoint), all statuses.
pub fn requests(sim: &RunningSimulator) -> BTreeMap<(String, String), u64> {
    let mut out = BTreeMap::new();
    for (key, n) in lock(&sim.state.counters).iter() {
        *out.entry((key.vendor.to_string(), key.endpoint.clone()))
            .or_default() += n;
    }
    out
}

pub fn total_requests(sim: &RunningSimulator) -> u64 {
    lock(&sim.state.counters).values().sum()
}

pub fn calls(sim: &RunningSimulator, vendor: &str, endpoint: &str) -> u64 {
    sim.state.requests(vendor, Some(endpoint), None)
}

/// Requests made between two snapshots, per endpoint, zero counts left out.
pub fn delta(
    before: &BTreeMap<(String, String), u64>,
    after: &BTreeMap<(String, String), u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.1.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

/// What CloudRoom and Aliyun hold, comparable across simulators (no ids):
/// CloudRoom users by account with their department's full path, and
/// Aliyun users by userId.
pub fn world_view(
    sim: &RunningSimulator,
) -> (
    BTreeMap<String, String>,
    BTreeMap<String, String>,
    Vec<String>,
) {
    let world = lock(&sim.state.cloudroom);
    let users = world
        .users()
        .map(|u| {
            let path = if u.department_id == 1 {
                "公司".to_string()
            } else {
                world.full_path(u.department_id)
            };
            (
                u.account.clone(),
                format!(
                    "{}|{:?}|{:?}|{}|{}",
                    u.name, u.mobile, u.email, u.role_type, path
                ),
            )
        })
        .collect();
    let mut departments: Vec<String> = world
        .departments()
        .map(|d| world.full_path(d.department_id))
        .collect();
    departments.sort();
    drop(world);
    let aliyun = lock(&sim.state.aliyun)
        .users
        .values()
        .map(|u| {
            (
                u.user_id.clone(),
                format!(
                    "{}|{}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
                    u.user_name,
                    u.group_id,
                    u.group_name,
                    u.depart_id,
                    u.depart_name,
                    u.user_email,
                    u.user_tel,
                    u.user_mobile,
                    u.user_avatar_url
                ),
            )
        })
        .collect();
    (users, aliyun, departments)
}

/// Active valid people of the sample (all its rows are valid).
pub fn sample_active() -> usize {
    sample_text()
        .lines()
        .skip(1)
        .filter(|l| !l.ends_with(",inactive"))
        .count()
}

pub async fn count(db: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&db.pool)
        .await
        .expect(sql)
}

/// Delete calls the simulator answered, both vendors, all statuses.
pub fn deletes(sim: &RunningSimulator) -> u64 {
    calls(sim, "cloudroom", "user.delete")
        + calls(sim, "cloudroom", "department.delete")
        + calls(sim, "aliyun", "DeleteUser")
}

/// Every field a source can carry, in the order `person_row` writes them.
pub const FULL_HEADER: &str = "employee_id,account,name,email,mobile,tel,avatar_url,department,department_id,role,status,initial_password";

/// A valid CSV row for `id` under [`FULL_HEADER`] (lower-cased id as the
/// account), with `overrides` (field name, raw CSV text) replacing fields.
pub fn person_row(id: &str, overrides: &[(&str, &str)]) -> String {
    let account = id.to_lowercase();
    let email = format!("{account}@example.com");
    let defaults = [
        ("employee_id", id),
        ("account", account.as_str()),
        ("name", "测试员工"),
        ("email", email.as_str()),
        ("mobile", "13800000000"),
        ("tel", "021-64092815"),
        ("avatar_url", "https://avatars.example.com/a.png"),
        ("department", "研发 / 后端"),
        ("department_id", "D2"),
        ("role", "user"),
        ("status", "active"),
        ("initial_password", ""),
    ];
    defaults
        .iter()
        .map(|(field, value)| {
            overrides
                .iter()
                .find(|(f, _)| f == field)
                .map_or(*value, |(_, v)| *v)
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The environment a `confsync directory ...` child needs to push `source`
/// into `sim`, recording in `db` (no config file; quiet logs).
pub fn child_env(sim: &RunningSimulator, db: &TestDb, source: &Path) -> Vec<(String, String)> {
    let config = &sim.state.config;
    [
        ("CONFSYNC_DATABASE__URL", db.url.clone()),
        ("CONFSYNC_CLOUDROOM__BASE_URL", sim.cloudroom_base_url()),
        ("CONFSYNC_CLOUDROOM__SECRET_ID", config.secret_id.clone()),
        ("CONFSYNC_CLOUDROOM__SECRET_KEY", config.secret_key.clone()),
        ("CONFSYNC_CLOUDROOM__REQUESTS_PER_MINUTE", "60000".into()),
        ("CONFSYNC_ALIYUN__ENDPOINT", sim.aliyun_endpoint()),
        (
            "CONFSYNC_ALIYUN__ACCESS_KEY_ID",
            config.access_key_id.clone(),
        ),
        (
            "CONFSYNC_ALIYUN__ACCESS_KEY_SECRET",
            config.access_key_secret.clone(),
        ),
        ("CONFSYNC_ALIYUN__GROUP_ID", "88".into()),
        ("CONFSYNC_ALIYUN__GROUP_NAME", "示例公司".into()),
        ("CONFSYNC_DIRECTORY__SOURCE", source.display().to_string()),
        ("CONFSYNC_LOGGING__LEVEL", "error".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// A `confsync` child with exactly `env` (no config file), killed if dropped.
pub fn confsync_child(env: &[(String, String)]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_confsync"));
    cmd.env_remove("CONFSYNC_CONFIG")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// An account made in CloudRoom by hand, before confsync ever pushed it.
pub async fn create_by_hand(settings: &Settings, account: &str, password: &str) {
    let client = confsync::cloudroom::CloudRoomClient::new(&settings.cloudroom).unwrap();
    client
        .create_user(&confsync::cloudroom::CreateUser {
            account: account.into(),
            password: secrecy::SecretString::from(password),
            name: "旧名字".into(),
            mobile: None,
            department_id: None,
            role_type: Some(3),
            email: None,
        })
        .await
        .unwrap();
}
