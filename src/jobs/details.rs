//! Conference details (`GET conference/{confId}`) of the conferences the
//! list shows new or changed, and of the meeting history once each. Not part
//! of `sync mirror`: the details double a first backfill's requests, so they
//! run on a schedule of their own.

use futures::future::BoxFuture;

use super::{Job, Run};
use crate::mirror::Pass;

pub struct Details;

impl Job for Details {
    fn name(&self) -> &'static str {
        "details"
    }

    /// After the conference list's ticks (every 10 minutes, on the minute).
    fn default_schedule(&self) -> &'static str {
        "0 5/10 * * * *"
    }

    fn table(&self) -> Option<&'static str> {
        Some("cloudroom.conference_details")
    }

    fn run<'a>(&'a self, run: &'a mut Run<'_>) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(run.mirror_pass(Pass::Details))
    }
}
