//! Apply: each change sent with the platform's credentials, the table
//! recording what CloudRoom accepted; and the settling of a create whose
//! answer was lost.

use std::path::PathBuf;

use rand::Rng;
use secrecy::SecretString;
use sqlx::PgPool;

use super::plan::uncertain_note;
use super::{CompaniesError, CompaniesReport, CompanyChange, CompanyPlan};
use crate::cloudroom::{
    with_request_ids, CloudRoomClient, CloudRoomError, CreateCompany, UpdateCompany,
};
use crate::store::companies::{self as store, CompanyRow, UncertainCompany};

/// Length of a generated administrator password.
const PASSWORD_CHARS: usize = 20;

/// What a sent change came to.
enum Sent {
    Done,
    /// The create's answer was lost and no PUT proved the company yet.
    Uncertain(String),
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
                rename(client, pool, row).await.map(|()| Sent::Done),
                &mut report.renamed,
            ),
            CompanyChange::Delete { row } => (
                &row.comp_guid,
                delete(client, pool, row).await.map(|()| Sent::Done),
                &mut report.deleted,
            ),
            CompanyChange::Uncertain {
                row, request_id, ..
            } => (
                &row.comp_guid,
                prove(client, pool, row, request_id.as_deref()).await,
                &mut report.settled,
            ),
            CompanyChange::Keep { .. } | CompanyChange::Note { .. } => continue,
        };
        match result {
            Ok(Sent::Done) => done.push(guid.clone()),
            Ok(Sent::Uncertain(note)) => report.uncertain.push((guid.clone(), note)),
            Err(e) => report.failed.push((guid.clone(), explain(&e))),
        }
    }
    Ok(report)
}

/// The POST, sent once: when its answer is lost the company may exist, so
/// it is recorded uncertain (durably, first) and a PUT of its name, which
/// only an existing company takes, is tried at once.
async fn create(
    client: &CloudRoomClient,
    pool: &PgPool,
    row: &CompanyRow,
    password_file: Option<&PathBuf>,
) -> anyhow::Result<Sent> {
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
    let (answer, mut request_ids) = with_request_ids(client.create_company(&body)).await;
    match answer {
        Ok(_) => {
            store::upsert(pool, row).await?;
            Ok(Sent::Done)
        }
        Err(e) if e.may_have_taken_effect() => {
            let request_id = request_ids.pop();
            tracing::warn!(comp_guid = %row.comp_guid, error = %e, "company create got no answer; recorded uncertain");
            store::record_uncertain(pool, &uncertain(row, request_id.clone())).await?;
            prove(client, pool, row, request_id.as_deref()).await
        }
        Err(e) => Err(e.into()),
    }
}

fn uncertain(row: &CompanyRow, request_id: Option<String>) -> UncertainCompany {
    UncertainCompany {
        comp_guid: row.comp_guid.clone(),
        tenant: row.tenant.clone(),
        comp_name: row.comp_name.clone(),
        admin: row.admin.clone(),
        admin_name: row.admin_name.clone(),
        request_id,
        at: chrono::Utc::now(),
    }
}

/// Settles an uncertain create when a PUT of the company's name succeeds
/// (CloudRoom has the company, made by confsync's POST); any other answer
/// leaves it uncertain, with what to do. Never a second POST.
async fn prove(
    client: &CloudRoomClient,
    pool: &PgPool,
    row: &CompanyRow,
    request_id: Option<&str>,
) -> anyhow::Result<Sent> {
    match send_name(client, row).await {
        Ok(()) => {
            store::upsert(pool, row).await?;
            Ok(Sent::Done)
        }
        Err(e) => Ok(Sent::Uncertain(format!(
            "{}; {}",
            explain(&e.into()),
            uncertain_note(&row.comp_guid, request_id)
        ))),
    }
}

/// What a person found in CloudRoom's console about an uncertain create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// It exists: prove it with a PUT of its name and record it.
    Exists,
    /// It does not exist: the next apply creates it.
    Absent,
}

/// `confsync companies settle`: the uncertain create of `guid` settled as
/// the person says; `Exists` still needs the PUT's proof.
pub async fn settle(
    client: &CloudRoomClient,
    pool: &PgPool,
    guid: &str,
    settlement: Settlement,
) -> anyhow::Result<String> {
    let pending = store::uncertain(pool).await?;
    let Some(found) = pending.into_iter().find(|u| u.comp_guid == guid) else {
        return Err(CompaniesError::NothingToSettle {
            guid: guid.to_string(),
        }
        .into());
    };
    match settlement {
        Settlement::Absent => {
            store::settle_absent(pool, guid).await?;
            Ok(format!(
                "company {guid}: marked absent; the next apply creates it"
            ))
        }
        Settlement::Exists => {
            match prove(client, pool, &found.row(), found.request_id.as_deref()).await? {
                Sent::Done => Ok(format!("company {guid}: proven by a PUT and recorded")),
                Sent::Uncertain(why) => anyhow::bail!("company {guid} stays uncertain: {why}"),
            }
        }
    }
}

async fn rename(client: &CloudRoomClient, pool: &PgPool, row: &CompanyRow) -> anyhow::Result<()> {
    send_name(client, row).await?;
    Ok(store::upsert(pool, row).await?)
}

/// PUT company/{compGUID} with the row's name: a rename, and the proof
/// that an uncertain create took effect.
async fn send_name(client: &CloudRoomClient, row: &CompanyRow) -> Result<(), CloudRoomError> {
    let body = UpdateCompany {
        comp_name: row.comp_name.clone(),
    };
    client.update_company(&row.comp_guid, &body).await
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
