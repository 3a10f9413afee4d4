//! The report views against hand-computed fixtures.

use crate::common;

use confsync::jobs::{self, RunOptions};
use sqlx::PgPool;

/// A meeting of `tenant` starting at `start` (RFC 3339), `minutes` long.
async fn meeting(pool: &PgPool, tenant: &str, conf_id: i64, start: &str, minutes: i64) {
    sqlx::query(
        "insert into cloudroom.meeting_history
            (tenant, conf_id, start_time, end_time, duration_seconds, members, content_hash, raw)
         values ($1, $2, $3::timestamptz, $3::timestamptz + make_interval(mins => $4::int), $4 * 60, 3, '\\x00', '{}')",
    )
    .bind(tenant)
    .bind(conf_id)
    .bind(start)
    .bind(minutes)
    .execute(pool)
    .await
    .unwrap();
}

async fn rows(pool: &PgPool, sql: &str) -> Vec<(String, String, i64, i64)> {
    sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn days_weeks_and_months_are_counted_in_the_tenants_time_zone() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    // Any mirror pass records its tenant's zone (cloudroom.timezone,
    // Asia/Shanghai by default).
    let ctx = common::mirror_context(&sim, &db);
    let summary = common::run_job(&ctx, &jobs::Conferences, &RunOptions::default())
        .await
        .unwrap();
    assert!(summary.error.is_none(), "{summary}");
    confsync::store::tenants::record_timezone(&db.pool, "london", "Europe/London")
        .await
        .unwrap();
    for tenant in ["default", "london"] {
        // 07:30 on Monday 2026-03-02 in Beijing, Sunday 23:30 in UTC.
        meeting(&db.pool, tenant, 1, "2026-03-01T23:30:00Z", 30).await;
        // 23:00 on Sunday 2026-03-01 in Beijing.
        meeting(&db.pool, tenant, 2, "2026-03-01T15:00:00Z", 60).await;
        // 00:30 on Saturday 2026-02-28 in Beijing, still February in London.
        meeting(&db.pool, tenant, 3, "2026-02-27T16:30:00Z", 15).await;
    }
    let days = rows(
        &db.pool,
        "select tenant, day::text, meetings, minutes from report.meetings_per_day order by tenant, day",
    )
    .await;
    let expected = |rows: &[(&str, &str, i64, i64)]| -> Vec<(String, String, i64, i64)> {
        rows.iter()
            .map(|(t, d, n, m)| (t.to_string(), d.to_string(), *n, *m))
            .collect()
    };
    assert_eq!(
        days,
        expected(&[
            ("default", "2026-02-28", 1, 15),
            ("default", "2026-03-01", 1, 60),
            ("default", "2026-03-02", 1, 30),
            ("london", "2026-02-27", 1, 15),
            ("london", "2026-03-01", 2, 90),
        ])
    );
    let weeks = rows(
        &db.pool,
        "select tenant, week::text, meetings, minutes from report.meetings_per_week order by tenant, week",
    )
    .await;
    assert_eq!(
        weeks,
        expected(&[
            ("default", "2026-02-23", 2, 75),
            ("default", "2026-03-02", 1, 30),
            ("london", "2026-02-23", 3, 105),
        ])
    );
    let months = rows(
        &db.pool,
        "select tenant, month::text, meetings, minutes from report.meetings_per_month order by tenant, month",
    )
    .await;
    assert_eq!(
        months,
        expected(&[
            ("default", "2026-02-01", 1, 15),
            ("default", "2026-03-01", 2, 90),
            ("london", "2026-02-01", 1, 15),
            ("london", "2026-03-01", 2, 90),
        ])
    );
    let zone: String =
        sqlx::query_scalar("select timezone from confsync.tenants where tenant = 'default'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(zone, "Asia/Shanghai");
}

/// The directory, attendance and conference fixture of the views below:
/// two departments, three people (one outside the directory), two Aliyun
/// meetings, one CloudRoom conference held twice.
async fn cross_fixture(pool: &PgPool) {
    for sql in [
        "insert into directory.departments (key, cloudroom_id, name, path, content_hash) values
            ('D1', 1, '研发中心', '研发中心', '\\x00'), ('D2', 2, '销售部', '销售部', '\\x00')",
        "insert into directory.users (employee_id, account, cloudroom_fields) values
            ('E1', 'e1', '{\"name\": \"张三\", \"department\": \"D1\"}'),
            ('E2', 'e2', '{\"name\": \"李四\", \"department\": \"D1\"}'),
            ('E3', 'e3', '{\"name\": \"王五\", \"department\": \"D2\"}')",
        "insert into aliyun.meetings (meeting_uuid, meeting_name) values ('m1', '周会'), ('m2', '月会')",
        // m1 (March, Beijing): E1 joins twice (10 + 20 min), E2 30 min, a guest 5 min.
        // m2 (April 1st 07:00 in Beijing, still March 31st in UTC): E1 60 min, E3 45 min.
        "insert into aliyun.meeting_members (meeting_uuid, member_uuid, user_id, user_name, status, begin_time, end_time) values
            ('m1', 'a', 'E1', 'x', 'offline', '2026-03-02 01:00Z', '2026-03-02 01:10Z'),
            ('m1', 'b', 'E1', 'x', 'offline', '2026-03-02 01:15Z', '2026-03-02 01:35Z'),
            ('m1', 'c', 'E2', 'x', 'offline', '2026-03-02 01:00Z', '2026-03-02 01:30Z'),
            ('m1', 'd', 'guest', '访客', 'offline', '2026-03-02 01:00Z', '2026-03-02 01:05Z'),
            ('m2', 'e', 'E1', 'x', 'offline', '2026-03-31 23:00Z', '2026-04-01 00:00Z'),
            ('m2', 'f', 'E3', 'x', 'offline', '2026-03-31 23:00Z', '2026-03-31 23:45Z')",
        "insert into cloudroom.conference_details (conf_id, available, subject, host_name) values
            (7, true, '周例会', '张三'), (8, true, '无人会议', '李四'), (9, false, null, null)",
        "insert into cloudroom.conference_invitees (conf_id, invitee_id, invitee_name) values
            (7, 1, 'a'), (7, 2, 'b'), (7, 3, 'c'), (8, 1, 'a')",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(pool).await.unwrap();
    }
    meeting(pool, "default", 7, "2026-03-02T01:00:00Z", 30).await;
    meeting(pool, "default", 7, "2026-03-09T01:00:00Z", 40).await;
}

/// user_id, name, department, meetings, joins, minutes.
type PersonRow = (String, Option<String>, Option<String>, i64, i64, f64);

#[tokio::test]
async fn attendance_minutes_and_invitations_match_a_hand_computed_fixture() {
    let db = common::migrated_db().await;
    cross_fixture(&db.pool).await;
    let people: Vec<PersonRow> = sqlx::query_as(
        "select user_id, name, department, meetings, joins, minutes::float8
           from report.attendance_per_person order by user_id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let person = |id: &str, name: &str, dept: Option<&str>, m: i64, j: i64, min: f64| {
        (
            id.to_string(),
            Some(name.to_string()),
            dept.map(str::to_string),
            m,
            j,
            min,
        )
    };
    assert_eq!(
        people,
        [
            person("E1", "张三", Some("研发中心"), 2, 3, 90.0),
            person("E2", "李四", Some("研发中心"), 1, 1, 30.0),
            person("E3", "王五", Some("销售部"), 1, 1, 45.0),
            person("guest", "访客", None, 1, 1, 5.0),
        ]
    );
    let departments: Vec<(Option<String>, i64, i64, i64, f64)> = sqlx::query_as(
        "select department, people, meetings, joins, minutes::float8
           from report.attendance_per_department order by department nulls last",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        departments,
        [
            (Some("研发中心".to_string()), 2, 2, 4, 120.0),
            (Some("销售部".to_string()), 1, 1, 1, 45.0),
            (None, 1, 1, 1, 5.0),
        ]
    );
    // Months in Asia/Shanghai (no confsync.tenants row: the default zone).
    let minutes: Vec<(Option<String>, String, f64)> = sqlx::query_as(
        "select department, month::text, minutes::float8
           from report.meeting_minutes_per_department order by department nulls last, month",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let row = |d: Option<&str>, m: &str, min: f64| (d.map(str::to_string), m.to_string(), min);
    assert_eq!(
        minutes,
        [
            row(Some("研发中心"), "2026-03-01", 60.0),
            row(Some("研发中心"), "2026-04-01", 60.0),
            row(Some("销售部"), "2026-04-01", 45.0),
            row(None, "2026-03-01", 5.0),
        ]
    );
    let invited: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "select conf_id, invited, held, participants from report.conference_invited_vs_held order by conf_id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(invited, [(7, 3, 2, 6), (8, 1, 0, 0)]);
}
