//! `[cloudroom]`: where the API is, the credentials, budgets, and how the
//! mirror reads.

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::setting::{check_http_url, missing, parse_duration, ConfigProblem};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudRoomSettings {
    /// Several CloudRoom enterprises can share one database; each is a tenant.
    pub tenant: String,
    pub base_url: String,
    pub secret_id: Option<String>,
    #[serde(serialize_with = "crate::secret::redact_opt")]
    pub secret_key: Option<SecretString>,
    pub secret_key_file: Option<PathBuf>,
    /// Deprecated: the budget of the two list endpoints, which
    /// `rate_limits.conference_list` and `rate_limits.conference_history` now set.
    pub requests_per_minute: Option<u32>,
    /// Requests per minute by endpoint (`conference_list`, `video_list`, …;
    /// 0: no budget). Unlisted endpoints keep the document's limits: 300
    /// for the two list endpoints, none elsewhere until a 429 teaches one.
    pub rate_limits: BTreeMap<String, u32>,
    /// How long one call keeps retrying 429 answers before it fails.
    pub rate_limit_patience_seconds: u64,
    pub timeout_seconds: u64,
    pub max_retries: u32,
    pub timezone: String,
    /// Keep meeting passwords in `raw` (removed by default).
    pub keep_meeting_passwords: bool,
    /// First day the history backfill reads (`YYYY-MM-DD`); default three years ago.
    pub history_start: Option<String>,
    /// How far before the watermark an incremental history pass starts
    /// (meetings end and change after they start), e.g. `2d`, `36h`.
    pub history_lookback: String,
    /// Conferences that ended this recently get their recordings re-read
    /// (recordings appear late).
    pub recordings_lookback: String,
    /// Conferences whose recordings are read at the same time.
    pub recordings_concurrency: usize,
}

impl Default for CloudRoomSettings {
    fn default() -> Self {
        CloudRoomSettings {
            tenant: "default".into(),
            base_url: "https://www.cloudroom.com/CLOUDROOM-SERVER".into(),
            secret_id: None,
            secret_key: None,
            secret_key_file: None,
            requests_per_minute: None,
            rate_limits: BTreeMap::new(),
            rate_limit_patience_seconds: 600,
            timeout_seconds: 30,
            max_retries: 5,
            timezone: "Asia/Shanghai".into(),
            keep_meeting_passwords: false,
            history_start: None,
            history_lookback: "2d".into(),
            recordings_lookback: "3d".into(),
            recordings_concurrency: 256,
        }
    }
}

impl CloudRoomSettings {
    /// `timezone` as a zone; `validate` has vouched for it.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }

    /// Credentials, or a problem naming the missing key.
    pub fn credentials(&self) -> Result<(String, SecretString), ConfigProblem> {
        let id = self.secret_id.clone().filter(|s| !s.is_empty());
        let key = self
            .secret_key
            .clone()
            .filter(|s| !s.expose_secret().is_empty());
        match (id, key) {
            (Some(id), Some(key)) => Ok((id, key)),
            (None, _) => Err(missing(
                "cloudroom.secret_id",
                "CONFSYNC_CLOUDROOM__SECRET_ID",
            )),
            (_, None) => Err(missing(
                "cloudroom.secret_key",
                "CONFSYNC_CLOUDROOM__SECRET_KEY or cloudroom.secret_key_file",
            )),
        }
    }
}

impl CloudRoomSettings {
    /// Endpoint label → requests per minute, or each bad key with its problem.
    pub fn endpoint_budgets(&self) -> Result<BTreeMap<String, u32>, Vec<(String, String)>> {
        crate::cloudroom::budgets::resolve(self.requests_per_minute, &self.rate_limits)
    }

    pub fn history_lookback(&self) -> std::time::Duration {
        parse_duration(&self.history_lookback).unwrap_or(std::time::Duration::from_secs(2 * 86_400))
    }

    pub fn recordings_lookback(&self) -> std::time::Duration {
        parse_duration(&self.recordings_lookback)
            .unwrap_or(std::time::Duration::from_secs(3 * 86_400))
    }

    /// The first instant the history backfill reads.
    pub fn history_start_at(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> chrono::DateTime<chrono::Utc> {
        self.history_start
            .as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
            .unwrap_or_else(|| now - chrono::Duration::days(3 * 365))
    }
}

impl CloudRoomSettings {
    /// Adds a problem for every bad `cloudroom.*` value.
    pub fn validate(&self, problem: &mut dyn FnMut(&str, String)) {
        let cr = self;
        check_http_url(&cr.base_url, "cloudroom.base_url", problem);
        if let Err(bad) = cr.endpoint_budgets() {
            for (key, message) in bad {
                problem(&key, message);
            }
        }
        if cr.timeout_seconds == 0 {
            problem("cloudroom.timeout_seconds", "must be at least 1".into());
        }
        if cr.timezone.parse::<chrono_tz::Tz>().is_err() {
            problem(
                "cloudroom.timezone",
                format!(
                    "unknown time zone {:?} (use an IANA name such as Asia/Shanghai)",
                    cr.timezone
                ),
            );
        }
        if let Some(day) = &cr.history_start {
            if chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_err() {
                problem(
                    "cloudroom.history_start",
                    format!("not a date YYYY-MM-DD: {day:?}"),
                );
            }
        }
        for (key, value) in [
            ("cloudroom.history_lookback", &cr.history_lookback),
            ("cloudroom.recordings_lookback", &cr.recordings_lookback),
        ] {
            if let Err(e) = parse_duration(value) {
                problem(key, e);
            }
        }
        if cr.recordings_concurrency == 0 {
            problem(
                "cloudroom.recordings_concurrency",
                "must be at least 1".into(),
            );
        }
        if cr.tenant.trim().is_empty() {
            problem("cloudroom.tenant", "must not be empty".into());
        }
    }
}
