//! The HR directory push: desired state (the HR export) against what
//! confsync pushed (PostgreSQL), a plan, then apply. (stub: being written)

pub mod settings;

use std::process::ExitCode;

use crate::configuration::Settings;

pub async fn plan(_settings: &Settings, _json: bool) -> ExitCode {
    eprintln!("error: confsync directory plan is not implemented yet");
    ExitCode::FAILURE
}

pub async fn apply(_settings: &Settings, _allow_mass_delete: bool) -> ExitCode {
    eprintln!("error: confsync directory apply is not implemented yet");
    ExitCode::FAILURE
}

pub async fn verify(_settings: &Settings) -> ExitCode {
    eprintln!("error: confsync directory verify is not implemented yet");
    ExitCode::FAILURE
}
