//! Aliyun attendance: ListMembers until nobody is online, then once more;
//! meetings registered by table, file and query.

use crate::common;
use crate::common::directory as dh;

use confsync::jobs::{self, JobContext, RunOptions};
use confsync_sim::aliyun::{SimMeeting, SimMember, TABLE_MEETING_UUID};
use confsync_sim::RunningSimulator;
use serde_json::json;

const T0: i64 = 1_767_258_000_000; // 2026-01-01T09:00:00Z
const MINUTE: i64 = 60_000;

fn list_members_calls(sim: &RunningSimulator) -> u64 {
    sim.state.requests("aliyun", Some("ListMembers"), None)
}

async fn run(ctx: &JobContext) -> jobs::JobSummary {
    let summary = common::run_job(ctx, &jobs::Attendance, &RunOptions::default())
        .await
        .unwrap();
    assert!(summary.error.is_none(), "{summary}");
    summary
}

fn member(uuid: &str, user: &str, begin: i64, end: Option<i64>) -> SimMember {
    SimMember {
        member_uuid: uuid.into(),
        user_id: user.into(),
        user_name: format!("name of {user}"),
        status: if end.is_some() { "offline" } else { "online" }.into(),
        begin_ms: begin,
        end_ms: end,
    }
}

fn meeting(members: Vec<SimMember>) -> SimMeeting {
    SimMeeting {
        uuid: "weekly-1".into(),
        name: "周例会".into(),
        code: "00420042".into(),
        creator: members[0].user_id.clone(),
        memo: String::new(),
        create_date_ms: T0 - 10 * MINUTE,
        members,
        example_style: false,
    }
}

/// The simulator's meeting, as a booking system would change it: through
/// the admin route.
async fn put(sim: &RunningSimulator, m: SimMeeting) {
    common::admin(
        sim,
        reqwest::Method::POST,
        "/aliyun/meetings",
        Some(serde_json::to_value(m).unwrap()),
    )
    .await;
}

#[tokio::test]
async fn a_member_who_joins_leaves_and_rejoins_has_two_rows_and_reading_stops_after_the_end() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let (_dir, source) = dh::write_source("hr.csv", dh::sample_text().as_bytes());
    let settings = dh::settings(&sim, &db, &source);
    assert!(!dh::apply(&settings, &db).await.failed());
    // Two people the directory pushed (CVC userId = employee_id), in a department.
    let users: Vec<String> = confsync_sim::lock(&sim.state.aliyun)
        .users
        .values()
        .filter(|u| u.depart_id.is_some())
        .take(2)
        .map(|u| u.user_id.clone())
        .collect();
    let (a, b) = (users[0].as_str(), users[1].as_str());
    let ctx = common::job_context(settings, &db);
    // Registered as a booking system would: a row in aliyun.meetings.
    sqlx::query("insert into aliyun.meetings (meeting_uuid) values ('weekly-1')")
        .execute(&db.pool)
        .await
        .unwrap();

    put(
        &sim,
        meeting(vec![
            member("a-1", a, T0, None),
            member("b-1", b, T0 + MINUTE, None),
        ]),
    )
    .await;
    run(&ctx).await;
    // A leaves after 10 minutes and comes back 5 minutes later.
    let left = vec![
        member("a-1", a, T0, Some(T0 + 10 * MINUTE)),
        member("b-1", b, T0 + MINUTE, None),
        member("a-2", a, T0 + 15 * MINUTE, None),
    ];
    put(&sim, meeting(left)).await;
    run(&ctx).await;
    // Everybody has left: read once more, then no more.
    let ended = vec![
        member("a-1", a, T0, Some(T0 + 10 * MINUTE)),
        member("b-1", b, T0 + MINUTE, Some(T0 + 31 * MINUTE)),
        member("a-2", a, T0 + 15 * MINUTE, Some(T0 + 30 * MINUTE)),
    ];
    put(&sim, meeting(ended)).await;
    run(&ctx).await;
    let finished: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
        "select finished_at from aliyun.meetings where meeting_uuid = 'weekly-1'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(finished.is_none(), "one more read after nobody is online");
    run(&ctx).await;
    assert_eq!(list_members_calls(&sim), 4);
    run(&ctx).await;
    assert_eq!(
        list_members_calls(&sim),
        4,
        "a finished meeting is not read again"
    );

    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "select member_uuid, user_id, status,
                extract(epoch from end_time - begin_time)::bigint / 60
           from aliyun.meeting_members order by member_uuid",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let expected = [("a-1", a, 10), ("a-2", a, 15), ("b-1", b, 30)];
    assert_eq!(rows.len(), 3);
    for ((uuid, user, status, minutes), (e_uuid, e_user, e_minutes)) in rows.iter().zip(expected) {
        assert_eq!(
            (uuid.as_str(), user.as_str(), status.as_str(), *minutes),
            (e_uuid, e_user, "offline", e_minutes)
        );
    }
    // The report joins the directory: A's name and department come from HR.
    let (joins, minutes, name, department): (i64, f64, Option<String>, Option<String>) =
        sqlx::query_as(
            "select joins, minutes::float8, name, department from report.attendance_per_person where user_id = $1",
        )
        .bind(a)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!((joins, minutes), (2, 25.0));
    assert!(name.is_some_and(|n| !n.starts_with("name of")));
    assert!(department.is_some_and(|d| !d.is_empty()));
}

#[tokio::test]
async fn meetings_come_from_a_file_and_from_a_query() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let (_dir, file) = dh::write_source(
        "meetings.txt",
        b"# from the booking system\nm-1\nm-2\n\nm-1\n",
    );
    let env = dh::child_env(&sim, &db, &file);
    for expected in [
        json!({"added": 2, "already_registered": 0, "tenant": "default"}),
        json!({"added": 0, "already_registered": 2, "tenant": "default"}),
    ] {
        let out = dh::confsync_child(&env)
            .args([
                "aliyun",
                "meetings",
                "add",
                &file.display().to_string(),
                "--json",
            ])
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got, expected);
    }
    // A bad line is named, and nothing is registered from the file.
    let (_bad_dir, bad) = dh::write_source("bad.txt", b"m-3\nm-4 m-5\n");
    let out = dh::confsync_child(&env)
        .args(["aliyun", "meetings", "add", &bad.display().to_string()])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.txt line 2"));

    sqlx::query("create table booking (meeting_uuid text)")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("insert into booking values ($1)")
        .bind(TABLE_MEETING_UUID)
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("delete from aliyun.meetings")
        .execute(&db.pool)
        .await
        .unwrap();
    let mut settings = common::settings_for(&sim, &db);
    settings.aliyun.meetings_source = Some("postgres: select meeting_uuid from booking".into());
    let ctx = common::job_context(settings, &db);
    run(&ctx).await;
    let (source, members): (String, i64) = sqlx::query_as(
        "select m.source, (select count(*) from aliyun.meeting_members j where j.meeting_uuid = m.meeting_uuid)
           from aliyun.meetings m where m.meeting_uuid = $1",
    )
    .bind(TABLE_MEETING_UUID)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    // The simulator's meeting where one member joined twice.
    assert_eq!((source.as_str(), members), ("query", 4));
}

#[tokio::test]
async fn no_call_while_no_meeting_is_due_even_without_aliyun_keys() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let mut settings = common::settings_for(&sim, &db);
    settings.aliyun.access_key_id = None;
    let ctx = common::job_context(settings, &db);
    run(&ctx).await;
    assert_eq!(sim.state.requests("aliyun", None, None), 0);
    // Once a meeting is registered, the missing keys are named.
    sqlx::query("insert into aliyun.meetings (meeting_uuid) values ('m-1')")
        .execute(&db.pool)
        .await
        .unwrap();
    let summary = common::run_job(&ctx, &jobs::Attendance, &RunOptions::default())
        .await
        .unwrap();
    let error = summary.error.unwrap_or_default();
    assert!(error.contains("aliyun.access_key_id"), "{error}");
}
