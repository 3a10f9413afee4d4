//! `confsync archive run|plan|verify`.

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use super::exit;
use super::jobs::for_each;
use super::output::print_tenant_json;
use super::ArchiveCommand;
use crate::configuration::Settings;
use crate::jobs::{self, JobContext, RunOptions};

/// Every tenant's archive unless one is named; a run that may delete
/// from CloudRoom needs the tenant named when there are several.
pub async fn dispatch(settings: &Settings, command: ArchiveCommand) -> ExitCode {
    let chosen = |target: &super::TenantArg, deletes: bool| match deletes {
        true => target
            .one(
                settings,
                "archive run with archive.delete_from_cloudroom_after set",
            )
            .map(|t| vec![t]),
        false => target.all(settings),
    };
    let deletes = settings.archive.delete_from_cloudroom_after.is_some();
    match command {
        ArchiveCommand::Run {
            json,
            retry_failed,
            target,
        } => match chosen(&target, deletes) {
            Ok(tenants) => for_each(&tenants, json, |t| run(t, json, retry_failed)).await,
            Err(e) => exit::fail(&e.into()),
        },
        ArchiveCommand::Plan { json, target } => match chosen(&target, false) {
            Ok(tenants) => for_each(&tenants, json, |t| plan(t, json)).await,
            Err(e) => exit::fail(&e.into()),
        },
        ArchiveCommand::Verify {
            sample,
            json,
            target,
        } => match chosen(&target, false) {
            Ok(tenants) => for_each(&tenants, json, |t| verify(t, sample, json)).await,
            Err(e) => exit::fail(&e.into()),
        },
    }
}

/// Archives what is due and deletes what retention allows (exit 1 when a
/// file failed; it is retried next run).
pub async fn run(settings: &Settings, json: bool, retry_failed: bool) -> ExitCode {
    let result = async {
        let ctx = super::jobs::build_for_command(settings).await?;
        let options = RunOptions {
            retry_failed,
            ..RunOptions::default()
        };
        super::jobs::ran(
            jobs::run_job(&ctx, &jobs::Archive, &options).await?,
            &ctx,
            &jobs::Archive,
        )
    }
    .await;
    match result {
        Ok(summary) => {
            super::jobs::print_summary(&summary, json);
            exit::code(if summary.error.is_some() {
                exit::FAILED
            } else {
                exit::OK
            })
        }
        Err(e) => exit::fail(&e),
    }
}

/// Lists exactly what a run would archive and delete; changes nothing.
pub async fn plan(settings: &Settings, json: bool) -> ExitCode {
    let result = async {
        let ctx = read_only_context(settings).await?;
        let archive = jobs::archive::context(&ctx, ctx.shutdown.clone(), &Default::default())?;
        crate::archive::plan(&archive).await
    }
    .await;
    match result {
        Ok(plan) if json => {
            print_tenant_json(&settings.cloudroom.tenant, &plan);
            exit::code(exit::OK)
        }
        Ok(plan) => {
            print_plan(&plan);
            exit::code(exit::OK)
        }
        Err(e) => exit::fail(&e),
    }
}

fn print_plan(plan: &crate::archive::ArchivePlan) {
    println!(
        "archive plan: {} file(s) to archive, {} recording(s) to delete from CloudRoom",
        plan.to_archive.len(),
        plan.to_delete.len()
    );
    if let Some(why) = plan.deletion_off {
        println!("  deleting from CloudRoom is off: {why}");
    }
    for file_id in &plan.to_archive {
        println!("  + archive {file_id}");
    }
    for file_id in &plan.to_delete {
        println!("  - delete from CloudRoom {file_id} (after it is listed again and read back)");
    }
    for held in &plan.held {
        println!("  = keep on CloudRoom {}: {}", held.file_id, held.hold);
    }
}

/// Re-reads the objects (or a sample) and reports drift (exit 1 on drift).
pub async fn verify(settings: &Settings, sample: Option<i64>, json: bool) -> ExitCode {
    let result = async {
        let pool = crate::store::db::connect_and_migrate(&settings.database).await?;
        let ctx = context_on(settings, pool)?;
        let archive = jobs::archive::context(&ctx, ctx.shutdown.clone(), &Default::default())?;
        crate::archive::verify(&archive, sample).await
    }
    .await;
    let report = match result {
        Ok(report) => report,
        Err(e) => return exit::fail(&e),
    };
    if json {
        print_tenant_json(&settings.cloudroom.tenant, &report);
    } else {
        println!("archive verify: {} object(s) read back", report.checked);
        for d in &report.drift {
            println!("  drift {} ({}): {}", d.file_id, d.location, d.problem);
        }
    }
    exit::code(if report.drift.is_empty() {
        exit::OK
    } else {
        exit::FAILED
    })
}

async fn read_only_context(settings: &Settings) -> anyhow::Result<JobContext> {
    let pool = crate::store::db::connect_current(&settings.database).await?;
    context_on(settings, pool)
}

fn context_on(settings: &Settings, pool: sqlx::PgPool) -> anyhow::Result<JobContext> {
    let hidden = indicatif::ProgressBar::hidden();
    let tenant = settings.top_tenant();
    crate::app::context(tenant, settings, &pool, CancellationToken::new(), hidden)
}
