//! The command line, and the only layer that prints or picks exit codes:
//! it parses arguments, builds what a command needs and hands it to the
//! library, which returns typed outcomes.

mod archive;
mod bench;
mod companies;
mod config;
mod demo;
mod exit;
mod jobs;
mod manual;
mod output;
mod tenants;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use clap_verbosity_flag::{InfoLevel, Verbosity};

use crate::configuration::{self, ConfigSources, Settings};
use crate::telemetry;
use confsync_sim::SimConfig;
pub use exit::{CONFIG as EXIT_CONFIG, PARTIAL as EXIT_PARTIAL};
use tenants::TenantArg;

/// `confsync --version`: the crate's version and the git revision it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("BUILD_GIT_REVISION"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "confsync",
    version = VERSION,
    about = "Mirror CloudRoom into PostgreSQL and push an HR directory into CloudRoom and Aliyun",
    after_help = help_footer()
)]
pub struct Cli {
    /// Configuration file (default: $CONFSYNC_CONFIG, else /etc/confsync/confsync.toml when it exists).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// -v, -vv: more log lines; -q, -qq, -qqq: fewer (RUST_LOG wins, then these, then logging.level).
    #[command(flatten)]
    pub verbosity: Verbosity<InfoLevel>,
    #[command(subcommand)]
    pub command: Command,
}

/// The developer commands, listed apart from the operator's (clap lists
/// every visible subcommand under one heading), then the exit codes.
fn help_footer() -> String {
    format!(
        "Developer commands (not for production hosts):
  simulate  Serve a simulator of the CloudRoom and Aliyun APIs
  demo      Mirror the built-in simulator into the local PostgreSQL and show reports
  bench     Measure throughput, requests and memory (figures for BENCHMARKS.md)

{}",
        exit::TABLE
    )
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a simulator of the CloudRoom and Aliyun APIs.
    #[command(hide = true)]
    Simulate(SimConfig),
    /// Check or show the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Apply pending database migrations.
    Migrate,
    /// Run a mirror job once and exit (0 on success, 1 on failure; SIGINT or SIGTERM stops it, recorded as abandoned).
    Sync(SyncArgs),
    /// Mirror the built-in simulator into the local PostgreSQL and show reports.
    #[command(hide = true)]
    Demo,
    /// Push the HR directory into CloudRoom and Aliyun.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Aliyun CVC: the meetings whose attendance is read.
    #[command(subcommand)]
    Aliyun(AliyunCommand),
    /// The recordings' files in object storage (archive.location).
    #[command(subcommand)]
    Archive(ArchiveCommand),
    /// Run every job on its schedule until SIGTERM or SIGINT.
    Run,
    /// Last run, outcome, duration, rows, failures and next time of each job.
    Status {
        /// Print the statuses as one JSON array.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: TenantArg,
    },
    /// Print a shell completion script to stdout.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Create and rename the companies the tenants declare (platform credentials).
    #[command(subcommand)]
    Companies(companies::CompaniesCommand),
    /// Print the man page (roff) to stdout.
    Manpage,
    /// Measure throughput, requests and memory (prints figures for BENCHMARKS.md).
    #[command(subcommand, hide = true)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// First sync, no-change re-sync and a large history run against a simulator process.
    Mirror(bench::mirror::MirrorBenchArgs),
    /// Plan time, API calls and memory of a directory push with generated people.
    Directory(bench::directory::DirectoryBenchArgs),
    /// Fetch a first mirror's pages from a server and nothing else (no
    /// database): the server's serving limit, as a floor for the mirror.
    Pages(bench::pages::PagesBenchArgs),
    /// Many small tenants on 1 and on 3 daemon processes: time to mirror,
    /// duplicate and missed ticks, peak RSS and connections per daemon.
    Tenants(bench::tenants::TenantsBenchArgs),
}

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Archive every recording not archived yet, then delete from CloudRoom
    /// what archive.delete_from_cloudroom_after allows (exit 1 when a file failed).
    Run {
        /// Print the run's summary as one JSON object.
        #[arg(long)]
        json: bool,
        /// Also try the files that failed archive.max_attempts times
        /// (after the cause was fixed); a success resets their count.
        #[arg(long)]
        retry_failed: bool,
        #[command(flatten)]
        target: TenantArg,
    },
    /// List exactly what a run would archive and delete; change nothing.
    Plan {
        /// Print the plan as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: TenantArg,
    },
    /// Read the archived objects back and compare size and sha256 (exit 1 on drift).
    Verify {
        /// Read only this many objects, the least recently verified first.
        #[arg(long, value_name = "N")]
        sample: Option<i64>,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: TenantArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum AliyunCommand {
    /// The meetings the attendance job reads (ListMembers).
    #[command(subcommand)]
    Meetings(MeetingsCommand),
}

#[derive(Debug, Subcommand)]
pub enum MeetingsCommand {
    /// Register the MeetingUUIDs of FILE (one per line; # comments).
    Add {
        /// The file of MeetingUUIDs.
        file: PathBuf,
        /// Print the counts as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: TenantArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Print what apply would do, per target; send nothing.
    Plan {
        /// Print the plan as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: TenantArg,
    },
    /// Make CloudRoom and Aliyun match the HR directory (exit 3 when anything failed).
    Apply {
        /// Execute deletes above directory.max_deletes instead of staging them.
        #[arg(long)]
        allow_mass_delete: bool,
        /// Print the run's summary, with what was applied, as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: TenantArg,
    },
    /// Read back a sample with Aliyun GetUser and report drift.
    Verify {
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: TenantArg,
    },
    /// Settle a department create whose answer was lost (plan lists them):
    /// --id N when CloudRoom's console shows it with departmentId N,
    /// --absent when it does not exist (the next apply creates it).
    Settle {
        /// The department's key, as plan shows it in brackets.
        #[arg(long)]
        department: String,
        /// It exists in CloudRoom with this departmentId (proven with a PUT, then recorded).
        #[arg(long, required_unless_present = "absent", conflicts_with = "absent")]
        id: Option<i64>,
        /// It does not exist in CloudRoom: the next apply creates it.
        #[arg(long)]
        absent: bool,
        #[command(flatten)]
        target: TenantArg,
    },
}

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// `mirror` runs conferences, then history and recordings together
    /// (recordings reads what each history page queues).
    #[arg(value_parser = sync_job_names())]
    pub job: String,
    /// Re-read everything and mark what disappeared (the weekly reconcile).
    #[arg(long)]
    pub full: bool,
    /// Start the history pass at this day (YYYY-MM-DD) instead of the watermark.
    #[arg(long, value_parser = parse_day)]
    pub since: Option<chrono::NaiveDate>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: TenantArg,
}

/// The names `sync` takes: each mirror pass in the registry, and `mirror`
/// for the three in order.
fn sync_job_names() -> clap::builder::PossibleValuesParser {
    let passes = crate::jobs::SYNCABLE.iter().map(|job| job.name());
    clap::builder::PossibleValuesParser::new(passes.chain([ALL_PASSES]))
}

/// `sync mirror`: every pass of the mirror.
const ALL_PASSES: &str = "mirror";

fn parse_day(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|e| format!("expected YYYY-MM-DD: {e}"))
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Exit 0 when the configuration is valid and holds every credential the
    /// configured jobs need; else print every problem and exit 78.
    Check {
        /// Also connect to the database and make one cheap signed call to
        /// each vendor the configured jobs use (exit 1 when one fails).
        #[arg(long)]
        online: bool,
        /// Print the result as one JSON object: valid, problems, online failures.
        #[arg(long)]
        json: bool,
    },
    /// Print the merged configuration with secrets redacted.
    Show,
}

pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::code(exit::FAILED);
        }
    };
    runtime.block_on(dispatch(cli))
}

async fn dispatch(cli: Cli) -> ExitCode {
    let sources = ConfigSources::from_process(cli.config.clone());
    let level = log_level(&cli.verbosity);
    let load = |sources: &ConfigSources| load_settings(sources, level.as_deref());
    match cli.command {
        Command::Simulate(sim) => config::simulate(sim, level.as_deref()).await,
        Command::Config(ConfigCommand::Check { online, json }) => {
            config::check(&sources, online, json).await
        }
        Command::Config(ConfigCommand::Show) => config::show(&sources),
        Command::Completions { shell } => manual::completions(shell),
        Command::Manpage => manual::manpage(),
        Command::Demo => match load(&demo::quiet_sources(&sources)) {
            Ok(settings) => exit::report(demo::run(settings).await),
            Err(code) => code,
        },
        command => match load(&sources) {
            Ok(settings) => with_settings(command, &settings).await,
            Err(code) => code,
        },
    }
}

/// The commands that need a valid configuration.
async fn with_settings(command: Command, settings: &Settings) -> ExitCode {
    match command {
        Command::Migrate => exit::report(migrate(settings).await),
        Command::Sync(args) => jobs::sync(settings, &args).await,
        Command::Bench(BenchCommand::Mirror(args)) => {
            exit::report(bench::mirror::run(settings, &args).await)
        }
        Command::Bench(BenchCommand::Pages(args)) => {
            exit::report(bench::pages::run(settings, &args).await)
        }
        Command::Bench(BenchCommand::Directory(args)) => {
            exit::report(bench::directory::run(settings, &args).await)
        }
        Command::Bench(BenchCommand::Tenants(args)) => {
            exit::report(bench::tenants::run(settings, &args).await)
        }
        Command::Directory(command) => jobs::directory(settings, command).await,
        Command::Archive(command) => archive::dispatch(settings, command).await,
        Command::Aliyun(AliyunCommand::Meetings(MeetingsCommand::Add { file, json, target })) => {
            exit::report(add_meetings(settings, &file, json, &target).await)
        }
        Command::Companies(command) => companies::dispatch(settings, command).await,
        Command::Run => jobs::run_daemon(settings.clone()).await,
        Command::Status { json, target } => jobs::status(settings, json, &target).await,
        // Dispatched before the configuration is loaded.
        Command::Simulate(_)
        | Command::Config(_)
        | Command::Completions { .. }
        | Command::Manpage
        | Command::Demo => exit::code(exit::FAILED),
    }
}

/// The level `-v` / `-q` ask for, when either was given.
fn log_level(verbosity: &Verbosity<InfoLevel>) -> Option<String> {
    verbosity
        .is_present()
        .then(|| verbosity.tracing_level_filter().to_string().to_lowercase())
}

/// Loads the configuration and starts logging, or prints every problem.
fn load_settings(sources: &ConfigSources, level: Option<&str>) -> Result<Settings, ExitCode> {
    match configuration::load(sources) {
        Ok((settings, _)) => {
            telemetry::init(&settings.logging, level);
            Ok(settings)
        }
        Err(e) => {
            eprintln!("{e}");
            Err(exit::code(exit::CONFIG))
        }
    }
}

/// `aliyun meetings add FILE`.
async fn add_meetings(
    settings: &Settings,
    file: &std::path::Path,
    json: bool,
    target: &TenantArg,
) -> anyhow::Result<()> {
    let tenant = target
        .one(settings, "aliyun meetings add")?
        .cloudroom
        .tenant;
    let uuids = crate::attendance::meetings_file::read(file)?;
    let pool = crate::store::db::connect_and_migrate(&settings.database).await?;
    let tenant = &tenant;
    let added = crate::store::attendance::register(&pool, tenant, &uuids, "file").await?;
    let known = uuids.len() as u64 - added;
    if json {
        output::print_tenant_json(
            tenant,
            &serde_json::json!({ "added": added, "already_registered": known }),
        );
    } else {
        println!("{added} meeting(s) added, {known} already registered");
    }
    Ok(())
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    crate::store::db::connect_and_migrate(&settings.database).await?;
    println!("migrations applied");
    Ok(())
}

/// A spinner on stderr when stderr is a terminal (where it draws); hidden
/// otherwise, so logs and pipes stay clean.
pub fn progress_bar() -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    } else {
        indicatif::ProgressBar::hidden()
    }
}
