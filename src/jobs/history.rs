//! Meeting history (`conference/history/list`) in windows from the watermark, one checkpoint per page; queues the conferences whose recordings changed.

use futures::future::BoxFuture;

use super::{Job, Run};
use crate::mirror::Pass;

pub struct History;

impl Job for History {
    fn name(&self) -> &'static str {
        "history"
    }

    fn default_schedule(&self) -> &'static str {
        "0 0 * * * *"
    }

    fn table(&self) -> Option<&'static str> {
        Some("cloudroom.meeting_history")
    }

    fn run<'a>(&'a self, run: &'a mut Run<'_>) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(run.mirror_pass(Pass::History))
    }
}
