//! One file from its download URL into the object store, streamed: the
//! sha256 is computed on the way, the size checked against the API's, the
//! content checked to be no HTML page, and the object becomes visible only
//! when complete (a multipart upload, aborted on any failure).
//!
//! A transfer cut midway resumes with `Range` only when the first answer
//! carried a validator (a strong `ETag`, else `Last-Modified`): the resume
//! sends it as `If-Range`, and its answer must be a 206 whose
//! `Content-Range` starts where the copy stopped and has the file's total.
//! Anything else (no validator, a 200, another start, another total or
//! another ETag) starts the copy over, so that two files are never spliced
//! into one object. No byte for `idle` fails the transfer, and a
//! cancellation stops it mid-stream.

use std::time::Duration;

use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStoreExt, WriteMultipart};
use reqwest::header::{
    HeaderMap, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE,
};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::throttle::Throttle;

/// Resumes of one copy before it fails.
const RESUMES: u32 = 3;
/// Times a copy starts over (after a resume that could not be trusted).
const RESTARTS: u32 = 2;
/// Parts uploaded at once per file (each up to 5 MiB in memory).
const PARTS_IN_FLIGHT: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("the download URL answered HTTP {0}")]
    Status(u16),
    #[error("the file is gone from CloudRoom (HTTP {0})")]
    Gone(u16),
    #[error("the download URL sent an HTML page (content type {0:?}), not the recording")]
    NotAVideo(String),
    #[error("the body ended after {received} of the {expected} bytes the API lists")]
    Short { received: u64, expected: u64 },
    #[error("the body is {received} bytes, more than the {expected} the API lists")]
    Long { received: u64, expected: u64 },
    #[error("refused a redirect to {0}: not an http(s) URL")]
    Redirect(String),
    #[error("the download URL {0} is not an http(s) URL")]
    NotHttp(String),
    #[error("the recording is empty (0 bytes); an empty file is never archived")]
    Empty,
    #[error(
        "a resumed download could not be proven to continue the same file ({0}); started over"
    )]
    Restart(String),
    #[error("no byte arrived for {0} s (archive.idle_timeout_seconds)")]
    Idle(u64),
    #[error("cannot download the file")]
    Download(#[source] reqwest::Error),
    #[error("cannot write the object")]
    Store(#[source] object_store::Error),
    #[error("stopped by a shutdown")]
    Cancelled,
}

/// What was copied.
#[derive(Debug, Clone)]
pub struct Copied {
    pub bytes: u64,
    pub sha256: String,
    pub content_type: Option<String>,
}

pub struct Transfer<'a> {
    pub http: &'a reqwest::Client,
    pub store: &'a dyn object_store::ObjectStore,
    pub throttle: &'a Throttle,
    pub cancel: &'a CancellationToken,
    /// No byte for this long fails the transfer.
    pub idle: Duration,
}

/// A copy under way: what has been hashed and the first answer's validator.
struct Progress {
    hasher: Sha256,
    received: u64,
    content_type: Option<String>,
    validator: Option<String>,
}

impl Transfer<'_> {
    /// Copies `url` to `key`; nothing is left at `key` unless it all went
    /// well. `expected` is the API's size, which the copy must match (a
    /// recording listed without one is copied, but never deleted).
    pub async fn copy(
        &self,
        url: &str,
        key: &Path,
        expected: Option<u64>,
    ) -> Result<Copied, TransferError> {
        if expected == Some(0) {
            return Err(TransferError::Empty);
        }
        match url::Url::parse(url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
            _ => return Err(TransferError::NotHttp(crate::transport::shown_url(url))),
        }
        let mut restarts = 0;
        loop {
            match self.copy_once(url, key, expected).await {
                Err(TransferError::Restart(why)) if restarts < RESTARTS => {
                    restarts += 1;
                    tracing::info!(reason = %why, "starting a download over");
                }
                result => return result,
            }
        }
    }

    async fn copy_once(
        &self,
        url: &str,
        key: &Path,
        expected: Option<u64>,
    ) -> Result<Copied, TransferError> {
        let upload = self
            .store
            .put_multipart(key)
            .await
            .map_err(TransferError::Store)?;
        let mut upload = WriteMultipart::new(upload);
        match self.stream_into(url, expected, &mut upload).await {
            Ok(copied) => {
                upload.finish().await.map_err(TransferError::Store)?;
                Ok(copied)
            }
            Err(e) => {
                if let Err(abort) = upload.abort().await {
                    tracing::warn!(error = %crate::causes::Chain(&abort), "cannot abort a failed upload");
                }
                Err(e)
            }
        }
    }

    async fn stream_into(
        &self,
        url: &str,
        expected: Option<u64>,
        upload: &mut WriteMultipart,
    ) -> Result<Copied, TransferError> {
        let first = self.send(self.http.get(url)).await?;
        check_status(&first, false)?;
        let mut progress = Progress {
            hasher: Sha256::new(),
            received: 0,
            content_type: check_type(first.headers())?,
            validator: validator(first.headers()),
        };
        let mut response = first;
        let mut resumes = 0;
        loop {
            match self.body(response, &mut progress, upload).await {
                Ok(()) => break,
                Err(TransferError::Download(e)) if resumes < RESUMES && progress.received > 0 => {
                    resumes += 1;
                    tracing::debug!(error = %crate::causes::Chain(&e), received = progress.received, "resuming a download");
                    response = self.resume(url, &progress, expected).await?;
                }
                Err(e) => return Err(e),
            }
        }
        check_size(progress.received, expected)?;
        Ok(Copied {
            bytes: progress.received,
            sha256: hex::encode(progress.hasher.finalize()),
            content_type: progress.content_type,
        })
    }

    /// The rest of the file from `progress.received` on, proven to be the
    /// same file, or [`TransferError::Restart`].
    async fn resume(
        &self,
        url: &str,
        progress: &Progress,
        expected: Option<u64>,
    ) -> Result<reqwest::Response, TransferError> {
        let Some(validator) = &progress.validator else {
            return Err(TransferError::Restart(
                "the server sent no ETag or Last-Modified".into(),
            ));
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        let request = self
            .http
            .get(url)
            .header(RANGE, format!("bytes={}-", progress.received))
            .header(IF_RANGE, validator.as_str());
        let response = self.send(request).await?;
        check_status(&response, true)?;
        if response.status() != StatusCode::PARTIAL_CONTENT {
            return Err(TransferError::Restart(format!(
                "the resume was answered {} instead of 206",
                response.status().as_u16()
            )));
        }
        let tag = response.headers().get(ETAG).and_then(|v| v.to_str().ok());
        if validator.starts_with('"') && tag.is_some_and(|t| t != validator) {
            return Err(TransferError::Restart("the ETag changed".into()));
        }
        match content_range(response.headers()) {
            Some((start, total))
                if start == progress.received && (expected.is_none() || total == expected) =>
            {
                Ok(response)
            }
            other => Err(TransferError::Restart(format!(
                "Content-Range {other:?} does not continue byte {} of {expected:?}",
                progress.received
            ))),
        }
    }

    /// Sends `request`, giving up at a cancellation or after `idle`.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, TransferError> {
        tokio::select! {
            _ = self.cancel.cancelled() => Err(TransferError::Cancelled),
            sent = tokio::time::timeout(self.idle, request.send()) => match sent {
                Ok(Err(e)) if e.is_timeout() => Err(TransferError::Idle(self.idle.as_secs())),
                Ok(response) => response.map_err(|e| TransferError::Download(e.without_url())),
                Err(_) => Err(TransferError::Idle(self.idle.as_secs())),
            },
        }
    }

    async fn body(
        &self,
        response: reqwest::Response,
        progress: &mut Progress,
        upload: &mut WriteMultipart,
    ) -> Result<(), TransferError> {
        let mut chunks = response.bytes_stream();
        loop {
            let next = tokio::select! {
                _ = self.cancel.cancelled() => return Err(TransferError::Cancelled),
                next = tokio::time::timeout(self.idle, chunks.next()) => next,
            };
            let chunk = match next {
                Err(_) => return Err(TransferError::Idle(self.idle.as_secs())),
                Ok(None) => return Ok(()),
                Ok(Some(Err(e))) if e.is_timeout() => {
                    return Err(TransferError::Idle(self.idle.as_secs()))
                }
                Ok(Some(chunk)) => chunk.map_err(|e| TransferError::Download(e.without_url()))?,
            };
            if progress.received == 0 && looks_like_html(&chunk) {
                return Err(TransferError::NotAVideo("HTML in the body".into()));
            }
            let len = chunk.len() as u64;
            progress.hasher.update(&chunk);
            progress.received += len;
            upload
                .wait_for_capacity(PARTS_IN_FLIGHT)
                .await
                .map_err(TransferError::Store)?;
            upload.put(chunk);
            self.throttle.take(len).await;
        }
    }
}

fn check_status(response: &reqwest::Response, resuming: bool) -> Result<(), TransferError> {
    let status = response.status();
    match status {
        StatusCode::OK => Ok(()),
        // A redirect reqwest did not follow: to a scheme it cannot fetch.
        _ if status.is_redirection() => {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map_or_else(|| "(no Location)".into(), crate::transport::shown_url);
            Err(TransferError::Redirect(location))
        }
        StatusCode::PARTIAL_CONTENT if resuming => Ok(()),
        StatusCode::NOT_FOUND | StatusCode::GONE => Err(TransferError::Gone(status.as_u16())),
        status => Err(TransferError::Status(status.as_u16())),
    }
}

/// A strong ETag, else Last-Modified: what `If-Range` can carry. A weak
/// ETag (`W/"…"`) cannot prove byte equality, so it is not used.
fn validator(headers: &HeaderMap) -> Option<String> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    match text(ETAG) {
        Some(tag) if tag.starts_with('"') => Some(tag.to_string()),
        _ => text(LAST_MODIFIED).map(str::to_string),
    }
}

/// `Content-Range: bytes a-b/total` as (a, total); total `*` is `None`.
fn content_range(headers: &HeaderMap) -> Option<(u64, Option<u64>)> {
    let value = headers.get(CONTENT_RANGE)?.to_str().ok()?;
    let (span, total) = value.trim().strip_prefix("bytes ")?.split_once('/')?;
    let start = span.split_once('-')?.0.trim().parse().ok()?;
    Some((start, total.trim().parse().ok()))
}

/// An HTML content type is refused before a byte is stored.
fn check_type(headers: &HeaderMap) -> Result<Option<String>, TransferError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match &content_type {
        Some(t) if t.to_ascii_lowercase().starts_with("text/html") => {
            Err(TransferError::NotAVideo(t.clone()))
        }
        _ => Ok(content_type),
    }
}

/// A body that starts like an HTML page, whatever its content type says.
fn looks_like_html(first: &[u8]) -> bool {
    let text: Vec<u8> = first
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take(15)
        .map(u8::to_ascii_lowercase)
        .collect();
    text.starts_with(b"<!doctype html") || text.starts_with(b"<html") || text.starts_with(b"<?xml")
}

fn check_size(received: u64, expected: Option<u64>) -> Result<(), TransferError> {
    let Some(expected) = expected else {
        return match received {
            0 => Err(TransferError::Empty),
            _ => Ok(()),
        };
    };
    match received.cmp(&expected) {
        std::cmp::Ordering::Less => Err(TransferError::Short { received, expected }),
        std::cmp::Ordering::Greater => Err(TransferError::Long { received, expected }),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_reads_start_and_total() {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_RANGE, "bytes 100-199/200".parse().unwrap());
        assert_eq!(content_range(&h), Some((100, Some(200))));
        h.insert(CONTENT_RANGE, "bytes 100-199/*".parse().unwrap());
        assert_eq!(content_range(&h), Some((100, None)));
        h.insert(CONTENT_RANGE, "garbage".parse().unwrap());
        assert_eq!(content_range(&h), None);
    }

    #[test]
    fn a_weak_etag_is_no_validator_but_last_modified_is() {
        let mut h = HeaderMap::new();
        h.insert(ETAG, "W/\"abc\"".parse().unwrap());
        assert_eq!(validator(&h), None);
        h.insert(
            LAST_MODIFIED,
            "Tue, 01 Dec 2026 10:00:00 GMT".parse().unwrap(),
        );
        assert_eq!(
            validator(&h).as_deref(),
            Some("Tue, 01 Dec 2026 10:00:00 GMT")
        );
        h.insert(ETAG, "\"abc\"".parse().unwrap());
        assert_eq!(validator(&h).as_deref(), Some("\"abc\""));
    }
}
