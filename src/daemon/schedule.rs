//! When a job fires: a cron expression read as wall-clock time in
//! `schedule.timezone`, right across daylight-saving changes.
//!
//! tokio-cron-scheduler computes every run after the first from the UTC
//! offset in force when the job was created, so a `0 0 9 * * *` job created
//! in winter fires at 10:00 all summer. Here each next time is computed
//! afresh from the zone's rules. croner matches the expression against
//! local wall-clock times (read as plain dates, where it has no DST to get
//! wrong), and this module maps each match to real instants:
//!
//! - a time in a spring-forward gap: a fixed-time job (single second,
//!   minute and hour, like `0 30 2 * * *`) runs when the gap ends, as cron
//!   does; an interval job (`0 */10 * * * *`) skips the times that do not
//!   exist;
//! - a time repeated by a fall-back: a fixed-time job runs once, at the
//!   first; an interval job runs at both, so "every 10 minutes" stays every
//!   10 minutes of real time.
//!
//! croner can also resolve zone times itself, but chaining its next-time
//! search from inside a repeated hour skips the second occurrence, which is
//! why the resolution lives here.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::{Cron, JobType};

/// More than any daylight-saving shift of any zone (the largest is 2 h).
const MAX_SHIFT: Duration = Duration::hours(3);

/// Bounds the search; an every-second job around a fall-back needs about 15,000.
const MAX_STEPS: usize = 50_000;

/// One job's schedule: a cron expression in a time zone.
#[derive(Debug, Clone)]
pub struct JobSchedule {
    cron: Cron,
    tz: Tz,
    fixed_time: bool,
}

impl JobSchedule {
    pub fn new(cron: Cron, tz: Tz) -> Self {
        let fixed_time = matches!(cron.determine_job_type(), JobType::FixedTime);
        JobSchedule {
            cron,
            tz,
            fixed_time,
        }
    }

    /// `None` for `"off"`.
    pub fn parse(expression: &str, tz: Tz) -> Result<Option<Self>, String> {
        Ok(crate::jobs::schedule::parse_cron(expression)?.map(|cron| JobSchedule::new(cron, tz)))
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// Equal for schedules that always tick together (same expression,
    /// same zone).
    pub fn key(&self) -> String {
        format!("{} {}", self.cron.as_str(), self.tz)
    }

    /// The first fire time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Wall-clock times up to one fall-back shift before `after`'s own can
        // still lie ahead of it, in the repeated hour.
        let shift_back = (self.offset_at(after) - self.offset_at(after + MAX_SHIFT)).max(0);
        let mut cursor = self.local(after) - Duration::seconds(i64::from(shift_back));
        let mut best: Option<DateTime<Utc>> = None;
        for _ in 0..MAX_STEPS {
            let wall = self.next_wall_time(cursor)?;
            let (instants, repeated) = self.instants(wall);
            for instant in instants.into_iter().flatten() {
                if instant > after && best.is_none_or(|b| instant < b) {
                    best = Some(instant);
                }
            }
            // Past a time that is not repeated, later wall-clock times only
            // map to later instants.
            if best.is_some() && !repeated {
                return best;
            }
            cursor = wall;
        }
        best
    }

    /// The next `count` fire times after `after`.
    pub fn upcoming(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        let mut times = Vec::with_capacity(count);
        let mut cursor = after;
        while times.len() < count {
            match self.next_after(cursor) {
                Some(next) => {
                    times.push(next);
                    cursor = next;
                }
                None => break,
            }
        }
        times
    }

    fn offset_at(&self, instant: DateTime<Utc>) -> i32 {
        self.tz
            .offset_from_utc_datetime(&instant.naive_utc())
            .fix()
            .local_minus_utc()
    }

    fn local(&self, instant: DateTime<Utc>) -> NaiveDateTime {
        instant.with_timezone(&self.tz).naive_local()
    }

    /// The next wall-clock time after `cursor` that the expression matches,
    /// found on plain dates (UTC stands in for "no zone").
    fn next_wall_time(&self, cursor: NaiveDateTime) -> Option<NaiveDateTime> {
        // croner keeps the fraction of a second it starts from.
        let cursor = cursor.with_nanosecond(0)?;
        self.cron
            .find_next_occurrence(&Utc.from_utc_datetime(&cursor), false)
            .ok()
            .map(|t| t.naive_utc())
    }

    /// The instants at which wall-clock time `wall` fires, and whether `wall`
    /// occurs twice (a fall-back).
    fn instants(&self, wall: NaiveDateTime) -> ([Option<DateTime<Utc>>; 2], bool) {
        let utc = |t: DateTime<Tz>| Some(t.with_timezone(&Utc));
        match self.tz.from_local_datetime(&wall) {
            LocalResult::Single(t) => ([utc(t), None], false),
            LocalResult::Ambiguous(first, _) if self.fixed_time => ([utc(first), None], true),
            LocalResult::Ambiguous(first, second) => ([utc(first), utc(second)], true),
            LocalResult::None if self.fixed_time => ([self.end_of_gap(wall), None], false),
            LocalResult::None => ([None, None], false),
        }
    }

    /// The first instant after the spring-forward gap that swallowed `wall`.
    /// Zones change offset on whole minutes, so minute steps find it.
    fn end_of_gap(&self, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
        let minute = wall.with_second(0)?.with_nanosecond(0)?;
        (1..=180).find_map(|m| {
            self.tz
                .from_local_datetime(&(minute + Duration::minutes(m)))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn every_second_steps_one_second() {
        let s = JobSchedule::parse("* * * * * *", chrono_tz::UTC)
            .unwrap()
            .unwrap();
        let t = at("2026-01-01T00:00:00.300Z");
        assert_eq!(s.next_after(t), Some(at("2026-01-01T00:00:01Z")));
        assert_eq!(
            s.next_after(at("2026-01-01T00:00:01Z")),
            Some(at("2026-01-01T00:00:02Z"))
        );
    }

    #[test]
    fn off_is_none() {
        assert!(JobSchedule::parse("off", chrono_tz::UTC).unwrap().is_none());
    }
}
