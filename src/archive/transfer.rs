//! One file from its download URL into the object store, streamed: the
//! sha256 is computed on the way, the size checked against the API's, the
//! content checked to be no HTML page, and the object becomes visible only
//! when complete (a multipart upload, aborted on any failure). A transfer
//! cut midway resumes with `Range` where the server answers 206.

use std::time::Duration;

use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStoreExt, WriteMultipart};
use reqwest::header::{CONTENT_TYPE, RANGE};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use super::throttle::Throttle;

/// Resumes of one transfer before it fails.
const RESUMES: u32 = 3;
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
    #[error("the server ignored Range after a cut; the next attempt starts over")]
    NoResume,
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
    pub cancel: &'a tokio_util::sync::CancellationToken,
}

impl Transfer<'_> {
    /// Copies `url` to `key`; nothing is left at `key` unless it all went well.
    pub async fn copy(
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
        let mut hasher = Sha256::new();
        let mut received = 0u64;
        let mut content_type = None;
        let mut resumes = 0;
        loop {
            let response = match self.request(url, received).await {
                Ok(response) => response,
                Err(e) if received > 0 && resumes < RESUMES => {
                    resumes += 1;
                    tracing::debug!(error = %crate::causes::Chain(&e), received, "resuming a download");
                    continue;
                }
                Err(e) => return Err(e),
            };
            if received == 0 {
                content_type = check_type(&response)?;
            }
            match self
                .body(response, &mut hasher, &mut received, upload)
                .await
            {
                Ok(()) => break,
                Err(TransferError::Download(_)) if resumes < RESUMES && received > 0 => {
                    resumes += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e),
            }
        }
        check_size(received, expected)?;
        Ok(Copied {
            bytes: received,
            sha256: hex::encode(hasher.finalize()),
            content_type,
        })
    }

    /// GET, from byte `from` on when resuming.
    async fn request(&self, url: &str, from: u64) -> Result<reqwest::Response, TransferError> {
        let mut request = self.http.get(url);
        if from > 0 {
            request = request.header(RANGE, format!("bytes={from}-"));
        }
        let response = request.send().await.map_err(TransferError::Download)?;
        match response.status() {
            StatusCode::OK if from == 0 => Ok(response),
            StatusCode::PARTIAL_CONTENT if from > 0 => Ok(response),
            StatusCode::OK => Err(TransferError::NoResume),
            StatusCode::NOT_FOUND | StatusCode::GONE => {
                Err(TransferError::Gone(response.status().as_u16()))
            }
            status => Err(TransferError::Status(status.as_u16())),
        }
    }

    async fn body(
        &self,
        response: reqwest::Response,
        hasher: &mut Sha256,
        received: &mut u64,
        upload: &mut WriteMultipart,
    ) -> Result<(), TransferError> {
        let mut chunks = response.bytes_stream();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(TransferError::Download)?;
            if *received == 0 && looks_like_html(&chunk) {
                return Err(TransferError::NotAVideo("HTML in the body".into()));
            }
            if self.cancel.is_cancelled() {
                return Err(TransferError::Cancelled);
            }
            let len = chunk.len() as u64;
            hasher.update(&chunk);
            *received += len;
            upload
                .wait_for_capacity(PARTS_IN_FLIGHT)
                .await
                .map_err(TransferError::Store)?;
            upload.put(chunk);
            self.throttle.take(len).await;
        }
        Ok(())
    }
}

/// An HTML content type is refused before a byte is stored.
fn check_type(response: &reqwest::Response) -> Result<Option<String>, TransferError> {
    let content_type = response
        .headers()
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
    match expected {
        Some(expected) if received < expected => Err(TransferError::Short { received, expected }),
        Some(expected) if received > expected => Err(TransferError::Long { received, expected }),
        None if received == 0 => Err(TransferError::Short {
            received,
            expected: 1,
        }),
        _ => Ok(()),
    }
}
