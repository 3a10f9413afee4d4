//! What every settings section shares: the problem type that names a key,
//! and the parsers of values that several sections use.

/// One configuration problem, naming the key and where its value came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigProblem {
    pub key: String,
    pub source: String,
    pub message: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} (from {})", self.key, self.message, self.source)
    }
}

/// A required key that is not set, and how to set it.
pub fn missing(key: &str, how: &str) -> ConfigProblem {
    ConfigProblem {
        key: key.into(),
        source: "not set".into(),
        message: format!("required; set it in the config file or with {how}"),
    }
}

/// Parses `90s`, `30m`, `36h`, `2d` (or plain seconds).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("not a duration: {text:?} (use e.g. 90s, 30m, 36h, 2d)"))?;
    let unit_seconds: u64 = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use s, m, h or d)"
            ))
        }
    };
    match n.checked_mul(unit_seconds) {
        Some(seconds) if seconds <= MAX_DURATION_SECONDS => {
            Ok(std::time::Duration::from_secs(seconds))
        }
        _ => Err(format!(
            "{text:?} is out of range: at most 36500d (100 years)"
        )),
    }
}

/// The longest duration a setting takes: 100 years, far inside what the
/// clock arithmetic of every caller can hold.
const MAX_DURATION_SECONDS: u64 = 36_500 * 86_400;

/// Adds a problem unless `value` is an http or https URL.
pub fn check_http_url(value: &str, key: &str, problem: &mut dyn FnMut(&str, String)) {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        Ok(u) => problem(
            key,
            format!("scheme must be http or https, not {}", u.scheme()),
        ),
        Err(e) => problem(key, format!("not a URL: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_past_100_years_or_overflowing_are_refused() {
        assert_eq!(parse_duration("36500d").unwrap().as_secs(), 36_500 * 86_400);
        for bad in [
            "100000000d",
            "99999999999999999999d",
            "18446744073709551615d",
            "36501d",
        ] {
            let e = parse_duration(bad).unwrap_err();
            assert!(
                e.contains("out of range") || e.contains("not a duration"),
                "{bad}: {e}"
            );
        }
    }
}
