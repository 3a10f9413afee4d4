//! The command line: parses arguments and hands each command to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::configuration::{self, ConfigSources, Settings};
use crate::sim::SimConfig;
use crate::telemetry;

/// Exit status for an invalid configuration.
pub const EXIT_CONFIG: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "confsync",
    version,
    about = "Mirror CloudRoom into PostgreSQL and push an HR directory into CloudRoom and Aliyun"
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
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Exit 0 when the configuration is valid; else print every problem and exit 2.
    Check,
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
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(dispatch(cli))
}

async fn dispatch(cli: Cli) -> ExitCode {
    let sources = ConfigSources::from_process(cli.config.clone());
    match cli.command {
        Command::Simulate(sim) => simulate(sim).await,
        Command::Config(ConfigCommand::Check) => match configuration::load(&sources) {
            Ok(_) => {
                println!("configuration is valid");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(EXIT_CONFIG)
            }
        },
        Command::Config(ConfigCommand::Show) => match configuration::load(&sources) {
            Ok((settings, _)) => {
                print!("{}", configuration::show(&settings));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(EXIT_CONFIG)
            }
        },
    }
}

async fn simulate(config: SimConfig) -> ExitCode {
    telemetry::init(&Settings::default().logging);
    let running = match crate::sim::start(config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the simulator: {e}");
            return ExitCode::FAILURE;
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
    ExitCode::SUCCESS
}
