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

/// A redirect confsync would not follow: the request carried a signature,
/// credentials or a password, which must never reach another origin, or a
/// download would leave http(s) or drop from https to http.
#[derive(Debug, thiserror::Error)]
#[error("refused a redirect to {location}: {reason}")]
pub struct RedirectRefused {
    /// The `Location`, without its query string.
    pub location: String,
    pub reason: &'static str,
}

/// Hops of one redirect chain at most.
const MAX_REDIRECTS: usize = 10;

/// For signed vendor calls: a redirect is followed only to the same origin
/// (scheme, host and port). reqwest strips only `Authorization` and
/// `Cookie` on its own, and CloudRoom's `X-CR-*` signature is valid on any
/// endpoint for minutes, so a cross-origin hop is an error naming where it
/// pointed.
pub fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        let refusal = match (same, attempt.previous().len() > MAX_REDIRECTS) {
            (false, _) => Some("another origin; a signed request is never sent there"),
            (true, true) => Some("too many redirects"),
            (true, false) => None,
        };
        match refusal {
            Some(reason) => {
                let location = without_query(attempt.url());
                attempt.error(RedirectRefused { location, reason })
            }
            None => attempt.follow(),
        }
    })
}

/// For download URLs (CDNs redirect across origins, and nothing secret is
/// sent): http(s) only, and never from https down to http.
pub fn download_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let from_https = attempt
            .previous()
            .last()
            .is_some_and(|previous| previous.scheme() == "https");
        let reason = match attempt.url().scheme() {
            _ if attempt.previous().len() > MAX_REDIRECTS => Some("too many redirects"),
            "https" => None,
            "http" if from_https => Some("a downgrade from https to http"),
            "http" => None,
            _ => Some("not an http(s) URL"),
        };
        match reason {
            Some(reason) => {
                let location = without_query(attempt.url());
                attempt.error(RedirectRefused { location, reason })
            }
            None => attempt.follow(),
        }
    })
}

/// The redirect refusal somewhere in `error`'s causes.
pub fn redirect_refusal(error: &reqwest::Error) -> Option<&RedirectRefused> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(e) = cause {
        if let Some(refused) = e.downcast_ref::<RedirectRefused>() {
            return Some(refused);
        }
        cause = e.source();
    }
    None
}

/// A URL as it may be logged or stored: without its query string (a
/// signed download URL's signature, a join URL's password) or fragment,
/// and without user info.
pub fn without_query(url: &url::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// [`without_query`] of a URL given as text; text that is no URL is not
/// shown at all (it could be anything). Unlike `secret::redact_url`, which
/// keeps the settings' query but hides its secrets, a vendor URL's whole
/// query goes: its signature parameters have no telling names.
pub fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => without_query(&parsed),
        Err(_) => "(not a URL)".into(),
    }
}

/// A download URL as the archive compares and stores it: the text before
/// its query string, exactly as `split_part(url, '?', 1)` gives it in SQL
/// (no normalisation, so both sides agree byte for byte).
pub fn before_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(path, _)| path)
}

/// A response body larger than the bound of its kind.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the answer is larger than {limit} bytes, the most confsync reads of one answer")]
    TooLarge { limit: usize },
    #[error("the answer broke off")]
    Read(#[source] reqwest::Error),
}

/// The most of one vendor API answer confsync reads: a page of 100
/// records is a few hundred KiB, so this leaves room for any honest one.
pub const API_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The body, read chunk by chunk and refused past `limit` bytes (a
/// `Content-Length` over it is refused before a byte is read).
pub async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| BodyError::Read(e.without_url()))?
    {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_url_has_no_query_user_or_fragment() {
        let url =
            url::Url::parse("https://u:p@cdn.example.com/a/b.mp4?sig=SECRET&exp=1#x").unwrap();
        assert_eq!(without_query(&url), "https://cdn.example.com/a/b.mp4");
        assert_eq!(shown_url("not a url ?sig=SECRET"), "(not a URL)");
    }
}
