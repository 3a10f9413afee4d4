//! `[platform]`: the CloudRoom platform's global credentials, which only the
//! company endpoints accept; and a tenant's `[company]`, the enterprise it is.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlatformSettings {
    /// The platform's secretId (not an enterprise's).
    pub secret_id: Option<String>,
    #[serde(serialize_with = "crate::secret::redact_opt")]
    pub secret_key: Option<SecretString>,
    pub secret_key_file: Option<PathBuf>,
}

/// The company a tenant belongs to, as `confsync companies apply` creates it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CompanySettings {
    /// The company's unique identifier (compGUID); the tenant's name when absent.
    pub comp_guid: Option<String>,
    /// compName: the only field CloudRoom lets a company change.
    pub comp_name: String,
    /// The administrator's account (admin).
    pub admin: String,
    /// The administrator's display name (adminName).
    pub admin_name: String,
    /// A file holding the administrator's first password; without it a
    /// random one is generated. Either way it is sent once and never kept.
    pub admin_password_file: Option<PathBuf>,
}

impl CompanySettings {
    pub fn guid<'a>(&'a self, tenant: &'a str) -> &'a str {
        self.comp_guid.as_deref().unwrap_or(tenant)
    }
}

impl PlatformSettings {
    pub fn validate(&self, problem: &mut dyn FnMut(&str, String)) {
        if self
            .secret_id
            .as_deref()
            .is_some_and(|id| id.trim().is_empty())
        {
            problem("platform.secret_id", "must not be empty".into());
        }
    }
}
