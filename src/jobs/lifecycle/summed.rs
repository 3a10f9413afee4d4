//! Routine events logged in aggregate: skipped ticks, and runs that
//! succeeded. A daemon with 2,000 tenants skips thousands of ticks a minute
//! when its slots are busy, and ends thousands of runs; one line each
//! floods journald, which then rate-limits and drops lines, the ones that
//! matter too. The first event of each kind in a window is logged as it
//! happens; the rest are summed into one line per kind when the window
//! ends (at the next event after it), and logged one by one at debug.
//! `confsync_ticks_skipped_total{reason}` and the run metrics count every
//! one. Failures are never summed: each is logged.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long events are summed before their summary line.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Tenants and jobs a summary names, at most.
const SAMPLES: usize = 5;

/// What to log for one skip.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// The first of its kind in this window: log the event itself.
    First,
    /// The window ended: one summary per kind of the window before.
    Summary {
        kind: &'static str,
        count: u64,
        samples: Vec<String>,
        seconds: u64,
    },
}

#[derive(Debug)]
pub struct Window {
    started: Instant,
    counts: BTreeMap<&'static str, (u64, Vec<String>)>,
}

impl Window {
    pub fn new(now: Instant) -> Self {
        Window {
            started: now,
            counts: BTreeMap::new(),
        }
    }

    /// Counts one event of (tenant, job) of kind `kind`; returns what to log.
    pub fn note(&mut self, now: Instant, kind: &'static str, tenant: &str, job: &str) -> Vec<Line> {
        let mut lines = Vec::new();
        if now.duration_since(self.started) >= WINDOW {
            let seconds = now.duration_since(self.started).as_secs();
            for (kind, (count, samples)) in std::mem::take(&mut self.counts) {
                if count > 1 {
                    lines.push(Line::Summary {
                        kind,
                        count,
                        samples,
                        seconds,
                    });
                }
            }
            self.started = now;
        }
        let (count, samples) = self.counts.entry(kind).or_default();
        *count += 1;
        if samples.len() < SAMPLES {
            samples.push(format!("{tenant}/{job}"));
        }
        if *count == 1 {
            lines.push(Line::First);
        }
        lines
    }
}

/// One process-wide window of one sort of event.
pub struct Aggregated(Mutex<Option<Window>>);

impl Aggregated {
    pub const fn new() -> Self {
        Aggregated(Mutex::new(None))
    }

    /// Counts one event of (tenant, job) of kind `kind`; returns what to log.
    pub fn note(&self, kind: &'static str, tenant: &str, job: &str) -> Vec<Line> {
        let now = Instant::now();
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        state
            .get_or_insert_with(|| Window::new(now))
            .note(now, kind, tenant, job)
    }
}

impl Default for Aggregated {
    fn default() -> Self {
        Self::new()
    }
}

/// Skipped ticks, by reason.
pub static SKIPS: Aggregated = Aggregated::new();

/// Runs that succeeded, by job.
pub static SUCCESSES: Aggregated = Aggregated::new();

/// "t1/history, t2/history, …": the samples of a summary.
pub fn samples_text(samples: &[String], count: u64) -> String {
    let more = if count > samples.len() as u64 {
        ", …"
    } else {
        ""
    };
    format!("{}{more}", samples.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_skips_is_one_line_then_one_summary() {
        let start = Instant::now();
        let mut window = Window::new(start);
        let mut lines = Vec::new();
        for i in 0..2_000 {
            let tenant = format!("t{i:04}");
            lines.extend(window.note(start, "still_running", &tenant, "history"));
        }
        assert_eq!(lines, [Line::First]);
        let after = window.note(start + WINDOW, "still_running", "t0000", "history");
        assert_eq!(after.len(), 2, "{after:?}");
        match &after[0] {
            Line::Summary {
                count,
                samples,
                kind,
                ..
            } => {
                assert_eq!((*count, *kind), (2_000, "still_running"));
                assert_eq!(samples.len(), SAMPLES);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(after[1], Line::First);
    }
}
