//! Conference details: read for new or changed conferences only, once for
//! the meeting history, 22201 as "not available", passwords left out.

use crate::common;

use confsync::cloudroom::{CloudRoomClient, UpdateConference};
use confsync::jobs::{self, JobContext, RunOptions};
use confsync_sim::{RunningSimulator, SimConfig};

fn detail_calls(sim: &RunningSimulator) -> u64 {
    sim.state
        .requests("cloudroom", Some("conference.get"), None)
}

async fn run(ctx: &JobContext, job: &dyn jobs::Job) {
    let summary = common::run_job(ctx, job, &RunOptions::default())
        .await
        .unwrap();
    assert!(summary.error.is_none(), "{summary}");
}

async fn count(db: &common::TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_detail_is_read_only_when_its_conference_changed() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let ctx = common::mirror_context(&sim, &db);
    run(&ctx, &jobs::Conferences).await;
    let listed = count(&db, "select count(*) from cloudroom.conferences").await;
    run(&ctx, &jobs::Details).await;
    assert_eq!(detail_calls(&sim) as i64, listed);
    assert_eq!(
        count(&db, "select count(*) from cloudroom.conference_details where available and host_id is not null").await,
        listed
    );
    assert!(count(&db, "select count(*) from cloudroom.conference_invitees").await > 0);
    // Passwords stay out unless cloudroom.keep_meeting_passwords is on.
    assert_eq!(
        count(&db, "select count(*) from cloudroom.conference_details where password is not null or pstn_password is not null or raw ? 'password' or raw ? 'pstnPwd'").await,
        0
    );

    // Nothing changed: no call.
    run(&ctx, &jobs::Conferences).await;
    run(&ctx, &jobs::Details).await;
    assert_eq!(detail_calls(&sim) as i64, listed);

    // One conference changes: one call, for it.
    let conf_id: i64 = sqlx::query_scalar(
        "select conf_id from cloudroom.conferences where status = 0 order by conf_id limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let settings = common::settings_for(&sim, &db);
    let client = CloudRoomClient::new(&settings.cloudroom).unwrap();
    let change = UpdateConference {
        subject: Some("季度复盘".into()),
        ..UpdateConference::default()
    };
    client.update_conference(conf_id, &change).await.unwrap();
    run(&ctx, &jobs::Conferences).await;
    run(&ctx, &jobs::Details).await;
    assert_eq!(detail_calls(&sim) as i64, listed + 1);
    let subject: String =
        sqlx::query_scalar("select subject from cloudroom.conference_details where conf_id = $1")
            .bind(conf_id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(subject, "季度复盘");
}

#[tokio::test]
async fn history_details_are_read_once_and_22201_counts_as_not_available() {
    for not_found in [false, true] {
        let sim = common::simulator(SimConfig {
            ended_detail_not_found: not_found,
            ..common::small_sim()
        })
        .await;
        let db = common::migrated_db().await;
        let ctx = common::mirror_context(&sim, &db);
        run(&ctx, &jobs::History).await;
        let ended = count(
            &db,
            "select count(distinct conf_id) from cloudroom.meeting_history",
        )
        .await;
        run(&ctx, &jobs::Details).await;
        assert_eq!(detail_calls(&sim) as i64, ended, "not_found = {not_found}");
        let available = count(
            &db,
            "select count(*) from cloudroom.conference_details where available",
        )
        .await;
        let unavailable = count(
            &db,
            "select count(*) from cloudroom.conference_details where not available",
        )
        .await;
        match not_found {
            false => assert_eq!((available, unavailable), (ended, 0)),
            true => assert_eq!((available, unavailable), (0, ended)),
        }
        // Once: the second run asks nothing.
        run(&ctx, &jobs::Details).await;
        assert_eq!(detail_calls(&sim) as i64, ended, "not_found = {not_found}");
    }
}

#[tokio::test]
async fn meeting_passwords_are_kept_only_when_asked_for() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let mut ctx = common::mirror_context(&sim, &db);
    common::reconfigure(&mut ctx, |cr| cr.keep_meeting_passwords = true);
    run(&ctx, &jobs::Conferences).await;
    run(&ctx, &jobs::Details).await;
    let listed = count(&db, "select count(*) from cloudroom.conferences").await;
    assert_eq!(
        count(&db, "select count(*) from cloudroom.conference_details where password <> '' and pstn_password is not null and raw ? 'password'").await,
        listed
    );
}
