//! `[aliyun]`: the CVC endpoint, the credentials and the group users belong to.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::setting::{check_http_url, missing, ConfigProblem};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliyunSettings {
    pub endpoint: String,
    pub region_id: String,
    pub access_key_id: Option<String>,
    #[serde(serialize_with = "crate::secret::redact_opt")]
    pub access_key_secret: Option<SecretString>,
    pub access_key_secret_file: Option<PathBuf>,
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    pub batch_size: usize,
    pub timeout_seconds: u64,
    pub max_retries: u32,
    /// `postgres: <query>` whose first column lists MeetingUUIDs for the
    /// attendance job (besides rows in `aliyun.meetings`).
    pub meetings_source: Option<String>,
    /// A meeting nobody has joined this long after it was registered is no
    /// longer read.
    pub attendance_window: String,
}

impl Default for AliyunSettings {
    fn default() -> Self {
        AliyunSettings {
            endpoint: "https://aliyuncvc.cn-hangzhou.aliyuncs.com".into(),
            region_id: "cn-hangzhou".into(),
            access_key_id: None,
            access_key_secret: None,
            access_key_secret_file: None,
            group_id: None,
            group_name: None,
            batch_size: 100,
            timeout_seconds: 30,
            max_retries: 5,
            meetings_source: None,
            attendance_window: "24h".into(),
        }
    }
}

impl AliyunSettings {
    pub fn credentials(&self) -> Result<(String, SecretString), ConfigProblem> {
        let id = self.access_key_id.clone().filter(|s| !s.is_empty());
        let key = self
            .access_key_secret
            .clone()
            .filter(|s| !s.expose_secret().is_empty());
        match (id, key) {
            (Some(id), Some(key)) => Ok((id, key)),
            (None, _) => Err(missing(
                "aliyun.access_key_id",
                "CONFSYNC_ALIYUN__ACCESS_KEY_ID",
            )),
            (_, None) => Err(missing(
                "aliyun.access_key_secret",
                "CONFSYNC_ALIYUN__ACCESS_KEY_SECRET or aliyun.access_key_secret_file",
            )),
        }
    }
}

impl AliyunSettings {
    /// Adds a problem for every bad `aliyun.*` value.
    pub fn validate(&self, problem: &mut dyn FnMut(&str, String)) {
        let al = self;
        check_http_url(&al.endpoint, "aliyun.endpoint", problem);
        if al.batch_size == 0 || al.batch_size > 1000 {
            problem("aliyun.batch_size", "must be between 1 and 1000".into());
        }
        if let Err(e) = al.meetings_query() {
            problem("aliyun.meetings_source", e);
        }
        if let Err(e) = crate::setting::parse_duration(&al.attendance_window) {
            problem("aliyun.attendance_window", e);
        }
    }

    /// The query of `meetings_source`, without its `postgres:` prefix.
    pub fn meetings_query(&self) -> Result<Option<&str>, String> {
        match self.meetings_source.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(spec) => match spec.strip_prefix("postgres:").map(str::trim) {
                Some(query) if !query.is_empty() => Ok(Some(query)),
                _ => Err(format!(
                    "expected \"postgres: select meeting_uuid from ...\", not {spec:?}"
                )),
            },
        }
    }

    /// `attendance_window`; `validate` has vouched for it.
    pub fn attendance_window(&self) -> std::time::Duration {
        crate::setting::parse_duration(&self.attendance_window)
            .unwrap_or(std::time::Duration::from_secs(86_400))
    }
}
