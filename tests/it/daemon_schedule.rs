//! Wall-clock schedules across daylight-saving changes (Europe/Berlin:
//! clocks go forward at 02:00 on 2026-03-29 and back at 03:00 on 2026-10-25).

use chrono::{DateTime, Utc};
use confsync::daemon::schedule::JobSchedule;

fn schedule(expression: &str) -> JobSchedule {
    JobSchedule::parse(expression, chrono_tz::Europe::Berlin)
        .unwrap()
        .unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn upcoming(expression: &str, after: &str, count: usize) -> Vec<String> {
    schedule(expression)
        .upcoming(at(after), count)
        .into_iter()
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .collect()
}

#[test]
fn nine_oclock_stays_nine_oclock_local_across_both_changes() {
    // 08:00 UTC in winter (CET, +1), 07:00 UTC in summer (CEST, +2).
    assert_eq!(
        upcoming("0 0 9 * * *", "2026-03-27T12:00:00Z", 4),
        [
            "2026-03-28T08:00:00Z",
            "2026-03-29T07:00:00Z",
            "2026-03-30T07:00:00Z",
            "2026-03-31T07:00:00Z"
        ]
    );
    assert_eq!(
        upcoming("0 0 9 * * *", "2026-10-23T12:00:00Z", 4),
        [
            "2026-10-24T07:00:00Z",
            "2026-10-25T08:00:00Z",
            "2026-10-26T08:00:00Z",
            "2026-10-27T08:00:00Z"
        ]
    );
}

#[test]
fn a_time_in_the_spring_gap_runs_when_the_gap_ends_and_a_repeated_time_runs_once() {
    // 02:30 does not exist on 2026-03-29: the job runs at 03:00 CEST.
    assert_eq!(
        upcoming("0 30 2 * * *", "2026-03-27T12:00:00Z", 3),
        [
            "2026-03-28T01:30:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-30T00:30:00Z"
        ]
    );
    // 02:30 happens twice on 2026-10-25: the job runs at the first.
    assert_eq!(
        upcoming("0 30 2 * * *", "2026-10-23T12:00:00Z", 3),
        [
            "2026-10-24T00:30:00Z",
            "2026-10-25T00:30:00Z",
            "2026-10-26T01:30:00Z"
        ]
    );
}

#[test]
fn interval_jobs_keep_their_real_interval() {
    // Hourly: the hour that does not exist is skipped, the repeated one runs
    // twice, so it fires every real hour.
    assert_eq!(
        upcoming("0 0 * * * *", "2026-03-28T23:30:00Z", 3),
        [
            "2026-03-29T00:00:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-29T02:00:00Z"
        ]
    );
    assert_eq!(
        upcoming("0 0 * * * *", "2026-10-24T22:30:00Z", 5),
        [
            "2026-10-24T23:00:00Z",
            "2026-10-25T00:00:00Z",
            "2026-10-25T01:00:00Z",
            "2026-10-25T02:00:00Z",
            "2026-10-25T03:00:00Z"
        ]
    );
    // Every 30 minutes, resumed from inside the repeated hour.
    assert_eq!(
        upcoming("0 */30 * * * *", "2026-10-25T00:40:00Z", 4),
        [
            "2026-10-25T01:00:00Z",
            "2026-10-25T01:30:00Z",
            "2026-10-25T02:00:00Z",
            "2026-10-25T02:30:00Z"
        ]
    );
    // From the second 02:10 (CET), the next is the second 02:20, not the first.
    assert_eq!(
        upcoming("0 */10 * * * *", "2026-10-25T01:10:00Z", 1),
        ["2026-10-25T01:20:00Z"]
    );
}

#[test]
fn weekly_reconcile_follows_local_time() {
    // Sunday 03:00 in Shanghai (no DST) is Saturday 19:00 UTC.
    let s = JobSchedule::parse("0 0 3 * * Sun", chrono_tz::Asia::Shanghai)
        .unwrap()
        .unwrap();
    assert_eq!(
        s.next_after(at("2026-03-25T00:00:00Z")),
        Some(at("2026-03-28T19:00:00Z"))
    );
}
