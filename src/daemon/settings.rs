//! `[schedule]`, `[daemon]`, `[http]` and `[health]` configuration.

use std::net::SocketAddr;

use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds};
use croner::Cron;
use serde::{Deserialize, Serialize};

use crate::jobs::Job;

/// Cron expressions with a seconds field, or "off".
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSettings {
    pub timezone: String,
    pub conferences: String,
    pub history: String,
    pub recordings: String,
    pub details: String,
    pub reconcile: String,
    pub directory: String,
    pub attendance: String,
    pub archive: String,
}

impl Default for ScheduleSettings {
    /// Each job's own default schedule.
    fn default() -> Self {
        use crate::jobs::{
            Archive, Attendance, Conferences, Details, Directory, History, Job, Reconcile,
            Recordings,
        };
        ScheduleSettings {
            timezone: "Asia/Shanghai".into(),
            conferences: Conferences.default_schedule().into(),
            history: History.default_schedule().into(),
            recordings: Recordings.default_schedule().into(),
            details: Details.default_schedule().into(),
            reconcile: Reconcile.default_schedule().into(),
            directory: Directory.default_schedule().into(),
            attendance: Attendance.default_schedule().into(),
            archive: Archive.default_schedule().into(),
        }
    }
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

impl ScheduleSettings {
    /// The expression configured for `job` (`schedule.<job name>`); a job
    /// without a key of its own runs on its default schedule (a test keeps
    /// a key for every registered job).
    pub fn expression(&self, job: &dyn Job) -> &str {
        match job.name() {
            "conferences" => &self.conferences,
            "history" => &self.history,
            "recordings" => &self.recordings,
            "details" => &self.details,
            "reconcile" => &self.reconcile,
            "directory" => &self.directory,
            "attendance" => &self.attendance,
            "archive" => &self.archive,
            _ => job.default_schedule(),
        }
    }

    /// The configured zone; `validate` has vouched for it.
    pub fn tz(&self) -> Result<Tz, String> {
        self.timezone.parse::<Tz>().map_err(|_| {
            format!(
                "unknown time zone {:?} (use an IANA name such as Asia/Shanghai)",
                self.timezone
            )
        })
    }
}

/// `"off"` disables a job.
pub const OFF: &str = "off";

/// Parses a cron expression with a seconds field (six fields, or seven with
/// a year); `None` for `"off"`.
pub fn parse_cron(expression: &str) -> Result<Option<Cron>, String> {
    let expression = expression.trim();
    if expression.eq_ignore_ascii_case(OFF) {
        return Ok(None);
    }
    CronParser::builder()
        .seconds(Seconds::Required)
        .build()
        .parse(expression)
        .map(Some)
        .map_err(|e| {
            format!(
                "not a cron expression with a seconds field, e.g. \"0 */10 * * * *\", or \"off\": {expression:?}: {e}"
            )
        })
}

/// Adds a problem for every bad `schedule.*`, `http.*` or `health.*` value.
pub fn validate(
    schedule: &ScheduleSettings,
    http: &HttpSettings,
    health: &HealthSettings,
    problem: &mut dyn FnMut(&str, String),
) {
    if let Err(e) = schedule.tz() {
        problem("schedule.timezone", e);
    }
    for job in crate::jobs::JOBS {
        if let Err(e) = parse_cron(schedule.expression(job)) {
            problem(&format!("schedule.{}", job.name()), e);
        }
    }
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

    fn problems(schedule: &ScheduleSettings, http: &HttpSettings) -> Vec<(String, String)> {
        let mut found = Vec::new();
        validate(schedule, http, &HealthSettings::default(), &mut |k, m| {
            found.push((k.to_string(), m))
        });
        found
    }

    /// `[schedule]` has a key for every registered job, named after it.
    #[test]
    fn every_job_has_its_schedule_key() {
        let toml = toml::to_string(&ScheduleSettings::default()).unwrap();
        let table: toml::Table = toml.parse().unwrap();
        for job in crate::jobs::JOBS {
            let key = table.get(job.name()).and_then(|v| v.as_str());
            assert_eq!(key, Some(job.default_schedule()), "schedule.{}", job.name());
        }
        assert_eq!(table.len(), crate::jobs::JOBS.len() + 1, "{table:?}");
    }

    #[test]
    fn defaults_are_valid() {
        assert!(problems(&ScheduleSettings::default(), &HttpSettings::default()).is_empty());
    }

    #[test]
    fn bad_values_name_their_keys() {
        let schedule = ScheduleSettings {
            timezone: "Mars/Olympus".into(),
            history: "every hour".into(),
            recordings: "*/30 * * * *".into(),
            directory: "off".into(),
            ..ScheduleSettings::default()
        };
        let http = HttpSettings {
            listen: "localhost".into(),
        };
        let keys: Vec<String> = problems(&schedule, &http)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            keys,
            [
                "schedule.timezone",
                "schedule.history",
                "schedule.recordings",
                "http.listen"
            ]
        );
    }
}
