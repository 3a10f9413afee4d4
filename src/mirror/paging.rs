//! Paging through CloudRoom lists without falling into their traps.
//!
//! The server answers a `current` past the last page with page 1 again (and
//! `remaining` may still say 1), so paging "until remaining is 0" can loop
//! for ever and write page 1 twice. [`Pager`] trusts `total` to know where
//! the end is, and recognises a repeated first page when the data shrinks
//! under it mid-pass.

/// Always ask for the largest page the API allows.
pub const PAGE_SIZE: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Keep this page; `more` says whether another request is needed.
    Keep { more: bool },
    /// The server handed back page 1 for a page past the end: discard it and stop.
    Wrapped,
}

#[derive(Debug, Clone)]
pub struct Pager {
    /// The page to ask for next.
    pub next: u32,
    first_page_key: Option<String>,
}

impl Pager {
    pub fn starting_at(page: u32) -> Self {
        Pager {
            next: page.max(1),
            first_page_key: None,
        }
    }

    /// Judges the answer to the request for page `self.next`, whose first
    /// record is identified by `first_key`, and moves on.
    pub fn judge(&mut self, total: u64, remaining: bool, first_key: Option<String>) -> Verdict {
        let page = self.next;
        let last_page = total.div_ceil(u64::from(PAGE_SIZE));
        if page > 1 {
            let repeats_first = first_key.is_some() && first_key == self.first_page_key;
            if u64::from(page) > last_page || repeats_first {
                return Verdict::Wrapped;
            }
        } else {
            self.first_page_key = first_key;
        }
        self.next = page + 1;
        // `remaining` alone is not trusted to say "more" (see the module doc),
        // and `total` alone is not trusted to say "done" if the server says more.
        let more = remaining && u64::from(page) < last_page;
        Verdict::Keep { more }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn stops_on_the_last_page_without_asking_past_it() {
        let mut p = Pager::starting_at(1);
        assert_eq!(p.judge(250, true, key("a")), Verdict::Keep { more: true });
        assert_eq!(p.judge(250, true, key("b")), Verdict::Keep { more: true });
        assert_eq!(p.judge(250, false, key("c")), Verdict::Keep { more: false });
    }

    #[test]
    fn a_remaining_flag_that_never_clears_cannot_loop() {
        let mut p = Pager::starting_at(1);
        assert_eq!(p.judge(150, true, key("a")), Verdict::Keep { more: true });
        assert_eq!(p.judge(150, true, key("b")), Verdict::Keep { more: false });
    }

    #[test]
    fn a_repeated_first_page_is_discarded() {
        let mut p = Pager::starting_at(1);
        assert_eq!(p.judge(300, true, key("a")), Verdict::Keep { more: true });
        // The data shrank to one page between requests: page 2 comes back as page 1.
        assert_eq!(p.judge(300, true, key("a")), Verdict::Wrapped);
    }

    #[test]
    fn a_resumed_pass_past_a_shrunken_end_is_discarded() {
        let mut p = Pager::starting_at(4);
        assert_eq!(p.judge(250, true, key("x")), Verdict::Wrapped);
    }

    #[test]
    fn an_empty_list_takes_one_request() {
        let mut p = Pager::starting_at(1);
        assert_eq!(p.judge(0, false, None), Verdict::Keep { more: false });
    }
}
