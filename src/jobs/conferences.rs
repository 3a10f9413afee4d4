//! The conference list (`conference/list`), each conference upserted; a conference no longer listed is marked removed.

use futures::future::BoxFuture;

use super::{Job, Run};
use crate::mirror::Pass;

pub struct Conferences;

impl Job for Conferences {
    fn name(&self) -> &'static str {
        "conferences"
    }

    fn default_schedule(&self) -> &'static str {
        "0 */10 * * * *"
    }

    fn table(&self) -> Option<&'static str> {
        Some("cloudroom.conferences")
    }

    fn run<'a>(&'a self, run: &'a mut Run<'_>) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(run.mirror_pass(Pass::Conferences))
    }
}
