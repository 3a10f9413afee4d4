//! The retry loop both vendor clients share: exponential backoff with
//! equal jitter (half the delay fixed, half random), a throttle that does
//! not use up the retries but runs out of patience, and waits that a
//! cancellation cuts short.
//!
//! backon was considered; its retries all count against one limit, while a
//! vendor's throttle must not use up the retries meant for failures.

use std::future::Future;
use std::time::{Duration, Instant};

use rand::Rng;
use tokio_util::sync::CancellationToken;

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

/// What a failed attempt means for the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Worth sending again after a backoff, up to `max_retries` times.
    Transient,
    /// The vendor's throttle: sent again without a backoff of its own (the
    /// caller's rate budget holds the pause) and without using up the
    /// retries, until `patience` has passed since the first refusal.
    Throttled,
    /// Sending again cannot help.
    Permanent,
}

/// How far a call has got, as its next attempt sees it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Attempt {
    /// Retries after failures so far.
    pub retries: u32,
    /// Throttled answers so far.
    pub throttled: u32,
}

/// One call's retry rules.
pub struct Retry<'a> {
    pub backoff: &'a Backoff,
    pub patience: Duration,
    pub cancel: Option<&'a CancellationToken>,
}

impl Retry<'_> {
    /// Sends `attempt` until it succeeds, fails for good, runs out of
    /// retries or patience, or the token is cancelled; returns the last
    /// answer and how many attempts were made. `on_retry` sees each failure
    /// that is retried, with the delay before the next attempt.
    pub async fn run<T, E, Fut>(
        &self,
        mut attempt: impl FnMut(Attempt) -> Fut,
        classify: impl Fn(&E) -> Failure,
        mut on_retry: impl FnMut(&E, Attempt, Duration),
    ) -> (Result<T, E>, u32)
    where
        Fut: Future<Output = Result<T, E>>,
    {
        let mut so_far = Attempt::default();
        let mut first_throttle: Option<Instant> = None;
        let mut sent = 0;
        loop {
            sent += 1;
            let error = match attempt(so_far).await {
                Err(e) => e,
                answer => return (answer, sent),
            };
            let delay = match classify(&error) {
                Failure::Throttled => {
                    let since = *first_throttle.get_or_insert_with(Instant::now);
                    if since.elapsed() >= self.patience {
                        return (Err(error), sent);
                    }
                    so_far.throttled += 1;
                    Duration::ZERO
                }
                Failure::Transient if so_far.retries < self.backoff.max_retries => {
                    so_far.retries += 1;
                    self.backoff.delay(so_far.retries - 1)
                }
                Failure::Transient | Failure::Permanent => return (Err(error), sent),
            };
            on_retry(&error, so_far, delay);
            if !sleep_unless_cancelled(self.cancel, delay).await {
                return (Err(error), sent);
            }
        }
    }
}

/// Sleeps for `delay`; false when `cancel` fired first (or already had).
pub async fn sleep_unless_cancelled(cancel: Option<&CancellationToken>, delay: Duration) -> bool {
    match cancel {
        Some(cancel) if cancel.is_cancelled() => false,
        Some(cancel) => tokio::select! {
            _ = cancel.cancelled() => false,
            _ = tokio::time::sleep(delay) => true,
        },
        None => {
            tokio::time::sleep(delay).await;
            true
        }
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

    fn quick(max_retries: u32) -> Backoff {
        Backoff {
            base: Duration::from_millis(1),
            max: Duration::from_millis(2),
            max_retries,
        }
    }

    #[tokio::test]
    async fn transient_failures_use_up_the_retries_and_throttles_do_not() {
        let backoff = quick(2);
        let retry = Retry {
            backoff: &backoff,
            patience: Duration::from_secs(60),
            cancel: None,
        };
        // Three throttles, then two failures, then success: five retries, two counted.
        let answers = [
            "throttled",
            "throttled",
            "throttled",
            "failed",
            "failed",
            "ok",
        ];
        let mut seen = Vec::new();
        let (result, sent) = retry
            .run(
                |so_far| {
                    seen.push((so_far.retries, so_far.throttled));
                    let answer = answers[seen.len() - 1];
                    async move {
                        if answer == "ok" {
                            Ok(())
                        } else {
                            Err(answer)
                        }
                    }
                },
                |e: &&str| match *e {
                    "throttled" => Failure::Throttled,
                    _ => Failure::Transient,
                },
                |_, _, _| {},
            )
            .await;
        assert_eq!(result, Ok(()));
        assert_eq!(sent, 6);
        assert_eq!(seen.last(), Some(&(2, 3)));
        // One more failure than max_retries allows: the last error comes back.
        let (result, sent) = retry
            .run(
                |_| async { Err::<(), _>("failed") },
                |_| Failure::Transient,
                |_, _, _| {},
            )
            .await;
        assert_eq!((result, sent), (Err("failed"), 3));
    }

    #[tokio::test]
    async fn a_cancelled_token_ends_the_wait() {
        let backoff = Backoff {
            base: Duration::from_secs(60),
            max: Duration::from_secs(60),
            max_retries: 3,
        };
        let cancel = CancellationToken::new();
        cancel.cancel();
        let retry = Retry {
            backoff: &backoff,
            patience: Duration::from_secs(60),
            cancel: Some(&cancel),
        };
        let (result, sent) = retry
            .run(
                |_| async { Err::<(), _>("failed") },
                |_| Failure::Transient,
                |_, _, _| {},
            )
            .await;
        assert_eq!((result, sent), (Err("failed"), 1));
    }
}
