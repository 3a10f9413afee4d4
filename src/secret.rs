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

/// Options whose names say they hold a secret (`*secret*`, `*password*`,
/// `*token*`, `*_key`) shown as redacted: object stores take their keys
/// among their options.
pub fn redact_secret_options<S: Serializer>(
    options: &std::collections::BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(options.len()))?;
    for (key, value) in options {
        let name = key.to_ascii_lowercase();
        let secret = ["secret", "password", "token"]
            .iter()
            .any(|w| name.contains(w))
            || name.ends_with("_key");
        map.serialize_entry(key, if secret { REDACTED } else { value.as_str() })?;
    }
    map.end()
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
