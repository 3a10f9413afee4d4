//! The line a one-shot `sync` shows on a terminal: what the pass is doing,
//! how far it has got, its request rate and the time it spent waiting for a
//! request budget. Hidden when stderr is not a terminal (the bar is).

use std::time::{Duration, Instant};

use super::MirrorContext;

pub struct PassProgress {
    started: Instant,
    calls_before: u64,
    waited_before: Duration,
}

impl PassProgress {
    pub fn start(ctx: &MirrorContext) -> Self {
        let stats = ctx.client.stats();
        PassProgress {
            started: Instant::now(),
            calls_before: stats.calls(),
            waited_before: stats.limiter_wait(),
        }
    }

    /// Shows `what`, followed by this pass's request rate and budget wait.
    pub fn show(&self, ctx: &MirrorContext, what: String) {
        if ctx.progress.is_hidden() {
            return;
        }
        let stats = ctx.client.stats();
        let calls = stats.calls().saturating_sub(self.calls_before);
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        // Concurrent callers wait at once, so the sum can exceed the wall time.
        let waited = stats.limiter_wait().saturating_sub(self.waited_before);
        ctx.progress.set_message(format!(
            "{what} · {:.0} req/s · {:.0} s waiting for a request budget",
            calls as f64 / seconds,
            waited.as_secs_f64()
        ));
    }
}
