//! Everything a CloudRoom call can fail with, each vendor code explained in
//! English so that an operator reading a log line does not need the
//! (Chinese) vendor document.

use std::time::Duration;

/// Bytes of a response body kept in a [`CloudRoomError::Decode`].
const EXCERPT_CHARS: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum CloudRoomError {
    /// HTTP 400 with one of the authentication codes 22001–22009.
    #[error("CloudRoom {endpoint}: authentication failed with code {code} ({msg}): {}", explain_code(*code))]
    Auth {
        endpoint: &'static str,
        code: i64,
        msg: String,
    },
    /// HTTP 429, code 22008: more requests than the secretId's budget.
    #[error("CloudRoom {endpoint}: rate limited with code {code} ({msg}): {}", explain_code(*code))]
    RateLimited {
        endpoint: &'static str,
        code: i64,
        msg: String,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// Any other vendor code, normally HTTP 500 with a business code.
    #[error("CloudRoom {endpoint}: HTTP {http_status}, code {code} ({msg}): {}", explain_code(*code))]
    Business {
        endpoint: &'static str,
        http_status: u16,
        code: i64,
        msg: String,
    },
    #[error("CloudRoom {endpoint}: no response within {timeout:?}")]
    Timeout {
        endpoint: &'static str,
        timeout: Duration,
        #[source]
        source: reqwest::Error,
    },
    #[error("CloudRoom {endpoint}: cannot connect")]
    Connect {
        endpoint: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// Failures after the connection was made (reset mid-body and the like).
    /// Not retried: the request may already have taken effect.
    #[error("CloudRoom {endpoint}: transport error")]
    Transport {
        endpoint: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// The body is not what the document describes.
    #[error("CloudRoom {endpoint}: undecodable response (HTTP {http_status}): {reason}; body starts {excerpt:?}")]
    Decode {
        endpoint: &'static str,
        http_status: u16,
        reason: String,
        excerpt: String,
    },
    /// A 3xx to another origin (or a chain too long): not followed, so the
    /// signature and any password in the body stay with CloudRoom.
    #[error("CloudRoom {endpoint}: {refusal}")]
    Redirected {
        endpoint: &'static str,
        refusal: crate::transport::RedirectRefused,
    },
    /// The answer is larger than any honest page (see `API_BODY_LIMIT`).
    #[error("CloudRoom {endpoint}: the answer is larger than {limit} bytes, the most confsync reads of one answer")]
    TooLarge {
        endpoint: &'static str,
        limit: usize,
    },
    /// Not sent: the run is shutting down.
    #[error("CloudRoom {endpoint}: not sent, shutting down")]
    Cancelled { endpoint: &'static str },
    /// The client cannot be built (missing credentials, bad base URL, ...).
    #[error("CloudRoom client configuration: {message}")]
    Config { message: String },
}

impl CloudRoomError {
    /// The vendor's code, when the server sent one.
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Auth { code, .. }
            | Self::RateLimited { code, .. }
            | Self::Business { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The vendor's message, when the server sent one.
    pub fn msg(&self) -> Option<&str> {
        match self {
            Self::Auth { msg, .. } | Self::RateLimited { msg, .. } | Self::Business { msg, .. } => {
                Some(msg)
            }
            _ => None,
        }
    }

    /// The table's generic refusal: HTTP 500, code 400 (请求地址或参数错误).
    /// The document gives an existing account, an unknown account or
    /// department and a bad field no code of their own, so this says only
    /// that the request was refused, never why: callers find out with a
    /// second request, never from the message.
    pub fn is_refused_request(&self) -> bool {
        matches!(self, Self::Business { code: 400, .. })
    }

    /// The request may have reached the server and taken effect, and no
    /// answer of the server's says otherwise: a timeout, a connection that
    /// broke mid-answer, a gateway's non-JSON 5xx. (A `{code, msg}` answer,
    /// code 500 included, is the server saying the request failed.) A
    /// create is never sent again after one.
    pub fn may_have_taken_effect(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::Transport { .. } => true,
            Self::Decode { http_status, .. } => *http_status >= 500,
            _ => false,
        }
    }

    /// What the vendor code means, in English.
    pub fn explanation(&self) -> Option<&'static str> {
        self.code().map(explain_code)
    }

    /// Worth sending again: the vendor's throttle, its internal error
    /// (code 500), timeouts, refused connections and gateway errors. Never
    /// authentication failures or other business codes: those fail the same
    /// way every time.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Timeout { .. } | Self::Connect { .. } => true,
            Self::Business { code, .. } => *code == 500,
            Self::Decode { http_status, .. } => matches!(http_status, 502..=504),
            Self::Auth { .. }
            | Self::Transport { .. }
            | Self::Redirected { .. }
            | Self::TooLarge { .. }
            | Self::Cancelled { .. }
            | Self::Config { .. } => false,
        }
    }

    pub fn is_auth(&self) -> bool {
        matches!(self, Self::Auth { .. })
    }

    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Self::RateLimited { .. })
    }

    /// A decode error with the first characters of `body`.
    pub(crate) fn decode(
        endpoint: &'static str,
        http_status: u16,
        reason: impl std::fmt::Display,
        body: &str,
    ) -> Self {
        Self::Decode {
            endpoint,
            http_status,
            reason: reason.to_string(),
            excerpt: excerpt(body),
        }
    }

    /// Classifies a `{code, msg}` body by its code (the HTTP status only
    /// decides when the code is ambiguous).
    pub(crate) fn from_vendor(
        endpoint: &'static str,
        http_status: u16,
        code: i64,
        msg: String,
        retry_after: Option<Duration>,
    ) -> Self {
        match code {
            22008 => Self::RateLimited {
                endpoint,
                code,
                msg,
                retry_after,
            },
            22001..=22009 => Self::Auth {
                endpoint,
                code,
                msg,
            },
            _ if http_status == 429 => Self::RateLimited {
                endpoint,
                code,
                msg,
                retry_after,
            },
            _ => Self::Business {
                endpoint,
                http_status,
                code,
                msg,
            },
        }
    }

    pub(crate) fn from_transport(
        endpoint: &'static str,
        timeout: Duration,
        source: reqwest::Error,
    ) -> Self {
        if let Some(refused) = crate::transport::redirect_refusal(&source) {
            Self::Redirected {
                endpoint,
                refusal: crate::transport::RedirectRefused {
                    location: refused.location.clone(),
                    reason: refused.reason,
                },
            }
        } else if source.is_timeout() {
            Self::Timeout {
                endpoint,
                timeout,
                source,
            }
        } else if source.is_connect() {
            Self::Connect { endpoint, source }
        } else {
            Self::Transport { endpoint, source }
        }
    }
}

fn excerpt(body: &str) -> String {
    let mut out: String = body.chars().take(EXCERPT_CHARS).collect();
    if body.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// Every code the document lists, explained.
/// What [`explain_code`] says of a code the document does not list.
const UNLISTED: &str = "code not listed in the CloudRoom v2 document";

/// The `code` label of the request metric: a documented code, else
/// `other`, so that a server inventing codes cannot grow the series.
pub fn metric_code(code: i64) -> String {
    match explain_code(code) {
        UNLISTED => "other".into(),
        _ => code.to_string(),
    }
}

pub fn explain_code(code: i64) -> &'static str {
    match code {
        22001 => "the X-CR-SecretId header is missing",
        22002 => "the X-CR-Timestamp header is missing",
        22003 => "the X-CR-Signature header is missing",
        22004 => "signature expired: the local clock (this host's system clock, which produced X-CR-Timestamp) differs from CloudRoom's server clock by more than 5 minutes; synchronise the local clock (NTP)",
        22005 => "invalid signature: X-CR-Signature does not match sha256(secretId&timestamp&secretKey); the secret key is wrong",
        22006 => "account not found: no CloudRoom enterprise has this X-CR-SecretId",
        22007 => "the enterprise has not been granted access to the web API",
        22008 => "request rate exceeded for this secretId",
        22009 => "the X-CR-Timestamp header is not a valid epoch-seconds number",
        400 => "bad request URL or parameters",
        500 => "CloudRoom internal server error (transient)",
        22201 => "conference not found",
        22202 => "wrong conference password",
        22203 => "conference has not started",
        22204 => "conference has ended",
        22205 => "only invitees may join this conference",
        22206 => "only users of the enterprise may join this conference",
        22207 => "failed to obtain a mini-program token",
        22208 => "the enterprise has no mini-program configuration",
        22209 => "conference subject must not be empty",
        22210 => "conference password must be 4-6 digits",
        22211 => "end time of a recurring conference must not be empty",
        22212 => "conference subject must not exceed 50 characters",
        22213 => "end time of a recurring conference is malformed",
        22214 => "scheduled start time must not be empty",
        22215 => "scheduled start time must not be in the past",
        22216 => "scheduled start time is malformed",
        22217 => "scheduled end time must not be empty",
        22218 => "scheduled end time must not be before the start time",
        22219 => "scheduled end time is malformed",
        22220 => "invalid recurrence (period) type",
        22221 => "end of recurrence must not be before the start time",
        22222 => "a scheduled conference must not last more than 24 hours",
        22223 => "host not found",
        22224 => "insufficient permission",
        22225 => "invalid video layout (split-screen count)",
        22226 => "virtual member count must be between 0 and 2000",
        22227 => "conference has already started or ended",
        22228 => "invitee not found",
        22229 => "invitees must not be empty",
        22230 => "nickname must not be empty",
        22231 => "invalid participant type",
        22232 => "nickname must not exceed 30 characters",
        22233 => "no conference record",
        22234 => "no more than four co-hosts",
        22235 => "co-host not found",
        22236 => "query window must not exceed one year",
        21030 => "recording not found",
        _ => UNLISTED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENTED: &[i64] = &[
        22001, 22002, 22003, 22004, 22005, 22006, 22007, 22008, 22009, 400, 500, 21030,
    ];

    #[test]
    fn the_metric_code_label_is_bounded_to_documented_codes() {
        assert_eq!(metric_code(22008), "22008");
        assert_eq!(metric_code(21030), "21030");
        assert_eq!(metric_code(22999), "other");
        assert_eq!(metric_code(-1), "other");
    }

    #[test]
    fn every_documented_code_is_explained() {
        let unknown = explain_code(-1);
        for code in DOCUMENTED.iter().copied().chain(22201..=22236) {
            assert_ne!(explain_code(code), unknown, "{code}");
        }
    }

    #[test]
    fn clock_skew_names_the_clock() {
        let e = CloudRoomError::from_vendor("conference.get", 400, 22004, "签名过期".into(), None);
        assert!(e.is_auth() && !e.is_retryable());
        let text = e.to_string();
        assert!(text.contains("local clock"), "{text}");
        assert!(text.contains("5 minutes"), "{text}");
        assert!(text.contains("签名过期"), "{text}");
    }

    #[test]
    fn classification() {
        let rl =
            CloudRoomError::from_vendor("conference.list", 429, 22008, "接口超出频率".into(), None);
        assert!(rl.is_rate_limited() && rl.is_retryable() && !rl.is_auth());
        let internal = CloudRoomError::from_vendor("conference.list", 500, 500, "x".into(), None);
        assert!(internal.is_retryable());
        assert_eq!(internal.code(), Some(500));
        for code in [400, 22201, 22236, 21030] {
            let e = CloudRoomError::from_vendor("video.delete", 500, code, "x".into(), None);
            assert!(!e.is_retryable() && !e.is_auth(), "{code}");
            assert!(matches!(e, CloudRoomError::Business { .. }));
        }
        for code in [22001, 22005, 22006, 22007, 22009] {
            let e = CloudRoomError::from_vendor("user.create", 400, code, "x".into(), None);
            assert!(e.is_auth() && !e.is_retryable(), "{code}");
        }
    }

    #[test]
    fn decode_keeps_status_and_short_excerpt() {
        let body = "<html>".to_string() + &"x".repeat(1000);
        let e = CloudRoomError::decode("conference.get", 502, "expected JSON", &body);
        let text = e.to_string();
        assert!(
            text.contains("HTTP 502") && text.contains("<html>"),
            "{text}"
        );
        assert!(text.len() < 400, "{text}");
        assert!(e.is_retryable());
        assert_eq!(e.code(), None);
    }
}
