//! `archive.max_bytes_per_second`: one budget of bytes shared by every
//! transfer of a run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub struct Throttle {
    bytes_per_second: u64,
    started: Instant,
    taken: AtomicU64,
}

impl Throttle {
    /// 0: no cap.
    pub fn new(bytes_per_second: u64) -> Self {
        Throttle {
            bytes_per_second,
            started: Instant::now(),
            taken: AtomicU64::new(0),
        }
    }

    /// Counts `bytes` and waits until the run is back under the cap.
    pub async fn take(&self, bytes: u64) {
        if self.bytes_per_second == 0 {
            return;
        }
        let taken = self.taken.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let due = Duration::from_secs_f64(taken as f64 / self.bytes_per_second as f64);
        if let Some(wait) = due.checked_sub(self.started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
}
