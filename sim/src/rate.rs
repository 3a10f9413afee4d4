//! The simulator's request limits, with a flag for each reading the
//! document leaves open (docs/simulator.md lists them).
//!
//! The document states "访问限制：300次/min" under 查询会议列表 and
//! 查询历史会议列表, and nothing for any other endpoint. It does not say
//! whether the window slides or counts calendar minutes, whether the two
//! lists share one 300, whether refused requests count, or whether a 429
//! carries `Retry-After`.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const WINDOW: Duration = Duration::from_secs(60);

/// How the window counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RateWindow {
    /// Any 60 s: at most the limit in every 60-second span.
    #[default]
    Sliding,
    /// Calendar minutes: the count starts again at each whole minute.
    Fixed,
}

/// Whose budget the 300/min of the two list endpoints is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ListScope {
    /// 300 for the conference list and another 300 for the history list.
    #[default]
    PerEndpoint,
    /// One 300 for the two together.
    Shared,
}

/// `--other-requests-per-minute`: `N` for every endpoint without a stated
/// limit, or `ENDPOINT=N` (an endpoint label such as `video.list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherLimit {
    pub endpoint: Option<String>,
    pub per_minute: u32,
}

impl std::str::FromStr for OtherLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (endpoint, n) = match s.split_once('=') {
            Some((endpoint, n)) => (Some(endpoint.trim().to_string()), n),
            None => (None, s),
        };
        let per_minute = n
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: expected N or ENDPOINT=N (e.g. video.list=120)"))?;
        Ok(OtherLimit {
            endpoint,
            per_minute,
        })
    }
}

/// The limit flags of `confsync simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct RateFlags {
    /// Requests per minute per secretId on each of `conference/list` and
    /// `conference/history/list`, as the document states (0 = no limit).
    #[arg(long, default_value_t = 300)]
    pub list_requests_per_minute: u32,
    /// Whether the two list endpoints have one budget each or share one.
    #[arg(long, value_enum, default_value_t = ListScope::PerEndpoint)]
    pub list_limit_scope: ListScope,
    /// Limits the document does not state: `N` for every other endpoint or
    /// `ENDPOINT=N` for one (repeatable; the more specific wins).
    #[arg(long = "other-requests-per-minute", value_name = "[ENDPOINT=]N")]
    pub other_requests_per_minute: Vec<OtherLimit>,
    /// How the window counts.
    #[arg(long, value_enum, default_value_t = RateWindow::Sliding)]
    pub rate_window: RateWindow,
    /// Refused requests count in the window too (a client that keeps
    /// hammering stays locked out).
    #[arg(long)]
    pub count_refused: bool,
    /// 429 answers carry `Retry-After` (seconds until a slot frees).
    #[arg(long)]
    pub retry_after: bool,
}

impl Default for RateFlags {
    fn default() -> Self {
        RateFlags {
            list_requests_per_minute: 300,
            list_limit_scope: ListScope::PerEndpoint,
            other_requests_per_minute: Vec::new(),
            rate_window: RateWindow::Sliding,
            count_refused: false,
            retry_after: false,
        }
    }
}

impl RateFlags {
    /// No limit anywhere.
    pub fn unlimited() -> Self {
        RateFlags {
            list_requests_per_minute: 0,
            ..RateFlags::default()
        }
    }

    /// The window an endpoint's requests count in, and its limit.
    fn bucket(&self, endpoint: &str) -> Option<(String, u32)> {
        const LISTS: [&str; 2] = ["conference.list", "conference.history"];
        if LISTS.contains(&endpoint) {
            let n = self.list_requests_per_minute;
            let key = match self.list_limit_scope {
                ListScope::Shared => "lists",
                ListScope::PerEndpoint if endpoint == LISTS[0] => LISTS[0],
                ListScope::PerEndpoint => LISTS[1],
            };
            return (n > 0).then(|| (key.to_string(), n));
        }
        let specific = self
            .other_requests_per_minute
            .iter()
            .find(|l| l.endpoint.as_deref() == Some(endpoint));
        let general = self
            .other_requests_per_minute
            .iter()
            .find(|l| l.endpoint.is_none());
        let n = specific.or(general)?.per_minute;
        (n > 0).then(|| (endpoint.to_string(), n))
    }
}

/// Requests counted so far, per (secretId, window).
#[derive(Default)]
pub struct RateWindows {
    windows: HashMap<(String, String), Window>,
}

#[derive(Default)]
struct Window {
    /// Sliding: when each counted request arrived.
    arrivals: VecDeque<Instant>,
    /// Fixed: the calendar minute being counted and its count.
    minute: u64,
    count: u32,
}

/// A refusal, with the seconds until a slot frees when the flags send them.
pub struct Refused {
    pub retry_after: Option<u64>,
}

impl RateWindows {
    pub fn admit(
        &mut self,
        flags: &RateFlags,
        secret_id: &str,
        endpoint: &str,
    ) -> Result<(), Refused> {
        let Some((key, limit)) = flags.bucket(endpoint) else {
            return Ok(());
        };
        let window = self
            .windows
            .entry((secret_id.to_string(), key))
            .or_default();
        let (admitted, wait) = match flags.rate_window {
            RateWindow::Sliding => window.slide(limit, flags.count_refused),
            RateWindow::Fixed => window.fixed(limit, flags.count_refused),
        };
        if admitted {
            return Ok(());
        }
        Err(Refused {
            retry_after: flags.retry_after.then(|| wait.as_secs_f64().ceil() as u64),
        })
    }
}

impl Window {
    fn slide(&mut self, limit: u32, count_refused: bool) -> (bool, Duration) {
        let now = Instant::now();
        while self
            .arrivals
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            self.arrivals.pop_front();
        }
        let admitted = self.arrivals.len() < limit as usize;
        if admitted || count_refused {
            self.arrivals.push_back(now);
        }
        // The slot that frees first is the one the oldest counted request holds.
        let oldest = self.arrivals.len().saturating_sub(limit as usize);
        let wait = self.arrivals.get(oldest).map_or(Duration::ZERO, |t| {
            WINDOW.saturating_sub(now.duration_since(*t))
        });
        (admitted, wait)
    }

    fn fixed(&mut self, limit: u32, count_refused: bool) -> (bool, Duration) {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let minute = since_epoch.as_secs() / 60;
        if minute != self.minute {
            self.minute = minute;
            self.count = 0;
        }
        let admitted = self.count < limit;
        if admitted || count_refused {
            self.count = self.count.saturating_add(1);
        }
        let into_minute = since_epoch - Duration::from_secs(minute * 60);
        (admitted, WINDOW.saturating_sub(into_minute))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_lists_are_limited_by_default() {
        let flags = RateFlags::default();
        let mut windows = RateWindows::default();
        for _ in 0..300 {
            assert!(windows.admit(&flags, "id", "conference.list").is_ok());
        }
        assert!(windows.admit(&flags, "id", "conference.list").is_err());
        assert!(windows.admit(&flags, "id", "conference.history").is_ok());
        assert!(windows.admit(&flags, "other", "conference.list").is_ok());
        for _ in 0..1000 {
            assert!(windows.admit(&flags, "id", "video.list").is_ok());
        }
    }

    #[test]
    fn shared_lists_and_other_limits() {
        let flags = RateFlags {
            list_requests_per_minute: 2,
            list_limit_scope: ListScope::Shared,
            other_requests_per_minute: vec!["1".parse().unwrap(), "video.list=3".parse().unwrap()],
            retry_after: true,
            ..RateFlags::default()
        };
        let mut w = RateWindows::default();
        assert!(w.admit(&flags, "id", "conference.list").is_ok());
        assert!(w.admit(&flags, "id", "conference.history").is_ok());
        let refused = w.admit(&flags, "id", "conference.list").unwrap_err();
        assert!(refused.retry_after.is_some_and(|s| (59..=60).contains(&s)));
        for _ in 0..3 {
            assert!(w.admit(&flags, "id", "video.list").is_ok());
        }
        assert!(w.admit(&flags, "id", "video.list").is_err());
        assert!(w.admit(&flags, "id", "conference.get").is_ok());
        assert!(w.admit(&flags, "id", "conference.get").is_err());
        assert!("video.list=x".parse::<OtherLimit>().is_err());
    }
}
