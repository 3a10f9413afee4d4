//! `confsync sync`, `confsync directory …`, `confsync run` and `confsync status`.

use std::process::ExitCode;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::exit;
use super::output::{print_json, print_tenant_json};
use super::{DirectoryCommand, SyncArgs, ALL_PASSES};
use crate::configuration::Settings;
use crate::daemon::{self, shutdown::Signals, systemd};
use crate::jobs::{self, Job, JobContext, JobSummary, RunOptions, RunOutcome};

/// The application for a one-shot command on one tenant: SIGINT or
/// SIGTERM cancels its run, which then commits what it has and is recorded
/// `abandoned`.
pub(super) async fn build_for_command(settings: &Settings) -> anyhow::Result<JobContext> {
    let shutdown = cancel_on_signal()?;
    crate::app::build(settings.clone(), shutdown, super::progress_bar()).await
}

/// A one-shot command's run. A run that did not start is an outcome of the
/// lifecycle; for a command that asked for it, it is a message and exit 1.
pub(super) fn ran(
    outcome: RunOutcome,
    ctx: &JobContext,
    job: &dyn Job,
) -> anyhow::Result<JobSummary> {
    match outcome {
        RunOutcome::Ran(summary) => Ok(summary),
        RunOutcome::Busy | RunOutcome::TickTaken => anyhow::bail!(
            "{} is already running for tenant {} (another run holds its lock); not run",
            job.name(),
            ctx.tenant()
        ),
    }
}

fn cancel_on_signal() -> anyhow::Result<CancellationToken> {
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    let mut signals = Signals::register()?;
    tokio::spawn(async move {
        let signal = signals.wait().await;
        eprintln!("{signal}: stopping after the requests in flight...");
        on_signal.cancel();
    });
    Ok(shutdown)
}

/// `sync JOB [--tenant NAME]`: every tenant in turn unless one is named.
pub async fn sync(settings: &Settings, args: &SyncArgs) -> ExitCode {
    let contexts = async {
        let tenants = args.target.all(settings)?;
        let shutdown = cancel_on_signal()?;
        let progress = super::progress_bar();
        let pool = crate::store::db::connect_and_migrate(&settings.database).await?;
        let tenants = tenants.iter().map(Settings::top_tenant).collect();
        crate::app::contexts(settings, tenants, &pool, shutdown, progress)
    };
    let contexts = match contexts.await {
        Ok(contexts) => contexts,
        Err(e) => return exit::fail(&e),
    };
    let mut failed = false;
    for ctx in &contexts {
        failed |= sync_tenant(ctx, args).await;
    }
    if let Some(ctx) = contexts.first() {
        ctx.progress.finish_and_clear();
    }
    exit::code(if failed { exit::FAILED } else { exit::OK })
}

/// One tenant's passes; true when one failed.
async fn sync_tenant(ctx: &JobContext, args: &SyncArgs) -> bool {
    let options = RunOptions {
        full: args.full,
        since: args.since,
        ..RunOptions::default()
    };
    // All passes wait for their locks, as the reconcile's do; one pass by
    // name is skipped when another run holds it.
    let outcomes = match args.job.as_str() {
        ALL_PASSES => jobs::run_sequence(ctx, &jobs::MIRROR, &options)
            .await
            .map(|s| s.into_iter().map(RunOutcome::Ran).collect()),
        // clap only lets registered names through.
        name => match jobs::find(name) {
            Some(job) => jobs::run_job(ctx, job, &options).await.map(|o| vec![o]),
            None => Ok(Vec::new()),
        },
    };
    let mut failed = false;
    match outcomes {
        Ok(outcomes) => {
            for outcome in outcomes {
                match outcome {
                    RunOutcome::Ran(summary) => {
                        failed |= summary.error.is_some();
                        print_summary(&summary, args.json);
                    }
                    // Another process (the daemon, say) is running it: nothing failed.
                    RunOutcome::Busy | RunOutcome::TickTaken => eprintln!(
                        "{} is already running for tenant {} (another run holds its lock); skipped",
                        args.job,
                        ctx.tenant()
                    ),
                }
            }
        }
        Err(e) => {
            let tenant = ctx.tenant();
            eprintln!(
                "error: {}: tenant {tenant}: {}",
                args.job,
                crate::causes::of(&e)
            );
            failed = true;
        }
    }
    failed
}

/// The run's totals, then the job's own report, as text or one JSON line.
pub fn print_summary(summary: &JobSummary, json: bool) {
    if json {
        print_json(summary);
    } else {
        println!("{summary}");
        if let Some(report) = &summary.report {
            print!("{report}");
        }
    }
}

pub async fn directory(settings: &Settings, command: DirectoryCommand) -> ExitCode {
    let each = |target: &super::TenantArg| target.all(settings).map_err(anyhow::Error::from);
    match command {
        DirectoryCommand::Plan { json, target } => match each(&target) {
            Ok(tenants) => for_each(&tenants, json, |t| directory_plan(t, json)).await,
            Err(e) => exit::fail(&e),
        },
        DirectoryCommand::Apply {
            allow_mass_delete,
            json,
            target,
        } => match target.one(settings, "directory apply") {
            Ok(tenant) => directory_apply(&tenant, allow_mass_delete, json).await,
            Err(e) => exit::fail(&e.into()),
        },
        DirectoryCommand::Verify { json, target } => match each(&target) {
            Ok(tenants) => for_each(&tenants, json, |t| directory_verify(t, json)).await,
            Err(e) => exit::fail(&e),
        },
        DirectoryCommand::Settle {
            department,
            id,
            target,
            ..
        } => match target.one(settings, "directory settle") {
            Ok(tenant) => directory_settle(&tenant, &department, id).await,
            Err(e) => exit::fail(&e.into()),
        },
    }
}

/// Exit 0 when the uncertain create is settled, 1 when it cannot be.
async fn directory_settle(settings: &Settings, key: &str, id: Option<i64>) -> ExitCode {
    use crate::directory::settle::{settle, Settlement};
    let settlement = id.map_or(Settlement::Absent, Settlement::Exists);
    let result = async {
        let pool = crate::store::db::connect_current(&settings.database).await?;
        let client = crate::cloudroom::CloudRoomClient::new(&settings.cloudroom)?;
        settle(&pool, &settings.cloudroom.tenant, &client, key, settlement).await
    }
    .await;
    match result {
        Ok(done) => {
            println!("{done}");
            exit::code(exit::OK)
        }
        Err(e) => exit::fail(&e),
    }
}

/// Runs `command` for each tenant in turn, each under a heading when there
/// are several (not with `--json`, whose lines name their tenant); the exit
/// code is the first tenant's that was not 0.
pub(super) async fn for_each<'a, F, Fut>(
    tenants: &'a [Settings],
    json: bool,
    mut command: F,
) -> ExitCode
where
    F: FnMut(&'a Settings) -> Fut,
    Fut: std::future::Future<Output = ExitCode>,
{
    let mut worst = exit::code(exit::OK);
    for tenant in tenants {
        if !json {
            super::tenants::heading(tenants, tenant);
        }
        let code = command(tenant).await;
        if worst == exit::code(exit::OK) {
            worst = code;
        }
    }
    worst
}

/// Exit 0 with the plan, 1 when the source is unusable, 78 on a
/// configuration problem.
async fn directory_plan(settings: &Settings, json: bool) -> ExitCode {
    let result = async {
        let pool = crate::store::db::connect_current(&settings.database).await?;
        Ok::<_, anyhow::Error>(
            crate::directory::prepare(settings.top_tenant().directory_config(), &pool, false)
                .await?,
        )
    }
    .await;
    match result {
        Ok(plan) => {
            let report = plan.report();
            if json {
                print_tenant_json(&settings.cloudroom.tenant, &report);
            } else {
                print!("{report}");
            }
            exit::code(exit::OK)
        }
        Err(e) => exit::fail(&e),
    }
}

/// Exit 0 when everything was done, 3 when some objects failed (retried
/// next run), 1 when the run changed nothing (unusable source, lock held),
/// 78 on a configuration problem.
async fn directory_apply(settings: &Settings, allow_mass_delete: bool, json: bool) -> ExitCode {
    let options = RunOptions {
        allow_mass_delete,
        ..RunOptions::default()
    };
    let result = async {
        let ctx = build_for_command(settings).await?;
        ran(
            jobs::run_job(&ctx, &jobs::Directory, &options).await?,
            &ctx,
            &jobs::Directory,
        )
    }
    .await;
    let summary = match result {
        Ok(summary) => summary,
        Err(e) => return exit::fail(&e),
    };
    match (&summary.report, &summary.cause) {
        (Some(_), _) => print_summary(&summary, json),
        // The run stopped before it had a report: nothing was changed.
        (None, Some(cause)) => return exit::fail(cause),
        (None, None) => {}
    }
    let partial = summary.report.as_ref().is_some_and(|r| r.partial());
    match (&summary.error, partial) {
        (_, true) => exit::code(exit::PARTIAL),
        // Done, but the run could not vouch for it (its lock was lost).
        (Some(error), false) => {
            eprintln!("error: {error}");
            exit::code(exit::FAILED)
        }
        (None, false) => exit::code(exit::OK),
    }
}

/// Exit 0 when the sample matches, 1 on drift or when Aliyun cannot be read.
async fn directory_verify(settings: &Settings, json: bool) -> ExitCode {
    let result = async {
        let pool = crate::store::db::connect_current(&settings.database).await?;
        crate::directory::run_verify(settings.top_tenant().directory_config(), &pool).await
    }
    .await;
    let report = match result {
        Ok(report) => report,
        Err(e) => return exit::fail(&e),
    };
    let clean = report.drift.is_empty() && report.errors.is_empty();
    if json {
        print_tenant_json(&settings.cloudroom.tenant, &report);
    } else {
        println!("verify: {} people read back from Aliyun", report.checked);
        for d in &report.drift {
            println!("  drift {}: {}", d.employee_id, d.problem);
        }
        for d in &report.errors {
            println!("  error {}: {}", d.employee_id, d.problem);
        }
        if clean {
            println!("  no drift");
        }
    }
    exit::code(if clean { exit::OK } else { exit::FAILED })
}

/// `confsync run`: exits 0 after SIGTERM or SIGINT, 1 when it cannot start.
pub async fn run_daemon(settings: Settings) -> ExitCode {
    let mut signals = match Signals::register() {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("error: cannot listen for signals: {e}");
            return exit::code(exit::FAILED);
        }
    };
    // Part of the time goes to stopping the listener after the jobs.
    let timeout = Duration::from_secs(settings.shutdown_timeout_seconds)
        .saturating_sub(Duration::from_millis(500));
    let daemon = match crate::app::start_daemon(settings).await {
        Ok(daemon) => daemon,
        // Printed once, by exit::fail: under systemd stderr is the journal too.
        Err(e) => return exit::fail(&e),
    };
    let addr = daemon.http_addr();
    tracing::info!(http = %addr, "confsync daemon started");
    systemd::ready(&format!("running; /healthz and /metrics on {addr}"));
    let signal = signals.wait().await;
    tracing::info!(
        signal,
        "stopping: no new runs; running jobs commit their page and stop"
    );
    systemd::stopping();
    if daemon.shutdown(timeout).await {
        tracing::info!("stopped");
    }
    exit::code(exit::OK)
}

/// `confsync status [--json] [--tenant NAME]`: a table per tenant.
pub async fn status(settings: &Settings, json: bool, target: &super::TenantArg) -> ExitCode {
    let result = async {
        let tenants: Vec<_> = target
            .all(settings)?
            .iter()
            .map(Settings::top_tenant)
            .collect();
        let pool = crate::store::db::connect_current(&settings.database).await?;
        let statuses = daemon::status::collect(&pool, &tenants, chrono::Utc::now()).await?;
        if json {
            // JSON Lines, like every other --json: one job per line.
            let mut lines = String::new();
            for status in &statuses {
                lines.push_str(&serde_json::to_string(status)?);
                lines.push('\n');
            }
            return Ok(lines);
        }
        Ok::<_, anyhow::Error>(daemon::status::tables(&statuses, &tenants))
    }
    .await;
    match result {
        Ok(text) => {
            print!("{text}");
            exit::code(exit::OK)
        }
        Err(e) => exit::fail(&e),
    }
}
