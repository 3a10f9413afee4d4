//! ListMembers' times, which the document types as String and its example
//! sends as numbers of 10, 11 and 12 digits without saying the unit.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Below this a number is taken as seconds, from it as milliseconds: 10^11
/// seconds is the year 5138, 10^11 milliseconds is 1973.
const MILLIS_FROM: i64 = 100_000_000_000;

/// Epoch seconds or milliseconds (as a number or its text), or
/// `yyyy-MM-dd HH:mm:ss` in `tz`, or RFC 3339; `None` for anything else
/// and for 0.
pub fn parse(text: Option<&str>, tz: Tz) -> Option<DateTime<Utc>> {
    let text = text?.trim();
    if let Ok(n) = text.parse::<i64>() {
        return from_number(n);
    }
    if let Ok(local) = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
        return tz
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc));
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Epoch seconds or milliseconds, by size; `None` for 0.
pub fn from_number(n: i64) -> Option<DateTime<Utc>> {
    match n {
        0 => None,
        n if n.abs() >= MILLIS_FROM => DateTime::from_timestamp_millis(n),
        n => DateTime::from_timestamp(n, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_milliseconds_and_local_text() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let at = |s: &str| parse(Some(s), tz).map(|t| t.to_rfc3339());
        assert_eq!(
            at("1767258000").as_deref(),
            Some("2026-01-01T09:00:00+00:00")
        );
        assert_eq!(
            at("1767258000000").as_deref(),
            Some("2026-01-01T09:00:00+00:00")
        );
        assert_eq!(
            at("2026-01-01 17:00:00").as_deref(),
            Some("2026-01-01T09:00:00+00:00")
        );
        assert_eq!(
            at("2026-01-01T09:00:00Z").as_deref(),
            Some("2026-01-01T09:00:00+00:00")
        );
        assert_eq!(at("0"), None);
        assert_eq!(at("soon"), None);
        assert_eq!(parse(None, tz), None);
    }
}
