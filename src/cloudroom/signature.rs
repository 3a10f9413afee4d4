//! CloudRoom request authentication: four headers, regenerated for every
//! HTTP request (retries included) because the server rejects timestamps more
//! than 5 minutes away from its own clock.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

pub const HEADER_SECRET_ID: &str = "X-CR-SecretId";
pub const HEADER_TIMESTAMP: &str = "X-CR-Timestamp";
pub const HEADER_SIGNATURE: &str = "X-CR-Signature";
pub const HEADER_REQUEST_ID: &str = "X-CR-RequestId";

/// `lowercase hex(sha256(secretId + "&" + timestamp + "&" + secretKey))`.
pub fn sign(secret_id: &str, timestamp: i64, secret_key: &SecretString) -> String {
    let mut hasher = Sha256::new();
    hasher.update(secret_id.as_bytes());
    hasher.update(b"&");
    hasher.update(timestamp.to_string().as_bytes());
    hasher.update(b"&");
    hasher.update(secret_key.expose_secret().as_bytes());
    hex::encode(hasher.finalize())
}

/// The authentication headers of one HTTP request.
#[derive(Clone)]
pub struct AuthHeaders {
    pub secret_id: String,
    pub timestamp: i64,
    pub signature: String,
    pub request_id: String,
}

impl AuthHeaders {
    /// Headers for a request sent at `timestamp` (epoch seconds).
    pub fn at(secret_id: &str, secret_key: &SecretString, timestamp: i64) -> Self {
        AuthHeaders {
            secret_id: secret_id.to_string(),
            timestamp,
            signature: sign(secret_id, timestamp, secret_key),
            request_id: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Headers for a request sent now, by the local system clock.
    pub fn now(secret_id: &str, secret_key: &SecretString) -> Self {
        Self::at(secret_id, secret_key, chrono::Utc::now().timestamp())
    }

    /// `(name, value)` pairs in the order the document lists them.
    pub fn pairs(&self) -> [(&'static str, String); 4] {
        [
            (HEADER_SECRET_ID, self.secret_id.clone()),
            (HEADER_TIMESTAMP, self.timestamp.to_string()),
            (HEADER_SIGNATURE, self.signature.clone()),
            (HEADER_REQUEST_ID, self.request_id.clone()),
        ]
    }
}

// A signature is a bearer credential for five minutes, so it stays out of logs.
impl fmt::Debug for AuthHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthHeaders")
            .field("secret_id", &self.secret_id)
            .field("timestamp", &self.timestamp)
            .field("signature", &"[redacted]")
            .field("request_id", &self.request_id)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "6mioUaDlFdf3Bagt3s";
    const KEY: &str = "t02npiEZn82WqRl26Nfb0stD89bZkwTT";

    #[test]
    fn reproduces_the_document_example() {
        let key = SecretString::from(KEY);
        assert_eq!(
            sign(ID, 1_622_098_479, &key),
            "edda74671f313bc7c081bf6e11c8da9ebe73224e4aadba96f6ae2c6ba4550f25"
        );
    }

    #[test]
    fn headers_are_fresh_per_request() {
        let key = SecretString::from(KEY);
        let a = AuthHeaders::at(ID, &key, 1_622_098_479);
        let b = AuthHeaders::at(ID, &key, 1_622_098_479);
        assert_eq!(a.signature, b.signature);
        assert_ne!(a.request_id, b.request_id);
        assert!(uuid::Uuid::parse_str(&a.request_id).is_ok_and(|u| u.get_version_num() == 4));
        let pairs = a.pairs();
        assert_eq!(pairs[0], (HEADER_SECRET_ID, ID.to_string()));
        assert_eq!(pairs[1], (HEADER_TIMESTAMP, "1622098479".to_string()));
    }

    #[test]
    fn debug_hides_key_and_signature() {
        let key = SecretString::from(KEY);
        let h = AuthHeaders::at(ID, &key, 1_622_098_479);
        let shown = format!("{h:?}");
        assert!(!shown.contains(KEY));
        assert!(!shown.contains(&h.signature));
    }
}
