//! What both vendor clients share about sending requests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// HTTP requests sent on behalf of one run (retries included). Both clients
/// count into the counter of the run they were handed to, so a run's
/// `api_calls` holds its own requests and not those of jobs running beside
/// it on the same shared client.
#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<AtomicU64>);

impl CallCounter {
    pub fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}
