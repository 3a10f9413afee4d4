//! Exponential backoff with equal jitter (half the delay fixed, half random), shared by both vendor clients.

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone)]
pub struct Backoff {
    /// Delay before the first retry (before jitter).
    pub base: Duration,
    /// No single delay exceeds this.
    pub max: Duration,
    /// Retries after the first attempt; 0 disables retrying.
    pub max_retries: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(200),
            max: Duration::from_secs(20),
            max_retries: 5,
        }
    }
}

impl Backoff {
    pub fn with_retries(max_retries: u32) -> Self {
        Backoff {
            max_retries,
            ..Backoff::default()
        }
    }

    /// The delay before retry number `attempt` (0-based). Jitter spreads the
    /// retries of many concurrent callers so they do not return in lockstep
    /// and trip the vendor's rate limit again.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.min(16)))
            .min(self.max);
        let half = exp / 2;
        let jitter_ms = rand::rng().random_range(0..=half.as_millis().max(1) as u64);
        half + Duration::from_millis(jitter_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_capped() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
            max_retries: 10,
        };
        for attempt in 0..12 {
            let d = b.delay(attempt);
            assert!(d <= Duration::from_millis(1001), "{attempt}: {d:?}");
        }
        assert!(b.delay(0) >= Duration::from_millis(50));
        assert!(b.delay(5) >= Duration::from_millis(500));
    }
}
