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
/// `*token*`, `*credential*`, `*_key`, SSE-C's `*key_base64`) shown as
/// redacted, and credentials inside URL options (`proxy_url`) too: object
/// stores take their keys among their options.
pub fn redact_secret_options<S: Serializer>(
    options: &std::collections::BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(options.len()))?;
    for (key, value) in options {
        // A URL option (a proxy, an endpoint) may carry credentials inside.
        let shown = match names_a_secret(key) {
            true => REDACTED.to_string(),
            false if value.contains("://") => redact_url(value),
            false => value.clone(),
        };
        map.serialize_entry(key, &shown)?;
    }
    map.end()
}

/// Whether an option or parameter name says it holds a secret.
pub fn names_a_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["secret", "password", "token", "credential"]
        .iter()
        .any(|w| name.contains(w))
        || name.ends_with("_key")
        || name.ends_with("key_base64")
}

/// `url` with its password (user info, or a parameter whose name says it
/// is a secret, such as `?password=` or `?sslpassword=`) replaced, for
/// printing.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some(REDACTED));
            }
            if u.query_pairs().any(|(k, _)| names_a_secret(&k)) {
                let pairs: Vec<(String, String)> = u
                    .query_pairs()
                    .map(|(k, v)| match names_a_secret(&k) {
                        true => (k.into_owned(), REDACTED.to_string()),
                        false => (k.into_owned(), v.into_owned()),
                    })
                    .collect();
                u.query_pairs_mut().clear().extend_pairs(pairs);
            }
            u.to_string()
        }
        Err(_) => "(unparsable URL)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_urls_and_options_are_redacted() {
        let shown = redact_url("postgres://u:pw@db/x?sslmode=require&password=hunter2");
        assert!(
            !shown.contains("pw@") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(shown.contains("sslmode=require"), "{shown}");
        let options: std::collections::BTreeMap<String, String> = [
            ("aws_sse_customer_key_base64", "c2VjcmV0"),
            ("proxy_url", "http://user:proxypass@proxy:3128"),
            ("aws_region", "cn-hangzhou"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut out = Vec::new();
        redact_secret_options(&options, &mut serde_json::Serializer::new(&mut out)).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.contains("c2VjcmV0") && !text.contains("proxypass"),
            "{text}"
        );
        assert!(text.contains("cn-hangzhou"), "{text}");
    }
}
