//! How many recordings reads may be in flight: few at first, then twice as
//! many every [`STEP`] up to `cloudroom.recordings_concurrency`.
//!
//! A server with a limit the document does not state refuses every request
//! in flight when its limit is reached; starting small keeps those few, and
//! the learned budget gates what follows. Against a server without such a
//! limit the full concurrency is reached within a couple of seconds.

use std::time::{Duration, Instant};

/// Reads in flight at the start (or fewer, when configured so).
pub const START: usize = 16;
/// How often the limit doubles.
pub const STEP: Duration = Duration::from_millis(250);

pub struct Ramp {
    max: usize,
    started: Instant,
}

impl Ramp {
    pub fn new(max: usize) -> Self {
        Ramp {
            max: max.max(1),
            started: Instant::now(),
        }
    }

    /// The reads that may be in flight now.
    pub fn limit(&self) -> usize {
        let steps = (self.started.elapsed().as_millis() / STEP.as_millis()).min(16) as u32;
        START.saturating_mul(1 << steps).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_small_and_reaches_the_configured_concurrency() {
        let ramp = Ramp::new(128);
        assert_eq!(ramp.limit(), START);
        let later = Ramp {
            max: 128,
            started: Instant::now() - STEP * 3,
        };
        assert_eq!(later.limit(), 128);
        assert_eq!(Ramp::new(4).limit(), 4);
    }
}
