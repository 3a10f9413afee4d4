//! What `config check` adds to loading: every misspelt key at once (serde
//! stops at the first), and every credential the configured jobs need.

use figment::error::Kind;
use figment::providers::Serialized;
use figment::value::{Dict, Value};
use figment::{Figment, Profile, Provider};

use super::{extract_problems, ConfigError, ConfigProblem, Settings, TenantSettings};

/// How many misspelt keys one check names before it stops looking.
const MAX_UNKNOWN_KEYS: usize = 64;

/// Extracts the settings; on failure, every problem, including each
/// unknown key: the extraction is retried with the last unknown key taken
/// out until none is left.
pub(super) fn extract_all(figment: &Figment) -> Result<Settings, ConfigError> {
    let mut error = match figment.extract::<Settings>() {
        Ok(settings) => return Ok(settings),
        Err(e) => e,
    };
    let mut problems = extract_problems(figment, error.clone()).0;
    let Ok(mut data) = figment.data() else {
        return Err(ConfigError(problems));
    };
    let Some(mut dict) = data.remove(&Profile::Default) else {
        return Err(ConfigError(problems));
    };
    for _ in 0..MAX_UNKNOWN_KEYS {
        let Some((path, field)) = unknown_field(&error) else {
            break;
        };
        if !remove(&mut dict, &path, &field) {
            break;
        }
        match Figment::from(Serialized::defaults(&dict)).extract::<Settings>() {
            Ok(_) => break,
            Err(e) => {
                problems.extend(extract_problems(figment, e.clone()).0);
                error = e;
            }
        }
    }
    Err(ConfigError(problems))
}

fn unknown_field(error: &figment::Error) -> Option<(Vec<String>, String)> {
    match &error.kind {
        Kind::UnknownField(field, _) => {
            // figment's path ends with the unknown key itself.
            let mut path = error.path.clone();
            if path.last() == Some(field) {
                path.pop();
            }
            Some((path, field.clone()))
        }
        _ => None,
    }
}

/// Removes `path.field` from `dict`; false when it is not there.
fn remove(dict: &mut Dict, path: &[String], field: &str) -> bool {
    let mut table = dict;
    for key in path {
        match table.get_mut(key) {
            Some(Value::Dict(_, inner)) => table = inner,
            _ => return false,
        }
    }
    table.remove(field).is_some()
}

/// The credentials missing for what is configured to run: CloudRoom's
/// whenever a mirror job is scheduled or the directory pushes to CloudRoom,
/// Aliyun's when the directory pushes to Aliyun. The attendance job needs
/// Aliyun's keys only once meetings are registered, and says so then.
pub fn missing_credentials(settings: &Settings) -> Vec<ConfigProblem> {
    settings
        .tenants()
        .iter()
        .flat_map(|tenant| {
            missing_for(tenant)
                .into_iter()
                .map(|p| settings.tenant_problem(tenant.name(), p))
        })
        .collect()
}

/// Each scheduled job says which vendors it needs with these settings.
fn missing_for(settings: &TenantSettings) -> Vec<ConfigProblem> {
    let needed = settings.vendors_needed();
    let mut problems = Vec::new();
    if needed.cloudroom {
        problems.extend(settings.cloudroom.credentials().err());
    }
    if needed.aliyun {
        problems.extend(settings.aliyun.credentials().err());
    }
    problems
}
