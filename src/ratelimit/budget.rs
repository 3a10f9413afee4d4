//! One endpoint's request budget: a sliding 60-second window, the way
//! CloudRoom states its limits ("访问限制：300次/min"), plus what a 429
//! teaches about a limit the document does not state.
//!
//! The window counts a request from the moment its answer arrived. The
//! server counted it on arrival, which lies between our send and its answer,
//! so a slot that frees 60 s after the answer can never be early on the
//! server's clock, whatever the latency. A sliding window is also correct
//! against a server that counts fixed calendar minutes or refills a bucket:
//! no 60-second span, aligned or not, ever holds more than the limit.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

/// The vendor's window.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Added to the window: servers that count in whole seconds or milliseconds
/// may round a request into the previous second.
const MARGIN: Duration = Duration::from_millis(250);

/// The longest pause after a 429.
const MAX_COOLDOWN: Duration = WINDOW;

/// A 429 teaches nothing about the limit while fewer answers than this were
/// accepted in the window: a refusal at the very start of a pass (someone
/// else spent the budget, or a passing throttle) only pauses the endpoint.
const MIN_SAMPLE: u32 = 10;

/// A budget as it stands, for metrics, logs and the table that keeps learned
/// budgets across runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub per_minute: u32,
    /// Spread evenly over the minute instead of sent as soon as the window
    /// allows: chosen when the server refused bursts well inside the window.
    pub paced: bool,
}

/// How the server answered a request sent under a [`Permit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accepted,
    /// HTTP 429 / code 22008: nothing more is sent to the endpoint for
    /// `pause` (the server's Retry-After, or the caller's backoff).
    RateLimited {
        pause: Duration,
    },
    /// Any other answer, or none: the server may still have counted it.
    Other,
}

/// What answering a permit changed, for the caller to log once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A budget where there was none.
    Learned(Limit),
    Lowered(Limit),
    Raised(Limit),
}

pub struct Budget {
    /// The configured limit; learning never raises a budget above it.
    ceiling: Option<u32>,
    state: Mutex<State>,
}

struct State {
    limit: Option<Limit>,
    /// The limit differs from the configuration because of a 429.
    learned: bool,
    /// Answer times within the window, refused ones too (a server may count them).
    answered: VecDeque<Instant>,
    /// Answer times of accepted requests within the window.
    accepted: VecDeque<Instant>,
    in_flight: u32,
    /// Bumped at each reaction to a 429, so that the answers of requests sent
    /// before it (often a whole concurrent batch) do not cut the budget again.
    epoch: u64,
    cooldown_until: Option<Instant>,
    next_paced: Option<Instant>,
    last_change: Instant,
    /// Someone waited for this budget since the last change: it was the limit.
    saturated: bool,
}

/// A slot taken from a budget; answer it with [`Permit::answer`]. Dropped
/// unanswered (cancelled, or the transport failed), it counts as [`Answer::Other`].
pub struct Permit<'a> {
    budget: &'a Budget,
    epoch: u64,
    answered: bool,
}

impl Budget {
    /// `per_minute` 0 means no budget until a 429 teaches one.
    pub fn new(per_minute: u32) -> Self {
        let limit = (per_minute > 0).then_some(Limit {
            per_minute,
            paced: false,
        });
        Budget {
            ceiling: limit.map(|l| l.per_minute),
            state: Mutex::new(State {
                limit,
                learned: false,
                answered: VecDeque::new(),
                accepted: VecDeque::new(),
                in_flight: 0,
                epoch: 0,
                cooldown_until: None,
                next_paced: None,
                last_change: Instant::now(),
                saturated: false,
            }),
        }
    }

    /// The budget in force; `None` while the endpoint is unpaced.
    pub fn limit(&self) -> Option<Limit> {
        self.lock().limit
    }

    /// The budget, if a 429 made it differ from the configuration.
    pub fn learned(&self) -> Option<Limit> {
        let state = self.lock();
        state.limit.filter(|_| state.learned)
    }

    /// Starts from a budget learned by an earlier run, unless this process
    /// has learned one itself; never above the configured limit.
    pub fn seed(&self, limit: Limit) {
        let mut state = self.lock();
        if state.learned {
            return;
        }
        let per_minute = self
            .ceiling
            .map_or(limit.per_minute, |c| c.min(limit.per_minute))
            .max(1);
        state.limit = Some(Limit {
            per_minute,
            paced: limit.paced,
        });
        state.learned = true;
    }

    /// Waits for a slot. Cancel-safe: a dropped wait takes nothing.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            let wake = {
                let mut state = self.lock();
                match state.take(Instant::now()) {
                    Ok(epoch) => {
                        return Permit {
                            budget: self,
                            epoch,
                            answered: false,
                        }
                    }
                    Err(wake) => {
                        state.saturated = true;
                        wake
                    }
                }
            };
            tokio::time::sleep_until(wake).await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn settle(&self, epoch: u64, answer: Answer) -> Option<Change> {
        let mut state = self.lock();
        let now = Instant::now();
        state.in_flight = state.in_flight.saturating_sub(1);
        state.answered.push_back(now);
        match answer {
            Answer::Accepted => {
                state.accepted.push_back(now);
                state.creep(now, self.ceiling)
            }
            Answer::RateLimited { pause } => {
                let change = if epoch == state.epoch {
                    state.cut(now)
                } else {
                    None
                };
                let until = now + pause.min(MAX_COOLDOWN);
                state.cooldown_until = Some(state.cooldown_until.map_or(until, |c| c.max(until)));
                change
            }
            Answer::Other => None,
        }
    }
}

impl State {
    /// A slot now (the epoch it was taken in), or when to look again.
    fn take(&mut self, now: Instant) -> Result<u64, Instant> {
        self.expire(now);
        if let Some(until) = self.cooldown_until.filter(|c| *c > now) {
            return Err(until);
        }
        if let Some(limit) = self.limit {
            let used = self.answered.len() + self.in_flight as usize;
            if used >= limit.per_minute as usize {
                // In-flight requests free their slot a window after their
                // answer, so no slot frees before a window from now.
                let wake = self
                    .answered
                    .front()
                    .map_or(now + WINDOW, |t| *t + WINDOW + MARGIN);
                return Err(wake);
            }
            if limit.paced {
                if let Some(next) = self.next_paced.filter(|n| *n > now) {
                    return Err(next);
                }
                self.next_paced = Some(now + WINDOW / limit.per_minute);
            }
        }
        self.in_flight += 1;
        Ok(self.epoch)
    }

    fn expire(&mut self, now: Instant) {
        for log in [&mut self.answered, &mut self.accepted] {
            while log.front().is_some_and(|t| *t + WINDOW + MARGIN <= now) {
                log.pop_front();
            }
        }
    }

    /// The reaction to a 429 on a request sent under the current budget.
    /// Without a budget, the accepted answers of the last window are the
    /// first estimate (exact for a sliding-window server). A budget refused
    /// far inside its window turns to pacing (the server smooths bursts);
    /// otherwise it falls to what the server accepted, by at least a tenth
    /// and at most by half.
    fn cut(&mut self, now: Instant) -> Option<Change> {
        self.expire(now);
        let accepted = u32::try_from(self.accepted.len()).unwrap_or(u32::MAX);
        if accepted < MIN_SAMPLE {
            return None;
        }
        self.epoch += 1;
        self.last_change = now;
        self.saturated = false;
        self.learned = true;
        let Some(limit) = self.limit else {
            let limit = Limit {
                per_minute: accepted.max(1),
                paced: false,
            };
            self.limit = Some(limit);
            return Some(Change::Learned(limit));
        };
        let lowered = if !limit.paced && accepted < limit.per_minute / 2 {
            Limit {
                paced: true,
                ..limit
            }
        } else {
            let l = limit.per_minute;
            let by_a_tenth = l.saturating_sub((l / 10).max(1));
            Limit {
                per_minute: accepted.min(by_a_tenth).max(l / 2).max(1),
                ..limit
            }
        };
        self.limit = Some(lowered);
        Some(Change::Lowered(lowered))
    }

    /// After a whole window at its learned limit without a 429, a budget
    /// grows by a twentieth: the vendor may have raised the limit, and a
    /// cut taken during someone else's burst should not last.
    fn creep(&mut self, now: Instant, ceiling: Option<u32>) -> Option<Change> {
        let limit = self.limit.filter(|_| self.learned)?;
        if !self.saturated || now.duration_since(self.last_change) < WINDOW {
            return None;
        }
        let l = limit.per_minute;
        let raised = ceiling.map_or(l + (l / 20).max(1), |c| c.min(l + (l / 20).max(1)));
        self.last_change = now;
        self.saturated = false;
        if raised == l {
            return None;
        }
        // Back at the configuration: as configured, bursts included.
        let back = ceiling == Some(raised);
        self.learned = !back;
        let raised = Limit {
            per_minute: raised,
            paced: limit.paced && !back,
        };
        self.limit = Some(raised);
        Some(Change::Raised(raised))
    }
}

impl Permit<'_> {
    /// Records the server's answer; returns the budget's change, if any.
    pub fn answer(mut self, answer: Answer) -> Option<Change> {
        self.answered = true;
        self.budget.settle(self.epoch, answer)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.answered {
            self.budget.settle(self.epoch, Answer::Other);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    async fn send(budget: &Budget, answer: Answer) -> Option<Change> {
        budget.acquire().await.answer(answer)
    }

    #[tokio::test(start_paused = true)]
    async fn the_whole_limit_goes_at_once_then_the_window_slides() {
        let budget = Budget::new(300);
        let start = Instant::now();
        for _ in 0..300 {
            send(&budget, Answer::Accepted).await;
        }
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "no pacing inside the limit"
        );
        send(&budget, Answer::Accepted).await;
        assert!(start.elapsed() >= WINDOW, "{:?}", start.elapsed());
        assert!(start.elapsed() <= WINDOW + Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn no_budget_means_no_wait() {
        let budget = Budget::new(0);
        let start = Instant::now();
        for _ in 0..10_000 {
            send(&budget, Answer::Accepted).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(budget.limit(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_first_429_learns_what_the_window_accepted() {
        let budget = Budget::new(0);
        for _ in 0..120 {
            send(&budget, Answer::Accepted).await;
        }
        let change = send(&budget, Answer::RateLimited { pause: SECOND }).await;
        let learned = Limit {
            per_minute: 120,
            paced: false,
        };
        assert_eq!(change, Some(Change::Learned(learned)));
        assert_eq!(budget.learned(), Some(learned));
        // The window is full: the next slot is a window after the first answer.
        let start = Instant::now();
        send(&budget, Answer::Accepted).await;
        assert!(start.elapsed() >= WINDOW - Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_429s_of_one_batch_cut_once() {
        let budget = Budget::new(0);
        for _ in 0..50 {
            send(&budget, Answer::Accepted).await;
        }
        let permits: Vec<_> = futures::future::join_all((0..16).map(|_| budget.acquire())).await;
        let changes: Vec<_> = permits
            .into_iter()
            .filter_map(|p| p.answer(Answer::RateLimited { pause: SECOND }))
            .collect();
        assert_eq!(changes.len(), 1, "{changes:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn refused_bursts_turn_to_pacing_then_halve_at_most() {
        let budget = Budget::new(300);
        for _ in 0..MIN_SAMPLE {
            send(&budget, Answer::Accepted).await;
        }
        let change = send(&budget, Answer::RateLimited { pause: SECOND }).await;
        assert_eq!(
            change,
            Some(Change::Lowered(Limit {
                per_minute: 300,
                paced: true
            }))
        );
        let change = send(&budget, Answer::RateLimited { pause: SECOND }).await;
        assert_eq!(
            change,
            Some(Change::Lowered(Limit {
                per_minute: 150,
                paced: true
            }))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_learned_budget_creeps_back_up_but_not_past_the_configuration() {
        let budget = Budget::new(100);
        budget.seed(Limit {
            per_minute: 98,
            paced: false,
        });
        let mut raised = None;
        for _ in 0..400 {
            if let Some(change) = send(&budget, Answer::Accepted).await {
                raised = Some(change);
            }
        }
        assert_eq!(
            raised,
            Some(Change::Raised(Limit {
                per_minute: 100,
                paced: false
            }))
        );
        assert_eq!(budget.learned(), None, "back at the configured limit");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_at_the_start_pauses_without_learning() {
        let budget = Budget::new(0);
        send(&budget, Answer::Accepted).await;
        assert_eq!(
            send(&budget, Answer::RateLimited { pause: SECOND }).await,
            None
        );
        assert_eq!(budget.limit(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_the_budget() {
        let budget = Budget::new(0);
        send(&budget, Answer::Accepted).await;
        send(
            &budget,
            Answer::RateLimited {
                pause: Duration::from_secs(7),
            },
        )
        .await;
        let start = Instant::now();
        send(&budget, Answer::Accepted).await;
        assert!(start.elapsed() >= Duration::from_secs(7));
    }
}
