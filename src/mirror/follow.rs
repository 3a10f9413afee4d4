//! A recordings pass that runs alongside the history pass (`sync mirror`,
//! the reconcile): it reads the recordings of each conference a history page
//! queues as soon as the page is committed, instead of waiting for the whole
//! history, so that the history's writes overlap the recordings' reads.
//!
//! The queue (`confsync.recording_queue`) stays the only truth: the history
//! pass hands each committed page's queued conferences over in memory as a
//! hint, and once it has ended, the recordings pass reads the queue once more
//! and takes what the hints missed (another process's history, a lost hint).

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::store;

/// How a pass takes part in a history pass and a recordings pass that run
/// together.
#[derive(Debug, Clone, Default)]
pub enum Alongside {
    /// The pass runs on its own.
    #[default]
    Alone,
    /// A history pass: hands what each committed page queued over.
    Queues(QueueHints),
    /// A recordings pass: follows what the history pass queues until it ends.
    Follows(Following),
}

/// The history pass's end of the hand-over.
#[derive(Debug, Clone)]
pub struct QueueHints(mpsc::UnboundedSender<Vec<i64>>);

impl QueueHints {
    /// Conferences a committed page queued.
    pub fn queued(&self, conf_ids: &[i64]) {
        if !conf_ids.is_empty() {
            // A recordings pass that has stopped reads the queue next time.
            let _ = self.0.send(conf_ids.to_vec());
        }
    }
}

/// The recordings pass's end of the hand-over.
#[derive(Debug, Clone)]
pub struct Following {
    hints: Arc<Mutex<Option<mpsc::UnboundedReceiver<Vec<i64>>>>>,
    history_ended: CancellationToken,
}

impl Following {
    /// Tells the recordings pass that the history pass has ended, however
    /// it ended; its runner calls this.
    pub fn history_ended(&self) {
        self.history_ended.cancel();
    }
}

/// The two ends of one hand-over.
pub fn hand_over() -> (QueueHints, Following) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let following = Following {
        hints: Arc::new(Mutex::new(Some(receiver))),
        history_ended: CancellationToken::new(),
    };
    (QueueHints(sender), following)
}

/// The conferences a recordings pass reads, each once: those it found
/// when it started and, when it follows a history pass, those queued since.
pub struct Targets {
    ready: std::collections::VecDeque<i64>,
    taken: HashSet<i64>,
    /// Conferences queued again after this pass took them: a later page
    /// listed another meeting of theirs, which ended before it was listed,
    /// so the listing this pass read already holds its recordings (one that
    /// appears late is re-read within `recordings_lookback`).
    again: HashSet<i64>,
    follow: Option<Follow>,
}

/// The hand-over from the history pass, while this pass follows it.
struct Follow {
    hints: mpsc::UnboundedReceiver<Vec<i64>>,
    ended: CancellationToken,
    /// `ended` was seen: only the last read of the queue is left.
    history_ended: bool,
}

impl Targets {
    pub fn new(initial: BTreeSet<i64>, alongside: &Alongside) -> Self {
        let follow = match alongside {
            Alongside::Follows(f) => {
                let hints = f.hints.lock().ok().and_then(|mut h| h.take());
                hints.map(|hints| Follow {
                    hints,
                    ended: f.history_ended.clone(),
                    history_ended: false,
                })
            }
            _ => None,
        };
        Targets {
            taken: initial.iter().copied().collect(),
            ready: initial.into_iter().collect(),
            again: HashSet::new(),
            follow,
        }
    }

    /// How many conferences have been handed out or are ready.
    pub fn count(&self) -> usize {
        self.taken.len()
    }

    /// The next conference to read, if one is at hand now.
    pub fn next_ready(&mut self) -> Option<i64> {
        if self.ready.is_empty() {
            self.take_hints();
        }
        self.ready.pop_front()
    }

    /// Whether more conferences may still come.
    pub fn following(&self) -> bool {
        self.follow.is_some()
    }

    /// Whether the history pass may still hand conferences over.
    pub fn history_running(&self) -> bool {
        self.follow.as_ref().is_some_and(|f| !f.history_ended)
    }

    /// Waits for the next conferences the history pass hands over, or for
    /// its end. Cancel-safe: reads run meanwhile.
    pub async fn hint(&mut self) {
        let Some(follow) = self.follow.as_mut().filter(|f| !f.history_ended) else {
            return;
        };
        let batch = tokio::select! {
            Some(batch) = follow.hints.recv() => batch,
            _ = follow.ended.cancelled() => {
                follow.history_ended = true;
                return;
            }
        };
        self.add(batch);
    }

    /// With no read in flight: waits for more conferences; once the history
    /// pass has ended, reads the queue a last time and stops following.
    pub async fn wait(&mut self, pool: &sqlx::PgPool, tenant: &str) -> anyhow::Result<()> {
        if self.history_running() {
            self.hint().await;
            return Ok(());
        }
        self.take_hints();
        if self.follow.take().is_none() {
            return Ok(());
        }
        let mut conn = pool.acquire().await?;
        let queued = store::recordings::queued(&mut conn, tenant).await?;
        self.add(queued);
        Ok(())
    }

    /// The conferences queued again after this pass took them, for the
    /// pass to take off the queue once it has written them.
    pub fn again(&self) -> impl Iterator<Item = i64> + '_ {
        self.again.iter().copied()
    }

    /// Every hint already handed over.
    fn take_hints(&mut self) {
        while let Some(batch) = self.follow.as_mut().and_then(|f| f.hints.try_recv().ok()) {
            self.add(batch);
        }
    }

    fn add(&mut self, conf_ids: Vec<i64>) {
        for conf_id in conf_ids {
            if self.taken.insert(conf_id) {
                self.ready.push_back(conf_id);
            } else {
                self.again.insert(conf_id);
            }
        }
    }
}
