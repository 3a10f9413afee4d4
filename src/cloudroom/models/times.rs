//! Times as the API sends them: epoch seconds or milliseconds, and wall-clock strings in the tenant's zone

use super::*;

/// Epoch seconds (or milliseconds, recognised by size) to UTC; 0 and
/// negative values mean "not set" in this API.
pub fn epoch_utc(value: Option<i64>) -> Option<DateTime<Utc>> {
    let v = value.filter(|v| *v > 0)?;
    if v >= 100_000_000_000 {
        DateTime::from_timestamp_millis(v)
    } else {
        DateTime::from_timestamp(v, 0)
    }
}

/// A detail time: `yyyy-MM-dd HH:mm:ss` wall-clock in `tz`, "" for unset, or
/// epoch seconds as a number or digit string.
pub fn parse_time(value: &Value, tz: Tz) -> Option<DateTime<Utc>> {
    match value {
        Value::String(s) => parse_time_str(s.trim(), tz),
        other => epoch_utc(lenient::value_i64(other)),
    }
}

pub(super) fn parse_time_str(s: &str, tz: Tz) -> Option<DateTime<Utc>> {
    if s.is_empty() {
        return None;
    }
    if let Ok(n) = s.parse::<i64>() {
        return epoch_utc(Some(n));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    const FORMATS: &[&str] = &["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"];
    let naive = FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok());
    let Some(naive) = naive else {
        tracing::warn!(value = s, "unrecognised CloudRoom time string; ignored");
        return None;
    };
    // `earliest` settles DST folds; gaps (nonexistent local times) are
    // read one hour later, as a wall clock jumping forward would show.
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
}
