//! The recordings (`video/{confId}`) of every queued conference, read concurrently.

use futures::future::BoxFuture;

use super::{Job, Run};
use crate::mirror::Pass;

pub struct Recordings;

impl Job for Recordings {
    fn name(&self) -> &'static str {
        "recordings"
    }

    fn default_schedule(&self) -> &'static str {
        "0 */30 * * * *"
    }

    fn table(&self) -> Option<&'static str> {
        Some("cloudroom.recordings")
    }

    /// Reads the recordings of what each history page queues while the
    /// history pass goes on.
    fn follows(&self) -> Option<&'static str> {
        Some("history")
    }

    fn run<'a>(&'a self, run: &'a mut Run<'_>) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(run.mirror_pass(Pass::Recordings))
    }
}
