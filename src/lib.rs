//! confsync: mirrors CloudRoom meetings into PostgreSQL and pushes an HR
//! directory into CloudRoom and Aliyun CVC.
//!
//! `main.rs` only parses the command line; everything else lives here so that
//! tests can run each job directly.

pub mod aliyun;
pub mod app;
pub mod archive;
pub mod attendance;
pub mod causes;
pub mod cli;
pub mod cloudroom;
pub mod companies;
pub mod configuration;
pub mod daemon;
pub mod directory;
pub mod doctor;
pub mod jobs;
pub mod metrics;
pub mod mirror;
pub mod ratelimit;
pub mod retry;
pub mod rss;
pub mod secret;
pub mod setting;
pub mod store;
pub mod telemetry;
pub mod text;
pub mod transport;
