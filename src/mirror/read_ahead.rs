//! The pages of one history window, read ahead of the writer.
//!
//! Page 1 says how many pages the window has (`total`), so the rest can be
//! requested before the writer needs them: up to [`READ_AHEAD`] at once,
//! each in a task of its own so that it progresses while a page is
//! written, and handed over in page order. The endpoint's budget still
//! paces them, and the checkpoint still names only committed pages.

use std::collections::VecDeque;

use anyhow::Context as _;
use tokio::task::JoinHandle;

use super::history::show;
use super::paging::PAGE_SIZE;
use super::MirrorContext;
use crate::cloudroom::{ConferenceRecord, ListQuery, Page};

/// Pages of a window requested at once.
pub const READ_AHEAD: usize = 8;

type Fetch = JoinHandle<anyhow::Result<Page<ConferenceRecord>>>;

pub struct ReadAhead {
    ctx: MirrorContext,
    window: (i64, i64),
    pending: VecDeque<Fetch>,
    next_to_request: u32,
    last_page: u32,
}

impl ReadAhead {
    /// Pages `from..` of `window`, up to the last page `total` implies.
    pub fn new(ctx: &MirrorContext, window: (i64, i64), from: u32, total: u64) -> Self {
        let last_page = u32::try_from(total.div_ceil(u64::from(PAGE_SIZE))).unwrap_or(u32::MAX);
        let mut ahead = ReadAhead {
            ctx: ctx.clone(),
            window,
            pending: VecDeque::new(),
            next_to_request: from,
            last_page,
        };
        ahead.request_more();
        ahead
    }

    /// Page `page_no`: the one read ahead when it is next in line, else a
    /// fresh request (the window grew past what page 1 announced).
    pub async fn page(&mut self, page_no: u32) -> anyhow::Result<Page<ConferenceRecord>> {
        let first_pending = self.next_to_request - self.pending.len() as u32;
        match self.pending.pop_front() {
            Some(fetch) if first_pending == page_no => {
                self.request_more();
                fetch.await.context("a history read stopped")?
            }
            _ => {
                self.abort_all();
                self.next_to_request = page_no + 1;
                fetch_page(&self.ctx, self.window, page_no).await
            }
        }
    }

    fn request_more(&mut self) {
        while self.pending.len() < READ_AHEAD && self.next_to_request <= self.last_page {
            let (ctx, window, page_no) = (self.ctx.clone(), self.window, self.next_to_request);
            self.pending.push_back(tokio::spawn(async move {
                fetch_page(&ctx, window, page_no).await
            }));
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
    /// Reads nobody will take (the pass stopped, or the window ended
    /// earlier than announced) are cancelled.
    fn drop(&mut self) {
        self.abort_all();
    }
}

pub async fn fetch_page(
    ctx: &MirrorContext,
    (start, end): (i64, i64),
    page_no: u32,
) -> anyhow::Result<Page<ConferenceRecord>> {
    let query = ListQuery {
        start_time: Some(start),
        end_time: Some(end),
        ..ListQuery::page(page_no, PAGE_SIZE)
    };
    ctx.client.list_history(&query).await.with_context(|| {
        format!(
            "reading page {page_no} of the meeting history from {} to {}",
            show(start),
            show(end)
        )
    })
}
