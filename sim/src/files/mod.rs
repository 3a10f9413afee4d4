//! The recordings' files, for the archive (`--serve-files`): each
//! recording's `url` points here, and the bytes are deterministic (the same
//! file id always gives the same bytes), start like an MP4 file and are
//! exactly the listed `size` long. Streamed, never held in memory, so a
//! full-size file of several GiB costs nothing. `Range: bytes=a-` and
//! `a-b` are answered 206, and `If-Range` is honoured against the file's
//! validator (`--file-validators`); a deleted recording's file answers 410.
//! The failures an archive must survive are set per file through
//! `POST /__admin/faults` (`files`).

mod answer;

pub use answer::FileValidators;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::data::FileId;
use crate::{lock, SimState};

/// What a file answers instead of its bytes (`files` in the faults; the
/// key is a file id, or `*` for every file).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FileFault {
    /// The connection drops after this many bytes of a whole-file body;
    /// a `Range` request (the client resuming) is answered in full.
    Cut { after_bytes: u64 },
    /// An HTML error page with status 200, as a CDN may send for an expired link.
    Html,
    /// Only the first bytes, with a Content-Length that says so: a body
    /// that ends cleanly but short of the listed size.
    Short { bytes: u64 },
    /// This status (404, 410, ...) with an empty body.
    Status { status: u16 },
    /// At most this many bytes per second.
    Slow { bytes_per_second: u64 },
    /// Bytes up to this offset of the file, then nothing, with the
    /// connection held open: a stalled transfer (a resume past the offset
    /// stalls at once).
    Stall { after_bytes: u64 },
    /// The whole-file body is cut after this many bytes, and the file then
    /// changes (the same size, other bytes, a new validator): a resume is
    /// answered 206 with a matching `Content-Range` but the new bytes,
    /// unless its `If-Range` no longer matches (then 200, the new file).
    SplicedResume { after_bytes: u64 },
    /// Set by `spliced_resume` after its cut: the file's other bytes.
    Changed,
}

/// Bytes per chunk of the streamed body.
const CHUNK: u64 = 64 * 1024;

/// The first bytes of every file: an MP4 `ftyp` box.
const MP4_HEADER: &[u8] = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom\x00\x00\x00\x08free";

/// How recordings are listed when files are served: the address of the
/// file and its size.
pub fn file_url(base: &str, file_id: &FileId) -> String {
    format!("{base}/files/{file_id}/f0.mp4?download")
}

/// The listed size of a served file: the generated size, or a 1024th of it
/// (at least 1 KiB) unless full-size files were asked for.
pub fn served_size(size: u64, full_size: bool) -> u64 {
    match full_size {
        true => size,
        false => (size / 1024).max(1024),
    }
}

/// Lists `recording` as a served file: its `url` here, its `size` as served.
pub fn point_at_file(recording: &mut crate::data::Recording, base: &str, full_size: bool) {
    recording.url = Some(file_url(base, &recording.file_id).into());
    recording.size = served_size(recording.size, full_size);
}

/// `GET /files/{file_id}/{name}`.
pub(crate) async fn serve_file(
    State(state): State<Arc<SimState>>,
    Path((file_id, _name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let id = FileId::parse(&file_id);
    let listed = {
        let world = lock(&state.cloudroom);
        match world.find_recording(&id) {
            Some(recording) => Ok((recording.size, recording.create_time)),
            None if world.gone_files.contains(&id) => Err(StatusCode::GONE),
            None => Err(StatusCode::NOT_FOUND),
        }
    };
    let fault = state.file_fault(&file_id);
    if matches!(fault, Some(FileFault::SplicedResume { .. }))
        && !headers.contains_key(header::RANGE)
    {
        // This body is cut; the file is another one by the time the client resumes.
        state
            .faults()
            .files
            .insert(file_id.clone(), FileFault::Changed);
    }
    let answer = match listed {
        Ok((size, created)) => answer::Served {
            file_id: &file_id,
            size,
            created,
            fault,
            validators: state.config.file_validators,
        }
        .respond(&headers),
        Err(status) => status.into_response(),
    };
    state.count("files", "file.get", answer.status().as_u16(), "");
    answer
}

type Chunk = Result<Bytes, std::io::Error>;

/// The bytes `[start, end)` of the file, chunk by chunk, with its fault.
fn stream(
    seed: u64,
    start: u64,
    end: u64,
    fault: Option<FileFault>,
) -> impl futures::Stream<Item = Chunk> {
    futures::stream::unfold(start, move |at| {
        let fault = fault.clone();
        async move {
            if at >= end {
                return None;
            }
            let mut len = CHUNK.min(end - at);
            match fault {
                Some(FileFault::Stall { after_bytes }) if at >= after_bytes => {
                    // The connection stays open and silent until the client leaves.
                    futures::future::pending::<()>().await;
                }
                Some(FileFault::Stall { after_bytes }) => len = len.min(after_bytes - at),
                Some(FileFault::Cut { after_bytes } | FileFault::SplicedResume { after_bytes })
                    if at >= after_bytes =>
                {
                    // Lets the status line and the first bytes go out first,
                    // as when a transfer breaks midway.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let cut = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "cut");
                    return Some((Err(cut), end));
                }
                Some(FileFault::Cut { after_bytes } | FileFault::SplicedResume { after_bytes }) => {
                    len = len.min(after_bytes - at)
                }
                Some(FileFault::Slow { bytes_per_second }) if bytes_per_second > 0 => {
                    let secs = len as f64 / bytes_per_second as f64;
                    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
                }
                _ => {}
            }
            Some((Ok(Bytes::from(bytes(seed, at, len))), at + len))
        }
    })
}

/// The seed of a file that changed (`changed`): other bytes, the same size.
fn seed_of(file_id: &str, changed: bool) -> u64 {
    match changed {
        true => seed(file_id) ^ 0x5eed_c4a6_6ed0_0001,
        false => seed(file_id),
    }
}

/// A file's seed: FNV-1a of its id.
fn seed(file_id: &str) -> u64 {
    file_id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The file's bytes `[at, at + len)`: the MP4 header, then splitmix64 of
/// the seed and each 8-byte block's index.
pub fn bytes(seed: u64, at: u64, len: u64) -> Vec<u8> {
    let end = at + len;
    let mut out = Vec::with_capacity(len as usize);
    let mut i = at;
    while i < end {
        if let Some(b) = MP4_HEADER.get(i as usize) {
            out.push(*b);
            i += 1;
            continue;
        }
        let block = splitmix(seed ^ (i / 8)).to_le_bytes();
        let from = (i % 8) as usize;
        let take = (8 - from).min((end - i) as usize);
        out.extend_from_slice(&block[from..from + take]);
        i += take as u64;
    }
    out
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The sha256 of a whole file, as an archive of it must have it (lowercase hex).
pub fn sha256_hex(file_id: &str, size: u64) -> String {
    sha256_of(file_id, size, false)
}

/// The sha256 of a whole file after a `spliced_resume` fault changed it.
pub fn changed_sha256_hex(file_id: &str, size: u64) -> String {
    sha256_of(file_id, size, true)
}

fn sha256_of(file_id: &str, size: u64, changed: bool) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let seed = seed_of(file_id, changed);
    let mut at = 0;
    while at < size {
        let len = CHUNK.min(size - at);
        hasher.update(bytes(seed, at, len));
        at += len;
    }
    hex::encode(hasher.finalize())
}
