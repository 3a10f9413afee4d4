//! Client-side request budgets, one per (credential, endpoint), shared by
//! every caller in the process: CloudRoom counts requests per secretId, so
//! two clients built from the same secretId must draw from one budget.
//!
//! The document states a limit for two endpoints only (the conference and
//! history lists, 300/min each); every other endpoint is unpaced until the
//! server answers 429, and then runs on a budget learned from that answer
//! (see [`budget`]).

pub mod budget;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

pub use budget::{Answer, Budget, Change, Limit, Permit};

/// Every endpoint's budget for one credential.
pub struct EndpointBudgets {
    /// Endpoint label → configured requests per minute (0: none).
    configured: BTreeMap<String, u32>,
    budgets: Mutex<HashMap<&'static str, Arc<Budget>>>,
}

impl EndpointBudgets {
    pub fn new(configured: BTreeMap<String, u32>) -> Self {
        EndpointBudgets {
            configured,
            budgets: Mutex::default(),
        }
    }

    /// The budget of `endpoint` (a label such as `conference.list`).
    pub fn get(&self, endpoint: &'static str) -> Arc<Budget> {
        lock(&self.budgets)
            .entry(endpoint)
            .or_insert_with(|| {
                let per_minute = self.configured.get(endpoint).copied().unwrap_or(0);
                Arc::new(Budget::new(per_minute))
            })
            .clone()
    }

    /// Endpoint label → configured requests per minute (0: none).
    pub fn configured_budgets(&self) -> &BTreeMap<String, u32> {
        &self.configured
    }

    /// Budgets that a 429 made differ from the configuration, by endpoint.
    pub fn learned(&self) -> BTreeMap<&'static str, Limit> {
        lock(&self.budgets)
            .iter()
            .filter_map(|(endpoint, budget)| budget.learned().map(|l| (*endpoint, l)))
            .collect()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

type Registry = Mutex<HashMap<(String, BTreeMap<String, u32>), Arc<EndpointBudgets>>>;

/// The process-wide budgets of credential `key` under `configured` limits.
pub fn shared(key: &str, configured: &BTreeMap<String, u32>) -> Arc<EndpointBudgets> {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    let registry = REGISTRY.get_or_init(Default::default);
    lock(registry)
        .entry((key.to_string(), configured.clone()))
        .or_insert_with(|| Arc::new(EndpointBudgets::new(configured.clone())))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_shares_one_set_of_budgets() {
        let limits = BTreeMap::from([("conference.list".to_string(), 300)]);
        let a = shared("id-a", &limits);
        let b = shared("id-a", &limits);
        let c = shared("id-b", &limits);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(Arc::ptr_eq(
            &a.get("conference.list"),
            &b.get("conference.list")
        ));
        assert_eq!(
            a.get("conference.list").limit().map(|l| l.per_minute),
            Some(300)
        );
        assert_eq!(a.get("video.list").limit(), None);
    }
}
