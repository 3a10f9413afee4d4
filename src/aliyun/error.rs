//! Everything that can go wrong talking to Aliyun CVC, each case saying in
//! plain English what it means for the operator.

use std::fmt;

/// What the vendor said: HTTP status, its code and message, its RequestId.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorDetail {
    pub action: String,
    pub status: u16,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

impl fmt::Display for VendorDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} answered HTTP {} {}: {} (RequestId {})",
            self.action,
            self.status,
            self.code,
            self.message,
            self.request_id.as_deref().unwrap_or("none")
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AliyunError {
    #[error("Aliyun configuration: {0}")]
    Config(String),

    #[error("Aliyun does not know this AccessKeyId; check aliyun.access_key_id: {0}")]
    AccessKeyNotFound(VendorDetail),

    #[error(
        "Aliyun computed a different signature: the AccessKeySecret does not belong to this AccessKeyId, or the request was altered on the way: {0}"
    )]
    SignatureMismatch(VendorDetail),

    #[error(
        "Aliyun rejected the request time: this host's clock differs from Aliyun's by more than 15 minutes; synchronise the system clock (NTP): {0}"
    )]
    TimestampExpired(VendorDetail),

    #[error(
        "Aliyun rejected a replayed SignatureNonce (each request must carry a fresh one): {0}"
    )]
    NonceUsed(VendorDetail),

    #[error("Aliyun is throttling this account; slow down and retry later: {0}")]
    Throttled(VendorDetail),

    #[error("Aliyun says a required parameter is missing or invalid: {0}")]
    BadRequest(VendorDetail),

    #[error("Aliyun failed on its side (server error); retrying may help: {0}")]
    Server(VendorDetail),

    #[error("Aliyun refused the request: {0}")]
    Rejected(VendorDetail),

    #[error(
        "{action} was refused by CVC (Success=false, ErrorCode {error_code}): {message} (RequestId {})",
        request_id.as_deref().unwrap_or("none")
    )]
    Business {
        action: String,
        error_code: i64,
        message: String,
        request_id: Option<String>,
    },

    #[error("could not reach Aliyun for {action}")]
    Transport {
        action: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("{action}: Aliyun answered HTTP {status} with a body that is not the documented JSON ({detail})")]
    Decode {
        action: String,
        status: u16,
        detail: String,
    },
}

/// The `code` label of the request metric: a gateway code confsync
/// handles, else `other` (the CVC document lists no codes of its own), so
/// that a server inventing codes cannot grow the series.
pub fn metric_code(code: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "InvalidAccessKeyId.NotFound",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "InvalidTimeStamp.Expired",
        "SignatureNonceUsed",
        "Throttling",
        "Throttling.User",
        "Throttling.Api",
        "ServiceUnavailable",
        "InternalError",
    ];
    KNOWN
        .iter()
        .copied()
        .find(|k| *k == code)
        .unwrap_or("other")
}

impl AliyunError {
    /// Classifies an HTTP error answer by the vendor's `Code`.
    pub fn from_gateway(detail: VendorDetail) -> Self {
        let code = detail.code.as_str();
        match code {
            "InvalidAccessKeyId.NotFound" | "InvalidAccessKeyId" => {
                AliyunError::AccessKeyNotFound(detail)
            }
            "SignatureDoesNotMatch" | "IncompleteSignature" => {
                AliyunError::SignatureMismatch(detail)
            }
            "InvalidTimeStamp.Expired" => AliyunError::TimestampExpired(detail),
            "SignatureNonceUsed" => AliyunError::NonceUsed(detail),
            c if c.starts_with("Throttling") => AliyunError::Throttled(detail),
            c if c.starts_with("Missing") || c.starts_with("Invalid") => {
                AliyunError::BadRequest(detail)
            }
            _ if detail.status >= 500 => AliyunError::Server(detail),
            _ => AliyunError::Rejected(detail),
        }
    }

    /// Throttling, server errors and network trouble are worth another try;
    /// a wrong signature, a bad clock or a business refusal never heal by
    /// repeating.
    pub fn is_retryable(&self) -> bool {
        match self {
            AliyunError::Throttled(_) | AliyunError::Server(_) => true,
            AliyunError::Rejected(d) => d.status == 429,
            AliyunError::Decode { status, .. } => *status >= 500,
            AliyunError::Transport { source, .. } => {
                source.is_timeout() || source.is_connect() || source.is_request()
            }
            _ => false,
        }
    }

    /// The vendor's code (`Code`, or `ErrorCode` as text), if it answered.
    pub fn code(&self) -> Option<String> {
        match self {
            AliyunError::Business { error_code, .. } => Some(error_code.to_string()),
            other => other.detail().map(|d| d.code.clone()),
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            AliyunError::Business { request_id, .. } => request_id.as_deref(),
            other => other.detail().and_then(|d| d.request_id.as_deref()),
        }
    }

    /// The HTTP status the vendor answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            AliyunError::Business { .. } => Some(200),
            AliyunError::Decode { status, .. } => Some(*status),
            other => other.detail().map(|d| d.status),
        }
    }

    fn detail(&self) -> Option<&VendorDetail> {
        match self {
            AliyunError::AccessKeyNotFound(d)
            | AliyunError::SignatureMismatch(d)
            | AliyunError::TimestampExpired(d)
            | AliyunError::NonceUsed(d)
            | AliyunError::Throttled(d)
            | AliyunError::BadRequest(d)
            | AliyunError::Server(d)
            | AliyunError::Rejected(d) => Some(d),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metric_code_label_is_bounded() {
        assert_eq!(metric_code("Throttling.User"), "Throttling.User");
        assert_eq!(metric_code("SomethingNew.123"), "other");
    }

    fn detail(status: u16, code: &str) -> VendorDetail {
        VendorDetail {
            action: "GetUser".into(),
            status,
            code: code.into(),
            message: "m".into(),
            request_id: Some("r".into()),
        }
    }

    #[test]
    fn classification_decides_retries() {
        let retry = |s, c| AliyunError::from_gateway(detail(s, c)).is_retryable();
        assert!(retry(400, "Throttling.User"));
        assert!(retry(429, "Throttling"));
        assert!(retry(500, "InternalError"));
        assert!(retry(503, "ServiceUnavailable"));
        assert!(!retry(400, "SignatureDoesNotMatch"));
        assert!(!retry(400, "InvalidTimeStamp.Expired"));
        assert!(!retry(400, "SignatureNonceUsed"));
        assert!(!retry(404, "InvalidAccessKeyId.NotFound"));
        assert!(!retry(400, "MissingParameter"));
    }

    #[test]
    fn expired_timestamp_names_the_clock() {
        let e = AliyunError::from_gateway(detail(400, "InvalidTimeStamp.Expired"));
        assert!(e.to_string().contains("clock"));
        assert_eq!(e.code().as_deref(), Some("InvalidTimeStamp.Expired"));
    }
}
