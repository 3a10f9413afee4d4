//! One file's answer: its validator, `Range` and `If-Range`, and the
//! faults that replace or break the body.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{seed_of, stream, FileFault};

/// Which validator a file's answer carries. Nothing in the CloudRoom
/// document describes the download server; real ones send `ETag`, some
/// only `Last-Modified`, and a few nothing (then a client cannot resume
/// safely and must start over).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum FileValidators {
    /// A strong `ETag` (and `If-Range` compared with it).
    #[default]
    Etag,
    /// `Last-Modified` only (and `If-Range` compared with it).
    LastModified,
    /// No validator: `If-Range` cannot match, so a resume is answered as
    /// if it were absent.
    None,
}

/// What the simulator knows of one served file.
pub(super) struct Served<'a> {
    pub file_id: &'a str,
    pub size: u64,
    /// The recording's createTime, from which `Last-Modified` is made.
    pub created: i64,
    pub fault: Option<FileFault>,
    pub validators: FileValidators,
}

impl Served<'_> {
    pub(super) fn respond(self, headers: &HeaderMap) -> Response {
        match &self.fault {
            Some(FileFault::Html) => {
                let page = "<!DOCTYPE html><html><body><h1>链接已过期</h1></body></html>";
                return ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page)
                    .into_response();
            }
            Some(FileFault::Status { status }) => {
                return StatusCode::from_u16(*status)
                    .unwrap_or(StatusCode::NOT_FOUND)
                    .into_response()
            }
            _ => {}
        }
        let changed = matches!(self.fault, Some(FileFault::Changed));
        let size = match self.fault {
            Some(FileFault::Short { bytes }) => bytes.min(self.size),
            _ => self.size,
        };
        let validator = self.validator(changed);
        // A range whose If-Range no longer matches is ignored (RFC 9110 13.1.5).
        let range = headers
            .get(header::RANGE)
            .filter(|_| if_range_matches(headers, validator.as_ref()));
        let (start, end) = match parse_range(range, size) {
            Ok(span) => span,
            Err(()) => {
                let unsatisfiable = [(header::CONTENT_RANGE, format!("bytes */{size}"))];
                return (StatusCode::RANGE_NOT_SATISFIABLE, unsatisfiable).into_response();
            }
        };
        // Cuts and stalls break whole-file bodies only; a resume goes through.
        let fault = self.fault.filter(|f| {
            range.is_none()
                || !matches!(
                    f,
                    FileFault::Cut { .. }
                        | FileFault::SplicedResume { .. }
                        | FileFault::Stall { .. }
                )
        });
        let seed = seed_of(self.file_id, changed);
        let body = Body::from_stream(stream(seed, start, end, fault));
        let status = match range {
            Some(_) => StatusCode::PARTIAL_CONTENT,
            None => StatusCode::OK,
        };
        let mut response = (status, body).into_response();
        let partial = range.is_some().then_some((start, end, size));
        set_headers(response.headers_mut(), end - start, validator, partial);
        response
    }

    /// The file's validator: it changes whenever its bytes or size do.
    fn validator(&self, changed: bool) -> Option<(header::HeaderName, HeaderValue)> {
        let seed = seed_of(self.file_id, changed);
        match self.validators {
            FileValidators::None => None,
            FileValidators::Etag => {
                let tag = format!("\"{seed:016x}-{:x}\"", self.size);
                HeaderValue::from_str(&tag).ok().map(|v| (header::ETAG, v))
            }
            FileValidators::LastModified => {
                let shift = ((seed ^ self.size) % 86_400) as i64;
                let at = chrono::DateTime::from_timestamp(self.created + shift, 0)?;
                let text = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
                HeaderValue::from_str(&text)
                    .ok()
                    .map(|v| (header::LAST_MODIFIED, v))
            }
        }
    }
}

/// A file answer's headers: its type, length, validator and, for a range
/// `(start, end, size)`, its `Content-Range`.
fn set_headers(
    h: &mut HeaderMap,
    length: u64,
    validator: Option<(header::HeaderName, HeaderValue)>,
    partial: Option<(u64, u64, u64)>,
) {
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, length.into());
    if let Some((name, value)) = validator {
        h.insert(name, value);
    }
    if let Some((start, end, size)) = partial {
        let span = format!("bytes {start}-{}/{size}", end.saturating_sub(1));
        if let Ok(value) = HeaderValue::from_str(&span) {
            h.insert(header::CONTENT_RANGE, value);
        }
    }
}

/// No `If-Range`, or one equal to the current validator.
fn if_range_matches(
    headers: &HeaderMap,
    validator: Option<&(header::HeaderName, HeaderValue)>,
) -> bool {
    match headers.get(header::IF_RANGE) {
        None => true,
        Some(sent) => validator.is_some_and(|(_, current)| current == sent),
    }
}

/// `bytes=a-` or `bytes=a-b` (inclusive) as the half-open `[a, b + 1)`.
fn parse_range(range: Option<&HeaderValue>, size: u64) -> Result<(u64, u64), ()> {
    let Some(range) = range else {
        return Ok((0, size));
    };
    let spec = range.to_str().map_err(|_| ())?.trim();
    let (from, to) = spec
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .ok_or(())?;
    let start: u64 = from.trim().parse().map_err(|_| ())?;
    let end = match to.trim() {
        "" => size,
        to => to
            .parse::<u64>()
            .map_err(|_| ())?
            .saturating_add(1)
            .min(size),
    };
    if start >= size || start >= end {
        return Err(());
    }
    Ok((start, end))
}
