//! The plan: the companies the tenants declare against those confsync
//! recorded, and how it is shown.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use super::{CompaniesError, CompanyChange, CompanyPlan, DeclaredCompany};
use crate::store::companies::{CompanyRow, UncertainCompany};

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
    uncertain: &[UncertainCompany],
    delete: &[String],
) -> Result<CompanyPlan, CompaniesError> {
    let wanted = desired(tenants)?;
    check_deletes(&wanted, actual, uncertain, delete)?;
    let mut changes = Vec::new();
    let mut unchanged = 0;
    for (guid, (row, password_file)) in &wanted {
        if let Some(u) = uncertain.iter().find(|u| &u.comp_guid == guid) {
            changes.push(uncertain_change(row.clone(), u));
            continue;
        }
        match actual.iter().find(|a| &a.comp_guid == guid) {
            None => changes.push(CompanyChange::Create {
                row: row.clone(),
                admin_password: password_file
                    .as_ref()
                    .map_or("generated".into(), |p| format!("from {}", p.display())),
                password_file: password_file.clone(),
            }),
            Some(have) => unchanged += usize::from(declared_change(have, row, &mut changes)),
        }
    }
    for u in uncertain
        .iter()
        .filter(|u| !wanted.contains_key(&u.comp_guid))
    {
        changes.push(uncertain_change(u.row(), u));
    }
    for row in actual.iter().filter(|a| !wanted.contains_key(&a.comp_guid)) {
        changes.push(undeclared_change(row, delete));
    }
    Ok(CompanyPlan { changes, unchanged })
}

fn uncertain_change(row: CompanyRow, u: &UncertainCompany) -> CompanyChange {
    CompanyChange::Uncertain {
        row,
        request_id: u.request_id.clone(),
        at: u.at,
    }
}

/// The changes a recorded company that a tenant declares needs; true when
/// it is unchanged.
fn declared_change(have: &CompanyRow, row: &CompanyRow, changes: &mut Vec<CompanyChange>) -> bool {
    let unchanged = have.comp_name == row.comp_name;
    if !unchanged {
        changes.push(CompanyChange::Rename {
            row: row.clone(),
            from: have.comp_name.clone(),
        });
    }
    if (have.admin.as_str(), have.admin_name.as_str())
        != (row.admin.as_str(), row.admin_name.as_str())
    {
        changes.push(CompanyChange::Note {
            comp_guid: row.comp_guid.clone(),
            message: format!("admin {} ({}) differs from the declared {} ({}); CloudRoom can change only compName, so it is left as is", have.admin, have.admin_name, row.admin, row.admin_name),
        });
    }
    unchanged
}

/// A recorded company no tenant declares: deleted only when confsync
/// created it and the command names it.
fn undeclared_change(row: &CompanyRow, delete: &[String]) -> CompanyChange {
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
    }
}

fn check_deletes(
    wanted: &BTreeMap<String, (CompanyRow, Option<PathBuf>)>,
    actual: &[CompanyRow],
    uncertain: &[UncertainCompany],
    delete: &[String],
) -> Result<(), CompaniesError> {
    for guid in delete {
        if uncertain.iter().any(|u| &u.comp_guid == guid) {
            return Err(CompaniesError::DeleteUncertain { guid: guid.clone() });
        }
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
                CompanyChange::Uncertain {
                    row, request_id, ..
                } => writeln!(
                    f,
                    "  ? uncertain {} {:?}: {}",
                    row.comp_guid,
                    row.comp_name,
                    uncertain_note(&row.comp_guid, request_id.as_deref())
                )?,
                CompanyChange::Note { comp_guid, message } => {
                    writeln!(f, "  ! {comp_guid}: {message}")?
                }
            }
        }
        Ok(())
    }
}

/// What an uncertain create means and how it is settled.
pub(super) fn uncertain_note(guid: &str, request_id: Option<&str>) -> String {
    format!(
        "the create got no answer (X-CR-RequestId {}), so the company may exist; the POST is not sent again. Apply records it once a PUT of its name succeeds, which only an existing company takes. If that PUT is refused, look in CloudRoom's console, then run `confsync companies settle --guid {guid} --absent` if it does not exist (the next apply creates it), or `--exists` to send the PUT again",
        request_id.unwrap_or("unknown")
    )
}
