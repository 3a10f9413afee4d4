//! `confsync run`: every job on its schedule, health and metrics over HTTP,
//! graceful shutdown. (stub: being written)

pub mod settings;

use std::process::ExitCode;

use crate::configuration::Settings;

pub async fn run(_settings: Settings) -> ExitCode {
    eprintln!("error: confsync run is not implemented yet");
    ExitCode::FAILURE
}

pub async fn status(_settings: &Settings, _json: bool) -> ExitCode {
    eprintln!("error: confsync status is not implemented yet");
    ExitCode::FAILURE
}
