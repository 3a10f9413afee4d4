//! The company endpoints, declaratively: each tenant's `[company]` is the
//! desired state, `confsync.companies` the actual one (CloudRoom has no
//! endpoint that reads a company), the plan their difference, and apply
//! sends it with the platform's credentials.
//!
//! The directory's safety rules hold: a plan comes first, and a company is
//! deleted only when confsync created it, no tenant declares it any more
//! and the command names it (`--delete GUID`).

pub mod settings;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use rand::Rng;
use secrecy::SecretString;
use serde::Serialize;
use sqlx::PgPool;

use crate::cloudroom::CloudRoomSettings;
use crate::cloudroom::{CloudRoomClient, CloudRoomError, CreateCompany, UpdateCompany};
use crate::store::companies::{self as store, CompanyRow};
use settings::{CompanySettings, PlatformSettings};

/// Length of a generated administrator password.
const PASSWORD_CHARS: usize = 20;

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

/// The companies the tenants declare, by compGUID.
fn desired(
    tenants: &[DeclaredCompany<'_>],
) -> Result<BTreeMap<String, (CompanyRow, Option<PathBuf>)>, CompaniesError> {
    let mut wanted: BTreeMap<String, (CompanyRow, Option<PathBuf>)> = BTreeMap::new();
    for tenant in tenants {
        let Some(company) = tenant.company else {
            continue;
        };
        let name = tenant.tenant;
        let guid = company.guid(name).to_string();
        if let Some((first, _)) = wanted.get(&guid) {
            return Err(CompaniesError::DeclaredTwice {
                guid,
                first: first.tenant.clone(),
                second: name.to_string(),
            });
        }
        let row = CompanyRow {
            comp_guid: guid.clone(),
            tenant: name.to_string(),
            comp_name: company.comp_name.clone(),
            admin: company.admin.clone(),
            admin_name: company.admin_name.clone(),
            created_by_confsync: true,
        };
        wanted.insert(guid, (row, company.admin_password_file.clone()));
    }
    Ok(wanted)
}

/// What apply would do; `delete` names the companies it may delete.
pub fn plan(
    tenants: &[DeclaredCompany<'_>],
    actual: &[CompanyRow],
    delete: &[String],
) -> Result<CompanyPlan, CompaniesError> {
    let wanted = desired(tenants)?;
    check_deletes(&wanted, actual, delete)?;
    let mut changes = Vec::new();
    let mut unchanged = 0;
    for (guid, (row, password_file)) in &wanted {
        match actual.iter().find(|a| &a.comp_guid == guid) {
            None => changes.push(CompanyChange::Create {
                row: row.clone(),
                admin_password: password_file
                    .as_ref()
                    .map_or("generated".into(), |p| format!("from {}", p.display())),
                password_file: password_file.clone(),
            }),
            Some(have) => {
                if have.comp_name != row.comp_name {
                    changes.push(CompanyChange::Rename {
                        row: row.clone(),
                        from: have.comp_name.clone(),
                    });
                } else {
                    unchanged += 1;
                }
                if (have.admin.as_str(), have.admin_name.as_str())
                    != (row.admin.as_str(), row.admin_name.as_str())
                {
                    changes.push(CompanyChange::Note {
                        comp_guid: guid.clone(),
                        message: format!("admin {} ({}) differs from the declared {} ({}); CloudRoom can change only compName, so it is left as is", have.admin, have.admin_name, row.admin, row.admin_name),
                    });
                }
            }
        }
    }
    for row in actual.iter().filter(|a| !wanted.contains_key(&a.comp_guid)) {
        changes.push(
            match (row.created_by_confsync, delete.contains(&row.comp_guid)) {
                (true, true) => CompanyChange::Delete { row: row.clone() },
                (true, false) => CompanyChange::Keep {
                    row: row.clone(),
                    why: format!(
                        "no tenant declares it; add --delete {} to delete it",
                        row.comp_guid
                    ),
                },
                (false, _) => CompanyChange::Keep {
                    row: row.clone(),
                    why: "confsync did not create it".into(),
                },
            },
        );
    }
    Ok(CompanyPlan { changes, unchanged })
}

fn check_deletes(
    wanted: &BTreeMap<String, (CompanyRow, Option<PathBuf>)>,
    actual: &[CompanyRow],
    delete: &[String],
) -> Result<(), CompaniesError> {
    for guid in delete {
        if let Some((row, _)) = wanted.get(guid) {
            return Err(CompaniesError::DeleteDeclared {
                guid: guid.clone(),
                tenant: row.tenant.clone(),
            });
        }
        match actual.iter().find(|a| &a.comp_guid == guid) {
            None => return Err(CompaniesError::DeleteUnknown { guid: guid.clone() }),
            Some(row) if !row.created_by_confsync => {
                return Err(CompaniesError::DeleteNotOurs { guid: guid.clone() })
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// What apply did.
#[derive(Debug, Default, Serialize)]
pub struct CompaniesReport {
    pub created: Vec<String>,
    pub renamed: Vec<String>,
    pub deleted: Vec<String>,
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

/// Sends the plan's changes one by one; a failed change is reported and
/// the others go on. The table records each change CloudRoom accepted.
pub async fn apply(
    plan: &CompanyPlan,
    client: &CloudRoomClient,
    pool: &PgPool,
) -> anyhow::Result<CompaniesReport> {
    let mut report = CompaniesReport::default();
    for change in &plan.changes {
        let (guid, result, done) = match change {
            CompanyChange::Create {
                row, password_file, ..
            } => (
                &row.comp_guid,
                create(client, pool, row, password_file.as_ref()).await,
                &mut report.created,
            ),
            CompanyChange::Rename { row, .. } => (
                &row.comp_guid,
                rename(client, pool, row).await,
                &mut report.renamed,
            ),
            CompanyChange::Delete { row } => (
                &row.comp_guid,
                delete(client, pool, row).await,
                &mut report.deleted,
            ),
            CompanyChange::Keep { .. } | CompanyChange::Note { .. } => continue,
        };
        match result {
            Ok(()) => done.push(guid.clone()),
            Err(e) => report.failed.push((guid.clone(), explain(&e))),
        }
    }
    Ok(report)
}

async fn create(
    client: &CloudRoomClient,
    pool: &PgPool,
    row: &CompanyRow,
    password_file: Option<&PathBuf>,
) -> anyhow::Result<()> {
    let admin_pwd = match password_file {
        Some(path) => read_password(path)?,
        None => generated_password(),
    };
    let body = CreateCompany {
        comp_guid: row.comp_guid.clone(),
        comp_name: row.comp_name.clone(),
        admin: row.admin.clone(),
        admin_name: row.admin_name.clone(),
        admin_pwd,
    };
    client.create_company(&body).await?;
    Ok(store::upsert(pool, row).await?)
}

async fn rename(client: &CloudRoomClient, pool: &PgPool, row: &CompanyRow) -> anyhow::Result<()> {
    let body = UpdateCompany {
        comp_name: row.comp_name.clone(),
    };
    client.update_company(&row.comp_guid, &body).await?;
    Ok(store::upsert(pool, row).await?)
}

async fn delete(client: &CloudRoomClient, pool: &PgPool, row: &CompanyRow) -> anyhow::Result<()> {
    // No answer tells "gone already" from another refusal (the document
    // gives neither a code), so a refused delete stays a failure.
    client.delete_company(&row.comp_guid).await?;
    Ok(store::remove(pool, &row.comp_guid).await?)
}

fn read_password(path: &PathBuf) -> anyhow::Result<SecretString> {
    // systemd's LoadCredential= puts credentials in $CREDENTIALS_DIRECTORY.
    let full = match std::env::var_os("CREDENTIALS_DIRECTORY") {
        Some(dir) if path.is_relative() => PathBuf::from(dir).join(path),
        _ => path.clone(),
    };
    let text = std::fs::read_to_string(&full).map_err(|e| {
        anyhow::anyhow!(
            "company.admin_password_file: cannot read {}: {e}",
            full.display()
        )
    })?;
    Ok(SecretString::from(
        text.trim_end_matches(['\r', '\n']).to_string(),
    ))
}

fn generated_password() -> SecretString {
    let text: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(PASSWORD_CHARS)
        .map(char::from)
        .collect();
    SecretString::from(text)
}

/// The failure's cause, with what a refusal of the credential means here:
/// the document lists both 22224 (权限不足) and 22007 (企业未开放API接口权限)
/// for it, so either, and any other authentication refusal, gets the hint.
fn explain(e: &anyhow::Error) -> String {
    let refused = e
        .chain()
        .filter_map(|c| c.downcast_ref::<CloudRoomError>())
        .any(|c| c.code() == Some(22224) || c.is_auth());
    let cause = crate::causes::of(e);
    if refused {
        format!("{cause}; the company endpoints accept only the platform's global credentials: check platform.secret_id and platform.secret_key, which must not be an enterprise's")
    } else {
        cause
    }
}

impl fmt::Display for CompanyPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "companies plan: {} change(s), {} unchanged",
            self.changes
                .iter()
                .filter(|c| !matches!(c, CompanyChange::Keep { .. } | CompanyChange::Note { .. }))
                .count(),
            self.unchanged
        )?;
        for change in &self.changes {
            match change {
                CompanyChange::Create {
                    row,
                    admin_password,
                    ..
                } => writeln!(
                    f,
                    "  + create {} {:?} for tenant {} (admin {} {:?}, password {admin_password})",
                    row.comp_guid, row.comp_name, row.tenant, row.admin, row.admin_name
                )?,
                CompanyChange::Rename { row, from } => writeln!(
                    f,
                    "  ~ rename {}: {from:?} -> {:?}",
                    row.comp_guid, row.comp_name
                )?,
                CompanyChange::Delete { row } => {
                    writeln!(f, "  - delete {} {:?}", row.comp_guid, row.comp_name)?
                }
                CompanyChange::Keep { row, why } => {
                    writeln!(f, "  = keep {} {:?}: {why}", row.comp_guid, row.comp_name)?
                }
                CompanyChange::Note { comp_guid, message } => {
                    writeln!(f, "  ! {comp_guid}: {message}")?
                }
            }
        }
        Ok(())
    }
}
