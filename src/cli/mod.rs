//! The command line, and the only layer that prints or picks exit codes:
//! it parses arguments, builds what a command needs and hands it to the
//! library, which returns typed outcomes.

mod bench;
mod demo;
mod exit;
mod jobs;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::configuration::{self, ConfigSources, Settings};
use crate::telemetry;
use confsync_sim::SimConfig;
pub use exit::{CONFIG as EXIT_CONFIG, PARTIAL as EXIT_PARTIAL};

#[derive(Debug, Parser)]
#[command(
    name = "confsync",
    version,
    about = "Mirror CloudRoom into PostgreSQL and push an HR directory into CloudRoom and Aliyun",
    after_help = exit::TABLE
)]
pub struct Cli {
    /// Configuration file (default: $CONFSYNC_CONFIG, else /etc/confsync/confsync.toml when it exists).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a simulator of the CloudRoom and Aliyun APIs.
    Simulate(SimConfig),
    /// Check or show the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Apply pending database migrations.
    Migrate,
    /// Run a mirror job once and exit (0 on success, 1 on failure; SIGINT or SIGTERM stops it, recorded as abandoned).
    Sync(SyncArgs),
    /// Mirror the built-in simulator into the local PostgreSQL and show reports.
    Demo,
    /// Push the HR directory into CloudRoom and Aliyun.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Run every job on its schedule until SIGTERM or SIGINT.
    Run,
    /// Last run, outcome, duration, rows, failures and next time of each job.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Measure throughput, requests and memory (prints figures for BENCHMARKS.md).
    #[command(subcommand)]
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
}

#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Print what apply would do, per target; send nothing.
    Plan {
        #[arg(long)]
        json: bool,
    },
    /// Make CloudRoom and Aliyun match the HR directory (exit 3 when anything failed).
    Apply {
        /// Execute deletes above directory.max_deletes instead of staging them.
        #[arg(long)]
        allow_mass_delete: bool,
    },
    /// Read back a sample with Aliyun GetUser and report drift.
    Verify,
}

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// `mirror` runs conferences, history and recordings in that order.
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
}

/// The names `sync` takes: each mirror pass in the registry, and `mirror`
/// for the three in order.
fn sync_job_names() -> clap::builder::PossibleValuesParser {
    let passes = crate::jobs::MIRROR.iter().map(|job| job.name());
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
    match cli.command {
        Command::Simulate(sim) => simulate(sim).await,
        Command::Config(ConfigCommand::Check { online }) => config_check(&sources, online).await,
        Command::Migrate => match load_settings(&sources) {
            Ok(settings) => exit::report(migrate(&settings).await),
            Err(code) => code,
        },
        Command::Sync(args) => match load_settings(&sources) {
            Ok(settings) => jobs::sync(&settings, &args).await,
            Err(code) => code,
        },
        Command::Demo => match load_settings(&demo_sources(&sources)) {
            Ok(settings) => exit::report(demo::run(settings).await),
            Err(code) => code,
        },
        Command::Bench(BenchCommand::Mirror(args)) => match load_settings(&sources) {
            Ok(settings) => exit::report(bench::mirror::run(&settings, &args).await),
            Err(code) => code,
        },
        Command::Bench(BenchCommand::Pages(args)) => match load_settings(&sources) {
            Ok(settings) => exit::report(bench::pages::run(&settings, &args).await),
            Err(code) => code,
        },
        Command::Bench(BenchCommand::Directory(args)) => match load_settings(&sources) {
            Ok(settings) => exit::report(bench::directory::run(&settings, &args).await),
            Err(code) => code,
        },
        Command::Directory(command) => match load_settings(&sources) {
            Ok(settings) => jobs::directory(&settings, command).await,
            Err(code) => code,
        },
        Command::Run => match load_settings(&sources) {
            Ok(settings) => jobs::run_daemon(settings).await,
            Err(code) => code,
        },
        Command::Status { json } => match load_settings(&sources) {
            Ok(settings) => jobs::status(&settings, json).await,
            Err(code) => code,
        },
        Command::Config(ConfigCommand::Show) => match configuration::load(&sources) {
            Ok((settings, _)) => {
                print!("{}", configuration::show(&settings));
                exit::code(exit::OK)
            }
            Err(e) => {
                eprintln!("{e}");
                exit::code(exit::CONFIG)
            }
        },
    }
}

async fn config_check(sources: &ConfigSources, online: bool) -> ExitCode {
    let problems = match configuration::load(sources) {
        Ok((settings, _)) => match configuration::missing_credentials(&settings) {
            missing if !missing.is_empty() => Err(configuration::ConfigError(missing)),
            _ => Ok(settings),
        },
        Err(e) => Err(e),
    };
    let settings = match problems {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("{e}");
            return exit::code(exit::CONFIG);
        }
    };
    println!("configuration is valid");
    if !online {
        return exit::code(exit::OK);
    }
    let failures = crate::doctor::check_online(&settings).await;
    for failure in &failures {
        eprintln!("  - {failure}");
    }
    if failures.is_empty() {
        println!("the database and every configured vendor answered");
        exit::code(exit::OK)
    } else {
        exit::code(exit::FAILED)
    }
}

async fn simulate(config: SimConfig) -> ExitCode {
    telemetry::init(&Settings::default().logging);
    let running = match confsync_sim::start(config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the simulator: {e}");
            return exit::code(exit::FAILED);
        }
    };
    println!("simulator listening on {}", running.base_url());
    println!(
        "  cloudroom.base_url = \"{}\"",
        running.cloudroom_base_url()
    );
    println!("  aliyun.endpoint    = \"{}\"", running.aliyun_endpoint());
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("error: cannot wait for Ctrl-C: {e}");
    }
    running.stop().await;
    exit::code(exit::OK)
}

/// The demo prints its own summary; job logs below warnings would only bury it.
fn demo_sources(sources: &ConfigSources) -> ConfigSources {
    if std::env::var_os("RUST_LOG").is_some()
        || std::env::var_os("CONFSYNC_LOGGING__LEVEL").is_some()
    {
        return sources.clone();
    }
    let mut quiet = sources.clone();
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    vars.push(("CONFSYNC_LOGGING__LEVEL".into(), "warn".into()));
    quiet.env = Some(vars);
    quiet
}

/// Loads the configuration and starts logging, or prints every problem.
fn load_settings(sources: &ConfigSources) -> Result<Settings, ExitCode> {
    match configuration::load(sources) {
        Ok((settings, _)) => {
            telemetry::init(&settings.logging);
            Ok(settings)
        }
        Err(e) => {
            eprintln!("{e}");
            Err(exit::code(exit::CONFIG))
        }
    }
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    crate::db::connect_and_migrate(&settings.database).await?;
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
