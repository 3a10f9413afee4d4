//! Secrets in serialized settings: shown as `[redacted]`, never as text.

use secrecy::SecretString;
use serde::Serializer;

pub const REDACTED: &str = "[redacted]";

/// `serialize_with` for an optional secret.
pub fn redact_opt<S: Serializer>(value: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => s.serialize_str(REDACTED),
        None => s.serialize_none(),
    }
}

/// `url` with its password replaced, for printing.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some(REDACTED));
            }
            u.to_string()
        }
        Err(_) => "(unparsable URL)".into(),
    }
}
