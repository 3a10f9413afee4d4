//! The pages of one list walk (a history window, or the conference list),
//! read ahead of the writer.
//!
//! Page 1 says how many pages the walk has (`total`), so the rest can be
//! requested before the writer needs them: up to [`READ_AHEAD`] at once,
//! each in a task of its own so that it progresses while a page is
//! written, and handed over in page order. The endpoint's budget still
//! paces them, and the checkpoint still names only committed pages.

use std::collections::VecDeque;
use std::sync::Arc;

use anyhow::Context as _;
use futures::future::BoxFuture;
use tokio::task::JoinHandle;

use super::paging::PAGE_SIZE;
use crate::cloudroom::{ConferenceRecord, Page};

/// Reads one page of the walk by its number.
pub type FetchPage =
    Arc<dyn Fn(u32) -> BoxFuture<'static, anyhow::Result<Page<ConferenceRecord>>> + Send + Sync>;

/// Pages of a window requested at once.
pub const READ_AHEAD: usize = 8;

type Fetch = JoinHandle<anyhow::Result<Page<ConferenceRecord>>>;

pub struct ReadAhead {
    fetch: FetchPage,
    pending: VecDeque<Fetch>,
    next_to_request: u32,
    last_page: u32,
}

impl ReadAhead {
    /// Pages `from..`, up to the last page `total` implies.
    pub fn new(fetch: FetchPage, from: u32, total: u64) -> Self {
        let last_page = u32::try_from(total.div_ceil(u64::from(PAGE_SIZE))).unwrap_or(u32::MAX);
        let mut ahead = ReadAhead {
            fetch,
            pending: VecDeque::new(),
            next_to_request: from,
            last_page,
        };
        ahead.request_more();
        ahead
    }

    /// Page `page_no`: the one read ahead when it is next in line, else a
    /// fresh request (the list grew past what page 1 announced).
    pub async fn page(&mut self, page_no: u32) -> anyhow::Result<Page<ConferenceRecord>> {
        let first_pending = self.first_pending();
        match self.pending.pop_front() {
            Some(fetch) if first_pending == page_no => {
                self.request_more();
                fetch.await.context("a page read stopped")?
            }
            _ => {
                self.abort_all();
                self.next_to_request = page_no + 1;
                (self.fetch)(page_no).await
            }
        }
    }

    /// Whether page `page_no` is next in line and already read.
    pub fn is_ready(&self, page_no: u32) -> bool {
        self.first_pending() == page_no && self.pending.front().is_some_and(|f| f.is_finished())
    }

    /// The page the oldest pending request reads.
    fn first_pending(&self) -> u32 {
        self.next_to_request - self.pending.len() as u32
    }

    fn request_more(&mut self) {
        while self.pending.len() < READ_AHEAD && self.next_to_request <= self.last_page {
            self.pending
                .push_back(tokio::spawn((self.fetch)(self.next_to_request)));
            self.next_to_request += 1;
        }
    }

    fn abort_all(&mut self) {
        for fetch in self.pending.drain(..) {
            fetch.abort();
        }
    }
}

impl Drop for ReadAhead {
    /// Reads nobody will take (the pass stopped, or the list ended
    /// earlier than announced) are cancelled.
    fn drop(&mut self) {
        self.abort_all();
    }
}
