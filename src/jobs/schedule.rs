//! `[schedule]`: when each job of a tenant runs, as cron expressions with
//! a seconds field in the tenant's zone, or "off"; and the parser of such
//! an expression, which `config check` and the daemon share.

use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds};
use croner::Cron;
use serde::{Deserialize, Serialize};

use super::Job;

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
        use super::{
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

/// Adds a problem for every bad `schedule.*` value.
pub fn validate(schedule: &ScheduleSettings, problem: &mut dyn FnMut(&str, String)) {
    if let Err(e) = schedule.tz() {
        problem("schedule.timezone", e);
    }
    for job in super::JOBS {
        if let Err(e) = parse_cron(schedule.expression(job)) {
            problem(&format!("schedule.{}", job.name()), e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(schedule: &ScheduleSettings) -> Vec<String> {
        let mut found = Vec::new();
        validate(schedule, &mut |k, _| found.push(k.to_string()));
        found
    }

    /// `[schedule]` has a key for every registered job, named after it.
    #[test]
    fn every_job_has_its_schedule_key() {
        let toml = toml::to_string(&ScheduleSettings::default()).unwrap();
        let table: toml::Table = toml.parse().unwrap();
        for job in super::super::JOBS {
            let key = table.get(job.name()).and_then(|v| v.as_str());
            assert_eq!(key, Some(job.default_schedule()), "schedule.{}", job.name());
        }
        assert_eq!(table.len(), super::super::JOBS.len() + 1, "{table:?}");
    }

    #[test]
    fn defaults_are_valid() {
        assert!(problems(&ScheduleSettings::default()).is_empty());
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
        assert_eq!(
            problems(&schedule),
            [
                "schedule.timezone",
                "schedule.history",
                "schedule.recordings"
            ]
        );
    }
}
