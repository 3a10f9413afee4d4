//! `[archive]` configuration.

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveSettings {
    /// Where the files go, as a URL: `file:///var/lib/confsync/archive`,
    /// `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix`.
    pub location: String,
    /// object_store options of the location (`aws_endpoint`,
    /// `aws_region`, `aws_allow_http`, ...); the AWS_*, GOOGLE_* and AZURE_*
    /// environment variables are read as well.
    #[serde(serialize_with = "crate::secret::redact_secret_options")]
    pub options: BTreeMap<String, String>,
    /// The storage key id (S3: `aws_access_key_id`).
    pub access_key_id: Option<String>,
    #[serde(serialize_with = "crate::secret::redact_opt")]
    pub secret_access_key: Option<SecretString>,
    /// A file holding the secret key (relative: in `$CREDENTIALS_DIRECTORY`).
    pub secret_access_key_file: Option<PathBuf>,
    /// Files transferred at once.
    pub concurrency: usize,
    /// Download bandwidth cap over all transfers; 0: none.
    pub max_bytes_per_second: u64,
    /// Attempts per file before it waits for `archive run` by hand.
    pub max_attempts: u32,
    /// Delete a recording from CloudRoom this long after it was created,
    /// once its archive is verified (e.g. "30d"); unset: never.
    pub delete_from_cloudroom_after: Option<String>,
    /// Deletions from CloudRoom per run, at most.
    pub max_deletes_per_run: usize,
    /// A download that sends no byte for this long fails (and frees its slot).
    pub idle_timeout_seconds: u64,
}

impl Default for ArchiveSettings {
    fn default() -> Self {
        ArchiveSettings {
            location: "file:///var/lib/confsync/archive".into(),
            options: BTreeMap::new(),
            access_key_id: None,
            secret_access_key: None,
            secret_access_key_file: None,
            concurrency: 4,
            max_bytes_per_second: 0,
            max_attempts: 5,
            delete_from_cloudroom_after: None,
            max_deletes_per_run: 20,
            idle_timeout_seconds: 60,
        }
    }
}

impl ArchiveSettings {
    /// Adds a problem for every bad `archive.*` value.
    pub fn validate(&self, problem: &mut dyn FnMut(&str, String)) {
        if let Err(e) = url::Url::parse(&self.location) {
            problem(
                "archive.location",
                format!(
                    "not a URL such as file:///var/lib/confsync/archive or s3://bucket/prefix: {e}"
                ),
            );
        }
        if self.concurrency == 0 {
            problem("archive.concurrency", "must be at least 1".into());
        }
        if self.max_attempts == 0 {
            problem("archive.max_attempts", "must be at least 1".into());
        }
        if !(1..=3600).contains(&self.idle_timeout_seconds) {
            problem(
                "archive.idle_timeout_seconds",
                "must be between 1 and 3600 (seconds without a byte before a download fails)"
                    .into(),
            );
        }
        if let Some(after) = &self.delete_from_cloudroom_after {
            if let Err(e) = crate::setting::parse_duration(after) {
                problem("archive.delete_from_cloudroom_after", e);
            }
        }
    }

    /// `delete_from_cloudroom_after`; `validate` has vouched for it.
    pub fn delete_after(&self) -> Option<std::time::Duration> {
        self.delete_from_cloudroom_after
            .as_deref()
            .and_then(|d| crate::setting::parse_duration(d).ok())
    }
}

impl ArchiveSettings {
    /// `idle_timeout_seconds`, within what `validate` allows.
    pub fn idle_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.idle_timeout_seconds.clamp(1, 3600))
    }
}
