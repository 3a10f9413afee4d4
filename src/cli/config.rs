//! `confsync config check|show` and `confsync simulate`: the commands that
//! start without a valid configuration.

use std::process::ExitCode;

use serde::Serialize;

use super::exit;
use super::output::print_json;
use crate::configuration::{self, ConfigProblem, ConfigSources, Settings};
use crate::telemetry;
use confsync_sim::SimConfig;

/// `config check --json`.
#[derive(Debug, Serialize)]
struct CheckReport {
    valid: bool,
    problems: Vec<ConfigProblem>,
    /// Only with `--online`: what the database and the vendors answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    online: Option<OnlineReport>,
}

#[derive(Debug, Serialize)]
struct OnlineReport {
    failures: Vec<ConfigProblem>,
}

/// Exit 0 when valid, 78 with every problem, 1 when `--online` finds one
/// that does not answer.
pub async fn check(sources: &ConfigSources, online: bool, json: bool) -> ExitCode {
    let settings = match valid_settings(sources) {
        Ok(settings) => settings,
        Err(problems) if json => {
            print_json(&CheckReport {
                valid: false,
                problems,
                online: None,
            });
            return exit::code(exit::CONFIG);
        }
        Err(problems) => {
            eprintln!("{}", configuration::ConfigError(problems));
            return exit::code(exit::CONFIG);
        }
    };
    let failures = match online {
        true => Some(crate::doctor::check_online(&settings).await),
        false => None,
    };
    let failed = failures.as_ref().is_some_and(|f| !f.is_empty());
    if json {
        print_json(&CheckReport {
            valid: true,
            problems: Vec::new(),
            online: failures.map(|failures| OnlineReport { failures }),
        });
    } else {
        print_text(failures.as_deref());
    }
    exit::code(if failed { exit::FAILED } else { exit::OK })
}

fn valid_settings(sources: &ConfigSources) -> Result<Settings, Vec<ConfigProblem>> {
    let (settings, _) = configuration::load(sources).map_err(|e| e.0)?;
    match configuration::missing_credentials(&settings) {
        missing if !missing.is_empty() => Err(missing),
        _ => Ok(settings),
    }
}

fn print_text(failures: Option<&[ConfigProblem]>) {
    println!("configuration is valid");
    match failures {
        None => {}
        Some([]) => println!("the database and every configured vendor answered"),
        Some(failures) => {
            for failure in failures {
                eprintln!("  - {failure}");
            }
        }
    }
}

/// `config show`: the merged configuration, secrets redacted.
pub fn show(sources: &ConfigSources) -> ExitCode {
    match configuration::load(sources) {
        Ok((settings, _)) => {
            print!("{}", configuration::show(&settings));
            exit::code(exit::OK)
        }
        Err(e) => {
            eprintln!("{e}");
            exit::code(exit::CONFIG)
        }
    }
}

/// `simulate`: serves until Ctrl-C.
pub async fn simulate(config: SimConfig, level: Option<&str>) -> ExitCode {
    telemetry::init(&Settings::default().logging, level);
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
