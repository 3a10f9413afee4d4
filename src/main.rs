use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = confsync::cli::Cli::parse();
    confsync::cli::run(cli)
}
