//! Client-side rate limiting keyed by credential, shared by every caller in
//! the process: CloudRoom counts requests per secretId, so two clients built
//! from the same secretId must draw from one budget.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota};

/// A limiter that spaces requests evenly. Burst is 1 on purpose: a GCRA
/// limiter with a burst of N admits N extra requests inside one sliding
/// minute, which is exactly what the vendor's window counts and rejects.
pub struct RequestLimiter {
    inner: DefaultDirectRateLimiter,
    per_minute: u32,
}

impl RequestLimiter {
    /// Keeps a 1% margin (at least one request) below `per_minute` so that
    /// network jitter between our clock and the vendor's window never tips a
    /// request over the limit.
    pub fn new(per_minute: u32) -> Self {
        let effective = per_minute.saturating_sub((per_minute / 100).max(1)).max(1);
        let period = Duration::from_secs_f64(60.0 / f64::from(effective));
        let quota = Quota::with_period(period)
            .expect("period is positive")
            .allow_burst(NonZeroU32::MIN);
        RequestLimiter {
            inner: governor::RateLimiter::direct(quota),
            per_minute,
        }
    }

    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// Waits for a slot; returns how long the caller waited.
    pub async fn acquire(&self) -> Duration {
        let start = Instant::now();
        self.inner.until_ready().await;
        start.elapsed()
    }
}

/// The process-wide limiter for `key` at `per_minute`.
type Registry = Mutex<HashMap<(String, u32), Arc<RequestLimiter>>>;

pub fn shared(key: &str, per_minute: u32) -> Arc<RequestLimiter> {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    let registry = REGISTRY.get_or_init(Default::default);
    let mut map = registry
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    map.entry((key.to_string(), per_minute))
        .or_insert_with(|| Arc::new(RequestLimiter::new(per_minute)))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_shares_one_limiter() {
        let a = shared("id-a", 300);
        let b = shared("id-a", 300);
        let c = shared("id-b", 300);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }

    #[tokio::test]
    async fn spaces_requests_evenly() {
        let limiter = RequestLimiter::new(6000); // effective 5940/min ≈ 10.1 ms apart
        let start = Instant::now();
        for _ in 0..11 {
            limiter.acquire().await;
        }
        assert!(start.elapsed() >= Duration::from_millis(95));
    }
}
