//! `confsync companies plan|apply|settle`.

use std::process::ExitCode;

use clap::Subcommand;

use super::exit;
use super::output::print_json;
use crate::companies::{self, CompanyPlan};
use crate::configuration::Settings;

#[derive(Debug, Subcommand)]
pub enum CompaniesCommand {
    /// Print what apply would create, rename and delete; send nothing.
    Plan {
        #[command(flatten)]
        args: CompaniesArgs,
    },
    /// Create and rename the declared companies with the [platform]
    /// credentials (exit 3 when a change failed).
    Apply {
        #[command(flatten)]
        args: CompaniesArgs,
    },
    /// Settle a company create whose answer was lost (`plan` lists them):
    /// `--exists` proves it with a PUT of its name and records it,
    /// `--absent` lets the next apply create it.
    Settle {
        /// The company's compGUID.
        #[arg(long, value_name = "COMPGUID")]
        guid: String,
        /// The company is in CloudRoom's console.
        #[arg(long, conflicts_with = "absent", required_unless_present = "absent")]
        exists: bool,
        /// The company is not in CloudRoom's console.
        #[arg(long)]
        absent: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct CompaniesArgs {
    /// Also delete this company, which confsync created and no tenant
    /// declares any more (repeat for more).
    #[arg(long = "delete", value_name = "COMPGUID")]
    pub delete: Vec<String>,
    /// Print the plan (or the report) as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub async fn dispatch(settings: &Settings, command: CompaniesCommand) -> ExitCode {
    match command {
        CompaniesCommand::Plan { args } => match plan(settings, &args, false).await {
            Ok((plan, _)) => {
                show(&plan, args.json);
                exit::code(exit::OK)
            }
            Err(e) => exit::fail(&e),
        },
        CompaniesCommand::Apply { args } => apply(settings, &args).await,
        CompaniesCommand::Settle { guid, absent, .. } => {
            let settlement = match absent {
                true => companies::Settlement::Absent,
                false => companies::Settlement::Exists,
            };
            match settle(settings, &guid, settlement).await {
                Ok(done) => {
                    println!("{done}");
                    exit::code(exit::OK)
                }
                Err(e) => exit::fail(&e),
            }
        }
    }
}

async fn settle(
    settings: &Settings,
    guid: &str,
    settlement: companies::Settlement,
) -> anyhow::Result<String> {
    let client = companies::platform_client(&settings.platform, &settings.cloudroom)?;
    let pool = crate::store::db::connect_and_migrate(&settings.database).await?;
    companies::settle(&client, &pool, guid, settlement).await
}

async fn plan(
    settings: &Settings,
    args: &CompaniesArgs,
    migrate: bool,
) -> anyhow::Result<(CompanyPlan, sqlx::PgPool)> {
    let pool = match migrate {
        true => crate::store::db::connect_and_migrate(&settings.database).await?,
        false => crate::store::db::connect_current(&settings.database).await?,
    };
    let actual = crate::store::companies::all(&pool).await?;
    let uncertain = crate::store::companies::uncertain(&pool).await?;
    let tenants = settings.tenants();
    let declared: Vec<companies::DeclaredCompany<'_>> = tenants
        .iter()
        .map(|t| companies::DeclaredCompany {
            tenant: t.name(),
            company: t.company.as_ref(),
        })
        .collect();
    let plan = companies::plan(&declared, &actual, &uncertain, &args.delete)?;
    Ok((plan, pool))
}

fn show(plan: &CompanyPlan, json: bool) {
    if json {
        print_json(plan);
    } else {
        print!("{plan}");
    }
}

async fn apply(settings: &Settings, args: &CompaniesArgs) -> ExitCode {
    let result = async {
        let client = companies::platform_client(&settings.platform, &settings.cloudroom)?;
        let (plan, pool) = plan(settings, args, true).await?;
        if !args.json {
            print!("{plan}");
        }
        companies::apply(&plan, &client, &pool).await
    }
    .await;
    let report = match result {
        Ok(report) => report,
        Err(e) => return exit::fail(&e),
    };
    if args.json {
        print_json(&report);
    } else {
        println!(
            "companies apply: {} created, {} renamed, {} deleted, {} settled, {} uncertain, {} failed",
            report.created.len(),
            report.renamed.len(),
            report.deleted.len(),
            report.settled.len(),
            report.uncertain.len(),
            report.failed.len()
        );
        for (guid, what) in &report.uncertain {
            eprintln!("  uncertain {guid}: {what}");
        }
        for (guid, why) in &report.failed {
            eprintln!("  failed {guid}: {why}");
        }
    }
    exit::code(if report.failed.is_empty() && report.uncertain.is_empty() {
        exit::OK
    } else {
        exit::PARTIAL
    })
}
