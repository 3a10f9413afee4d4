//! `confsync bench directory`. (stub: being written)

use crate::configuration::Settings;

#[derive(Debug, Clone, clap::Args)]
pub struct DirectoryBenchArgs {
    /// Generated people in the directory.
    #[arg(long, default_value_t = 100_000)]
    pub people: usize,
}

pub async fn run(_settings: &Settings, _args: &DirectoryBenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("confsync bench directory is not implemented yet")
}
