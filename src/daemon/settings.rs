//! `[daemon]`, `[http]` and `[health]` configuration (`[schedule]` is the
//! jobs', in `jobs::schedule`).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// What the daemon reads of the process's configuration.
#[derive(Debug, Clone, Default)]
pub struct DaemonConfig {
    pub daemon: DaemonSettings,
    pub http: HttpSettings,
    pub health: HealthSettings,
}

/// How a daemon shares the work with the others on its database.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonSettings {
    /// Runs this process carries at once, over every tenant; a tick beyond
    /// it waits, and another daemon with room claims it first.
    pub max_concurrent_runs: usize,
    /// Runs of long jobs (the archive's transfers) this process carries at
    /// once, in slots of their own beside `max_concurrent_runs`.
    pub max_concurrent_long_runs: usize,
    /// A run's lease: a run whose heartbeat is older than this is taken over
    /// by another daemon (its heartbeat beats every third of it).
    pub lease_seconds: u64,
}

impl Default for DaemonSettings {
    fn default() -> Self {
        DaemonSettings {
            max_concurrent_runs: 4,
            max_concurrent_long_runs: 1,
            lease_seconds: 30,
        }
    }
}

impl DaemonSettings {
    pub fn lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.lease_seconds)
    }

    pub fn validate(&self, max_connections: u32, problem: &mut dyn FnMut(&str, String)) {
        let all = self.max_concurrent_runs + self.max_concurrent_long_runs;
        if self.max_concurrent_runs == 0 {
            problem("daemon.max_concurrent_runs", "must be at least 1".into());
        } else if self.max_concurrent_long_runs == 0 {
            problem(
                "daemon.max_concurrent_long_runs",
                "must be at least 1".into(),
            );
        } else if all >= max_connections as usize {
            problem(
                "daemon.max_concurrent_runs",
                format!("with daemon.max_concurrent_long_runs ({all} in all) must be below database.max_connections ({max_connections}): each run holds one connection for its job lock and needs others for its work"),
            );
        }
        if self.lease_seconds < 3 {
            problem("daemon.lease_seconds", "must be at least 3".into());
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Address of the probes and /metrics. Not in 9100-9999, which
    /// Prometheus has handed out to exporters (9187 is postgres_exporter's).
    pub listen: String,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            listen: "127.0.0.1:8971".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSettings {
    /// /healthz answers 503 once a job has failed this many times in a row.
    pub max_consecutive_failures: u32,
    /// A run is stuck once it has run longer than this and than 4 times
    /// the longest of its job's last 20 successful runs; /healthz then
    /// answers 503 naming it.
    pub stuck_run_after_seconds: u64,
}

impl Default for HealthSettings {
    fn default() -> Self {
        HealthSettings {
            max_consecutive_failures: 3,
            stuck_run_after_seconds: 3600,
        }
    }
}

/// Adds a problem for every bad `http.*` or `health.*` value.
pub fn validate(
    http: &HttpSettings,
    health: &HealthSettings,
    problem: &mut dyn FnMut(&str, String),
) {
    if let Err(e) = http.listen.parse::<SocketAddr>() {
        problem(
            "http.listen",
            format!("not an address such as 127.0.0.1:8971: {e}"),
        );
    }
    if health.max_consecutive_failures == 0 {
        problem(
            "health.max_consecutive_failures",
            "must be at least 1".into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_their_keys() {
        let http = HttpSettings {
            listen: "localhost".into(),
        };
        let health = HealthSettings {
            max_consecutive_failures: 0,
            ..HealthSettings::default()
        };
        let mut keys = Vec::new();
        validate(&http, &health, &mut |k, _| keys.push(k.to_string()));
        assert_eq!(keys, ["http.listen", "health.max_consecutive_failures"]);
    }
}
