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
    let seconds = match unit.trim() {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use s, m, h or d)"
            ))
        }
    };
    Ok(std::time::Duration::from_secs(seconds))
}

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
