//! `confsync directory settle`: a person's answer to a department create
//! whose answer was lost. CloudRoom cannot list departments, so only a
//! person looking at CloudRoom's console can say whether it took effect.

use anyhow::Context as _;
use sqlx::PgPool;

use super::model::{self, Department, CLOUDROOM_ROOT_ID};
use crate::cloudroom::{CloudRoomClient, DepartmentRequest};
use crate::store::directory::{self as store, DepartmentWrite};
use crate::store::directory_uncertain as uncertain;

/// What the person found in CloudRoom's console.
#[derive(Debug, Clone, Copy)]
pub enum Settlement {
    /// The department exists with this departmentId: record it.
    Exists(i64),
    /// It does not exist: the next apply creates it.
    Absent,
}

/// Settles the uncertain create of department `key`; returns what was done.
pub async fn settle(
    pool: &PgPool,
    tenant: &str,
    client: &CloudRoomClient,
    key: &str,
    settlement: Settlement,
) -> anyhow::Result<String> {
    let pending = uncertain::list(pool, tenant).await?;
    let Some(row) = pending.into_iter().find(|u| u.key == key) else {
        anyhow::bail!("department {key:?} has no uncertain create to settle (`confsync directory plan` lists them)");
    };
    let mut tx = crate::store::begin_durable(pool).await?;
    let id = match settlement {
        Settlement::Absent => {
            uncertain::settle(&mut tx, tenant, key).await?;
            tx.commit().await.context("cannot commit the settlement")?;
            return Ok(format!(
                "department {} [{}]: marked absent; the next apply creates it",
                row.path, row.key
            ));
        }
        Settlement::Exists(id) => id,
    };
    let write = prove(pool, tenant, client, &row, id).await?;
    store::save_departments(&mut tx, tenant, &[write], chrono::Utc::now()).await?;
    uncertain::settle(&mut tx, tenant, key).await?;
    tx.commit().await.context("cannot commit the settlement")?;
    Ok(format!(
        "department {} [{}]: recorded as departmentId {id}",
        row.path, row.key
    ))
}

/// Proof that departmentId `id` is the department of `row`: a PUT of its
/// name and parent must succeed and answer that name. Returns its record.
async fn prove(
    pool: &PgPool,
    tenant: &str,
    client: &CloudRoomClient,
    row: &uncertain::UncertainDepartment,
    id: i64,
) -> anyhow::Result<DepartmentWrite> {
    let parents = store::departments(pool, tenant).await?;
    let parent_id = match &row.parent_key {
        None => CLOUDROOM_ROOT_ID,
        Some(parent) => parents
            .iter()
            .find(|d| &d.key == parent)
            .map(|d| d.cloudroom_id)
            .with_context(|| format!("the parent department {parent:?} is not recorded yet"))?,
    };
    let body = DepartmentRequest {
        name: row.name.clone(),
        parent_id,
    };
    let answer = client.update_department(id, &body).await.with_context(|| {
        format!(
            "CloudRoom refused a PUT of department {id}, so it cannot be recorded as {}",
            row.path
        )
    })?;
    if answer.name.as_deref().is_some_and(|n| n != row.name) {
        anyhow::bail!(
            "department {id} answered the name {:?}, not {:?}",
            answer.name,
            row.name
        );
    }
    let dept = Department {
        key: row.key.clone(),
        name: row.name.clone(),
        parent_key: row.parent_key.clone(),
        path: row.path.clone(),
        depth: 0,
    };
    Ok(DepartmentWrite {
        key: row.key.clone(),
        cloudroom_id: id,
        name: row.name.clone(),
        parent_key: row.parent_key.clone(),
        path: row.path.clone(),
        content_hash: model::hash(&dept.cloudroom_fields()),
    })
}
