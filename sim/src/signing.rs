//! How the simulator checks an Aliyun RPC signature (version 1.0,
//! HMAC-SHA1), written from Aliyun's description of it rather than shared
//! with confsync's signer: a mistake there would otherwise hide on both
//! sides of the wire.

use std::collections::BTreeMap;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

pub const PRODUCT: &str = "aliyuncvc";
pub const API_VERSION: &str = "2019-10-30";
pub const SIGNATURE_METHOD: &str = "HMAC-SHA1";
/// `Timestamp`: ISO 8601 in UTC, to the second.
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// RFC 3986: letters, digits and `-_.~` stay, every other byte of the UTF-8
/// form becomes `%XX` (upper-case hex).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// `METHOD&%2F&encode(k1=v1&k2=v2…)` over every parameter but `Signature`,
/// sorted by name.
pub fn string_to_sign(method: &str, params: &BTreeMap<String, String>) -> String {
    let canonical = params
        .iter()
        .filter(|(name, _)| name.as_str() != "Signature")
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode("/"),
        encode(&canonical)
    )
}

/// Base64 of HMAC-SHA1 over `string_to_sign`, keyed with `secret&`.
pub fn sign(string_to_sign: &str, secret: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(format!("{secret}&").as_bytes()) else {
        return String::new();
    };
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_rfc_3986() {
        assert_eq!(encode("a b*c~d/é"), "a%20b%2Ac~d%2F%C3%A9");
    }

    /// The example of Aliyun's signature documentation (DescribeRegions,
    /// AccessKey secret `testsecret`).
    #[test]
    fn signs_the_documented_example() {
        let params: BTreeMap<String, String> = [
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("Format", "XML"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Version", "2014-05-26"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let to_sign = string_to_sign("GET", &params);
        assert!(to_sign.starts_with("GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions"));
        assert_eq!(sign(&to_sign, "testsecret"), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
    }
}
