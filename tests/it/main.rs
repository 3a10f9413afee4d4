//! The integration tests, in one binary: the helpers compile once and a
//! change in `src/` relinks one test executable instead of twenty. Every test
//! makes its own database and simulator, so they run in parallel.

mod common;

mod aliyun_client;
mod archive;
mod archive_safety;
mod attendance;
mod bad_input;
mod cli_config;
mod cloudroom_client;
mod companies;
mod config_example;
mod config_online;
mod daemon;
mod daemon_archive;
mod daemon_http;
mod daemon_schedule;
mod daemon_shutdown;
mod database_helper;
mod database_tls;
mod details;
mod directory;
mod directory_faults;
mod directory_identity;
mod directory_secrets;
mod faults;
mod hostile;
mod hostile_property;
mod lifecycle;
mod metrics;
mod mirror;
mod operator;
mod pooler;
mod rate_budget;
mod reports;
mod secrets;
mod sim_files;
mod sim_tenants;
mod status;
mod store;
mod tenants;
mod tenants_daemons;
mod vendor_safety;
