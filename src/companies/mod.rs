//! The company endpoints, declaratively: each tenant's `[company]` is the
//! desired state, `confsync.companies` the actual one (CloudRoom has no
//! endpoint that reads a company), the plan their difference, and apply
//! sends it with the platform's credentials.
//!
//! The directory's safety rules hold: a plan comes first, and a company is
//! deleted only when confsync created it, no tenant declares it any more
//! and the command names it (`--delete GUID`). A create whose answer was
//! lost is never sent again: it is recorded uncertain until a PUT proves
//! the company exists or a person says it does not (`settle`).

mod apply;
mod plan;
pub mod settings;

use std::path::PathBuf;

use serde::Serialize;

use crate::cloudroom::{CloudRoomClient, CloudRoomSettings};
use crate::store::companies::CompanyRow;
pub use apply::{apply, settle, Settlement};
pub use plan::plan;
use settings::{CompanySettings, PlatformSettings};

#[derive(Debug, thiserror::Error)]
pub enum CompaniesError {
    #[error("companies need the platform's global credentials: set platform.secret_id and platform.secret_key (or platform.secret_key_file); an enterprise's secretId is refused with 22224")]
    NoPlatformCredentials,
    #[error("compGUID {guid:?} is declared by tenants {first} and {second}; each company belongs to one tenant")]
    DeclaredTwice {
        guid: String,
        first: String,
        second: String,
    },
    #[error(
        "--delete {guid}: tenant {tenant} still declares it; remove its [company] section first"
    )]
    DeleteDeclared { guid: String, tenant: String },
    #[error("--delete {guid}: confsync.companies has no such company")]
    DeleteUnknown { guid: String },
    #[error("--delete {guid}: confsync did not create it, so it never deletes it")]
    DeleteNotOurs { guid: String },
    #[error("--delete {guid}: its create got no answer, so it may not exist; settle it first (`confsync companies settle --guid {guid} --exists` or `--absent`)")]
    DeleteUncertain { guid: String },
    #[error("company {guid}: it has no uncertain create to settle (`confsync companies plan` lists them)")]
    NothingToSettle { guid: String },
}

/// One step of a plan.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CompanyChange {
    Create {
        row: CompanyRow,
        /// Where the first administrator password comes from ("generated"
        /// or the file); the password itself is never shown.
        admin_password: String,
        #[serde(skip)]
        password_file: Option<PathBuf>,
    },
    Rename {
        row: CompanyRow,
        from: String,
    },
    Delete {
        row: CompanyRow,
    },
    /// Declared by no tenant, and not deleted (why says why).
    Keep {
        row: CompanyRow,
        why: String,
    },
    /// A create whose answer was lost: not sent again. Apply sends a PUT
    /// of its name, which only an existing company takes: success records
    /// it; a refusal leaves it to a person (`confsync companies settle`).
    Uncertain {
        row: CompanyRow,
        request_id: Option<String>,
        at: chrono::DateTime<chrono::Utc>,
    },
    /// CloudRoom can change only compName: a changed admin is not applied.
    Note {
        comp_guid: String,
        message: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct CompanyPlan {
    pub changes: Vec<CompanyChange>,
    pub unchanged: usize,
}

/// A tenant's `[company]`: the enterprise the tenant is, if declared.
#[derive(Debug, Clone, Copy)]
pub struct DeclaredCompany<'a> {
    pub tenant: &'a str,
    pub company: Option<&'a CompanySettings>,
}

/// What apply did.
#[derive(Debug, Default, Serialize)]
pub struct CompaniesReport {
    pub created: Vec<String>,
    pub renamed: Vec<String>,
    pub deleted: Vec<String>,
    /// Uncertain creates a PUT proved: recorded as created.
    pub settled: Vec<String>,
    /// compGUID and what to do, for each create that stays uncertain.
    pub uncertain: Vec<(String, String)>,
    /// compGUID and why, for each change that failed.
    pub failed: Vec<(String, String)>,
}

/// The platform's client: `cloudroom`'s base URL and limits with
/// `[platform]`'s credentials.
pub fn platform_client(
    platform: &PlatformSettings,
    cloudroom: &CloudRoomSettings,
) -> anyhow::Result<CloudRoomClient> {
    let (Some(id), Some(key)) = (&platform.secret_id, &platform.secret_key) else {
        return Err(CompaniesError::NoPlatformCredentials.into());
    };
    Ok(CloudRoomClient::for_platform(
        cloudroom,
        id.clone(),
        key.clone(),
    )?)
}
