//! `--tenants N`: N more CloudRoom enterprises on the same port, each with
//! its own secretId and secretKey, its own data (seeded from `--seed` and
//! its number) and its own rate windows, for tests and benchmarks of many
//! tenants. `--tenants-file PATH` writes their credentials, and the
//! platform credential of the company endpoints, as JSON.

use std::sync::Mutex;

use serde::Serialize;

use crate::cloudroom::{World, PLATFORM_SECRET_ID, PLATFORM_SECRET_KEY};
use crate::SimConfig;

/// One enterprise of `--tenants`.
pub struct Tenant {
    /// `t001`, `t002`, ...: a valid confsync tenant name.
    pub name: String,
    pub secret_id: String,
    pub secret_key: String,
    pub world: Mutex<World>,
}

/// What `--tenants-file` holds.
#[derive(Debug, Serialize)]
pub struct TenantsFile {
    pub tenants: Vec<TenantCredentials>,
    pub platform: TenantCredentials,
}

#[derive(Debug, Serialize)]
pub struct TenantCredentials {
    pub name: String,
    pub secret_id: String,
    pub secret_key: String,
}

/// The enterprises of `config.tenants`, each generated from its own seed.
pub fn generate(config: &SimConfig) -> Vec<Tenant> {
    (1..=config.tenants)
        .map(|n| {
            let own = SimConfig {
                seed: config.seed.wrapping_add(n as u64 * 1_000_003),
                ..config.clone()
            };
            Tenant {
                name: format!("t{n:03}"),
                secret_id: format!("simTenant{n:05}"),
                secret_key: format!("simTenantKey{n:05}{:016x}", own.seed),
                world: Mutex::new(World::generate(&own)),
            }
        })
        .collect()
}

pub fn file(tenants: &[Tenant]) -> TenantsFile {
    TenantsFile {
        tenants: tenants
            .iter()
            .map(|t| TenantCredentials {
                name: t.name.clone(),
                secret_id: t.secret_id.clone(),
                secret_key: t.secret_key.clone(),
            })
            .collect(),
        platform: TenantCredentials {
            name: "platform".into(),
            secret_id: PLATFORM_SECRET_ID.into(),
            secret_key: PLATFORM_SECRET_KEY.into(),
        },
    }
}
