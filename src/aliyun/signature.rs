//! Aliyun RPC signature version 1.0 (HMAC-SHA1), as the official SDKs compute
//! it. The simulator verifies with the same functions, so a mistake here would
//! hide on both sides of the wire: the unit tests below therefore pin the
//! output to vectors produced by the official Python SDK
//! (`tests/vectors/aliyun_sign.py`).

use std::collections::BTreeMap;

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha1::Sha1;

pub const PRODUCT: &str = "aliyuncvc";
pub const API_VERSION: &str = "2019-10-30";
pub const SIGNATURE_METHOD: &str = "HMAC-SHA1";
pub const SIGNATURE_VERSION: &str = "1.0";
/// The format Aliyun wants for `Timestamp`: UTC, second precision.
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// RFC 3986 unreserved characters stay; everything else is `%XX` of its UTF-8
/// bytes. This is what the SDK's urlencode-then-fix-up (`+`→`%20`, `*`→`%2A`,
/// `%7E`→`~`) amounts to.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// `k=v&k=v`, each side percent-encoded, in the map's (byte-sorted) order.
pub fn encode_pairs(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn format_timestamp(at: DateTime<Utc>) -> String {
    at.format(TIMESTAMP_FORMAT).to_string()
}

/// The common parameters of one request, exactly the set the Python SDK
/// sends: it includes an empty `SignatureType`, which therefore takes part in
/// the signature.
pub fn common_params(
    action: &str,
    access_key_id: &str,
    region_id: &str,
    timestamp: &str,
    nonce: &str,
) -> BTreeMap<String, String> {
    [
        ("Action", action),
        ("Version", API_VERSION),
        ("Format", "JSON"),
        ("RegionId", region_id),
        ("Timestamp", timestamp),
        ("SignatureMethod", SIGNATURE_METHOD),
        ("SignatureType", ""),
        ("SignatureVersion", SIGNATURE_VERSION),
        ("SignatureNonce", nonce),
        ("AccessKeyId", access_key_id),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// `METHOD&%2F&<encoded canonical query>` over every parameter (query and
/// body alike) except `Signature` itself.
pub fn string_to_sign(method: &str, params: &BTreeMap<String, String>) -> String {
    let canonical: BTreeMap<String, String> = params
        .iter()
        .filter(|(k, _)| k.as_str() != "Signature")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode("/"),
        percent_encode(&encode_pairs(&canonical))
    )
}

/// Base64 of HMAC-SHA1 keyed with `secret + "&"`.
pub fn sign(string_to_sign: &str, secret: &str) -> String {
    let key = format!("{secret}&");
    Hmac::<Sha1>::new_from_slice(key.as_bytes())
        .map(|mut mac| {
            mac.update(string_to_sign.as_bytes());
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        })
        // HMAC takes keys of any length, so this never happens; an empty
        // signature would merely be rejected by the server.
        .unwrap_or_default()
}

/// Query and body of a request together, the way the signer sees them (the
/// body wins on a clash, as in the SDK).
pub fn merged(
    query: &BTreeMap<String, String>,
    body: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut all = query.clone();
    all.extend(body.iter().map(|(k, v)| (k.clone(), v.clone())));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(action: &str, nonce: &str, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut p = common_params(
            action,
            "testid",
            "cn-hangzhou",
            "2024-01-02T03:04:05Z",
            nonce,
        );
        p.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        p
    }

    /// Output of `tests/vectors/aliyun_sign.py` (aliyun-python-sdk-core 2.16.1).
    const CREATE_USER_STS: &str = "POST&%2F&AccessKeyId%3Dtestid%26Action%3DCreateUser%26Count%3D2%26Format%3DJSON%26RegionId%3Dcn-hangzhou%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3f2504e0-4f89-11d3-9a0c-0305e82c3301%26SignatureType%3D%26SignatureVersion%3D1.0%26Timestamp%3D2024-01-02T03%253A04%253A05Z%26UserInfo%3D%255B%257B%2522userId%2522%253A%2522u-1%2522%252C%2522userName%2522%253A%2522%25E5%25BC%25A0%25E4%25B8%2589%2522%252C%2522groupId%2522%253A%252288%2522%252C%2522groupName%2522%253A%2522%25E9%2598%25BF%25E9%2587%258C%25E5%25B7%25B4%25E5%25B7%25B4%2522%252C%2522userEmail%2522%253A%2522zhang.san%252Bcvc%2540example.com%2522%257D%252C%257B%2522userId%2522%253A%2522u%25202%252A~%2522%252C%2522userName%2522%253A%2522Li%2520Si%2522%252C%2522groupId%2522%253A%252288%2522%252C%2522groupName%2522%253A%2522%25E9%2598%25BF%25E9%2587%258C%25E5%25B7%25B4%25E5%25B7%25B4%2522%257D%255D%26Version%3D2019-10-30";
    const CREATE_USER_SIGNATURE: &str = "Om7H1LSZXeGipH3hhnsOKGVBvA4=";
    const GET_USER_STS: &str = "POST&%2F&AccessKeyId%3Dtestid%26Action%3DGetUser%26Format%3DJSON%26RegionId%3Dcn-hangzhou%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D6c1f3610-0000-4000-8000-000000000001%26SignatureType%3D%26SignatureVersion%3D1.0%26Timestamp%3D2024-01-02T03%253A04%253A05Z%26UserId%3Du-1%26Version%3D2019-10-30";
    const GET_USER_SIGNATURE: &str = "QLE0XoOhBzLcMZgzZoWobEo1Sjc=";

    #[test]
    fn create_user_matches_python_sdk() {
        let users = r#"[{"userId":"u-1","userName":"张三","groupId":"88","groupName":"阿里巴巴","userEmail":"zhang.san+cvc@example.com"},{"userId":"u 2*~","userName":"Li Si","groupId":"88","groupName":"阿里巴巴"}]"#;
        let p = params(
            "CreateUser",
            "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
            &[("UserInfo", users), ("Count", "2")],
        );
        let sts = string_to_sign("POST", &p);
        assert_eq!(sts, CREATE_USER_STS);
        assert_eq!(sign(&sts, "testsecret"), CREATE_USER_SIGNATURE);
    }

    #[test]
    fn get_user_matches_python_sdk() {
        let p = params(
            "GetUser",
            "6c1f3610-0000-4000-8000-000000000001",
            &[("UserId", "u-1")],
        );
        let sts = string_to_sign("POST", &p);
        assert_eq!(sts, GET_USER_STS);
        assert_eq!(sign(&sts, "testsecret"), GET_USER_SIGNATURE);
    }

    #[test]
    fn signature_param_is_left_out() {
        let mut p = params("GetUser", "n", &[("UserId", "u-1")]);
        let before = string_to_sign("POST", &p);
        p.insert("Signature".into(), "whatever".into());
        assert_eq!(string_to_sign("POST", &p), before);
    }

    #[test]
    fn encoding_follows_rfc3986() {
        assert_eq!(percent_encode("a b*c~d+e/é"), "a%20b%2Ac~d%2Be%2F%C3%A9");
    }

    #[test]
    fn timestamp_is_utc_seconds() {
        let at = DateTime::from_timestamp(1_704_164_645, 123_000_000).unwrap();
        assert_eq!(format_timestamp(at), "2024-01-02T03:04:05Z");
    }
}
