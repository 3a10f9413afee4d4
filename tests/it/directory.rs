//! The directory push against the simulator and a real PostgreSQL.

use crate::common;
use crate::common::directory as directory_helpers;

use confsync::directory::{self, ApplyOptions, DirectoryError};
use confsync_sim::lock;
use directory_helpers as dh;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn first_push_of_the_sample_then_a_second_apply_makes_no_call() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let settings = dh::settings(&sim, &db, &dh::sample_path());

    let first = dh::apply(&settings, &db).await;
    assert!(!first.failed(), "{first}");
    assert!(first.problems.is_empty(), "{first}");
    let active = dh::sample_active();
    let cr = first.outcomes["cloudroom_users"];
    assert_eq!(cr.created, active, "{first}");
    assert_eq!(first.outcomes["aliyun_users"].created, active);

    let (users, aliyun, departments) = dh::world_view(&sim);
    assert_eq!(users.len(), active);
    assert_eq!(aliyun.len(), active);
    // 3 top-level centres, 7 groups and regions, 9 teams and offices.
    assert_eq!(departments.len(), 19, "{departments:#?}");
    assert!(departments.contains(&"公司 > 研发中心 > 后端组 > 支付小组".to_string()));
    // A person in a third-level department sits there with their HR role.
    let (_, gao) = users
        .iter()
        .find(|(a, _)| *a == "gao.jie")
        .expect("gao.jie pushed");
    assert!(
        gao.ends_with("|2|公司 > 研发中心 > 前端组 > Web小组"),
        "{gao}"
    );
    // Leavers are never created.
    assert!(
        !users.keys().any(|a| a == "gao.jianhua"),
        "inactive rows are not pushed"
    );
    // Aliyun gets the department key (HR department_id when given) and name.
    let aliyun_gao = &aliyun["E10003"];
    assert!(
        aliyun_gao.contains("Some(\"D1210\")|Some(\"Web小组\")"),
        "{aliyun_gao}"
    );
    assert!(aliyun_gao.contains("|88|示例公司|"), "{aliyun_gao}");

    assert_eq!(
        dh::count(&db, "select count(*) from directory.users").await,
        active as i64
    );
    assert_eq!(
        dh::count(&db, "select count(*) from directory.departments").await,
        19
    );
    let audit = dh::count(
        &db,
        "select count(*) from directory.changes where outcome = 'ok'",
    )
    .await;
    assert_eq!(audit, (19 + 2 * active) as i64);
    let with_request_id = dh::count(
        &db,
        "select count(*) from directory.changes where target = 'aliyun' and request_id is not null",
    )
    .await;
    assert_eq!(with_request_id, active as i64);
    // CloudRoom mutations carry the X-CR-RequestId the client sent.
    let cloudroom_with_id = dh::count(
        &db,
        "select count(*) from directory.changes where target = 'cloudroom' and request_id ~ '^[0-9a-f-]{36}$'",
    )
    .await;
    assert_eq!(cloudroom_with_id, (19 + active) as i64);

    let before = dh::total_requests(&sim);
    let second = dh::apply(&settings, &db).await;
    assert!(!second.failed(), "{second}");
    assert_eq!(second.api_calls, 0, "{second}");
    assert_eq!(
        dh::total_requests(&sim),
        before,
        "a no-change apply makes no request"
    );
    let runs = dh::count(
        &db,
        "select count(*) from confsync.sync_runs where job = 'directory' and status = 'succeeded'",
    )
    .await;
    assert_eq!(runs, 2);
}

#[tokio::test]
async fn one_changed_person_gives_one_put_and_one_createuser_with_count_one() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let (_dir, path) = dh::write_source("hr.csv", dh::sample_text().as_bytes());
    let settings = dh::settings(&sim, &db, &path);
    assert!(!dh::apply(&settings, &db).await.failed());

    let text = dh::sample_text().replace(
        "E10003,gao.jie,高杰,gao.jie@example.com,13757228464",
        "E10003,gao.jie,高杰,gao.jie@example.com,13900000000",
    );
    assert_ne!(text, dh::sample_text());
    dh::rewrite(&path, &text);

    let plan = directory::prepare(settings.top_tenant().directory_config(), &db.pool, false)
        .await
        .expect("plan");
    let shown = plan.report().to_string();
    assert!(
        shown.contains("~ update E10003 (gao.jie) (mobile: 13757228464 -> 13900000000)"),
        "{shown}"
    );
    assert!(
        shown.contains("(userMobile: 13757228464 -> 13900000000)"),
        "{shown}"
    );

    let before = dh::requests(&sim);
    let log_before = lock(&sim.state.aliyun).log.len();
    let summary = dh::apply(&settings, &db).await;
    assert!(!summary.failed(), "{summary}");
    let made = dh::delta(&before, &dh::requests(&sim));
    assert_eq!(
        made,
        [
            ("CreateUser".to_string(), 1),
            ("user.update".to_string(), 1)
        ]
        .into_iter()
        .collect(),
    );
    let log = lock(&sim.state.aliyun).log.clone();
    let last = log.back().expect("a logged call");
    assert_eq!(log.len(), log_before + 1);
    assert_eq!((last.action.as_str(), last.count), ("CreateUser", Some(1)));
    assert_eq!(last.user_ids, vec!["E10003".to_string()]);
    let world = lock(&sim.state.cloudroom);
    let user = world.user("gao.jie").expect("gao.jie");
    assert_eq!(user.mobile.as_deref(), Some("13900000000"));
    // The whole record went with the PUT: department and role stay.
    assert_ne!(user.department_id, 1);
    assert_eq!(user.role_type, 2);
}

const TREE_V1: &str = "employee_id,account,name,department,department_id
E1,a1,甲,研发 / 后端,D2
E2,a2,乙,研发 / 前端,D3
E3,a3,丙,研发,D1
E4,a4,丁,市场,D9
";

#[tokio::test]
async fn a_department_rename_and_a_move_happen_in_place() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let (_dir, path) = dh::write_source("hr.csv", TREE_V1.as_bytes());
    let settings = dh::settings(&sim, &db, &path);
    assert!(!dh::apply(&settings, &db).await.failed());
    let ids_before: Vec<i64> = lock(&sim.state.cloudroom)
        .departments()
        .map(|d| d.department_id)
        .collect();

    // D2 renamed 后端 -> 服务端; D3 moved from 研发 to 市场.
    dh::rewrite(
        &path,
        "employee_id,account,name,department,department_id
E1,a1,甲,研发 / 服务端,D2
E2,a2,乙,市场 / 前端,D3
E3,a3,丙,研发,D1
E4,a4,丁,市场,D9
",
    );
    let plan = directory::prepare(settings.top_tenant().directory_config(), &db.pool, false)
        .await
        .expect("plan");
    let shown = plan.report().to_string();
    assert!(
        shown.contains("~ update 研发 / 服务端 [D2] (name: 后端 -> 服务端)"),
        "{shown}"
    );
    assert!(
        shown.contains("~ update 市场 / 前端 [D3] (path: 研发 / 前端 -> 市场 / 前端)"),
        "{shown}"
    );

    let before = dh::requests(&sim);
    let summary = dh::apply(&settings, &db).await;
    assert!(!summary.failed(), "{summary}");
    let made = dh::delta(&before, &dh::requests(&sim));
    assert_eq!(made.get("department.update"), Some(&2), "{made:?}");
    assert_eq!(made.get("department.create"), None, "{made:?}");
    assert_eq!(made.get("department.delete"), None, "{made:?}");
    assert_eq!(
        made.get("user.update"),
        None,
        "users keep their department key: {made:?}"
    );
    // Aliyun shows department names: the two people in changed departments are re-sent.
    assert_eq!(made.get("CreateUser"), Some(&1), "{made:?}");

    let world = lock(&sim.state.cloudroom);
    let ids_after: Vec<i64> = world.departments().map(|d| d.department_id).collect();
    assert_eq!(ids_before, ids_after, "same CloudRoom departments");
    let paths: Vec<String> = world
        .departments()
        .map(|d| world.full_path(d.department_id))
        .collect();
    assert!(
        paths.contains(&"公司 > 研发 > 服务端".to_string()),
        "{paths:?}"
    );
    assert!(
        paths.contains(&"公司 > 市场 > 前端".to_string()),
        "{paths:?}"
    );
    let a2 = world.user("a2").expect("a2");
    assert_eq!(world.full_path(a2.department_id), "公司 > 市场 > 前端");
}

#[tokio::test]
async fn a_department_without_an_hr_id_is_deleted_after_its_people_moved() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let (_dir, path) = dh::write_source("hr.csv", TREE_V1.as_bytes());
    let settings = dh::settings(&sim, &db, &path);
    assert!(!dh::apply(&settings, &db).await.failed());
    // 市场 (D9) disappears: its one member moves to the root first.
    dh::rewrite(
        &path,
        "employee_id,account,name,department,department_id
E1,a1,甲,研发 / 后端,D2
E2,a2,乙,研发 / 前端,D3
E3,a3,丙,研发,D1
E4,a4,丁,,
",
    );
    let summary = dh::apply(&settings, &db).await;
    assert!(!summary.failed(), "{summary}");
    assert_eq!(
        summary.outcomes["cloudroom_departments"].deleted, 1,
        "{summary}"
    );
    let world = lock(&sim.state.cloudroom);
    assert_eq!(world.departments().count(), 3);
    let a4 = world.user("a4").expect("a4");
    assert_eq!(a4.department_id, 1);
    // Moved by our PUT with its role, not dropped to "ordinary user" by the delete.
    assert_eq!(a4.role_type, 2);
}

#[tokio::test]
async fn a_leaver_is_deleted_in_both_and_grace_days_delay_it() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let (_dir, path) = dh::write_source("hr.csv", dh::sample_text().as_bytes());
    let mut settings = dh::settings(&sim, &db, &path);
    assert!(!dh::apply(&settings, &db).await.failed());
    let leave = |text: &str, line_start: &str| -> String {
        text.lines()
            .map(|l| {
                if l.starts_with(line_start) {
                    l.replace(",active", ",inactive")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let text = leave(&dh::sample_text(), "E10003,");
    dh::rewrite(&path, &text);

    // With a grace period the leaver stays, and the grace clock starts.
    settings.directory.delete_grace_days = 3;
    let waiting = dh::apply(&settings, &db).await;
    assert!(!waiting.failed(), "{waiting}");
    assert_eq!(waiting.api_calls, 0, "{waiting}");
    assert!(
        waiting.held.iter().any(|h| h.contains("delete_grace_days")),
        "{waiting}"
    );
    assert!(lock(&sim.state.cloudroom).user("gao.jie").is_some());
    let started = dh::count(
        &db,
        "select count(*) from directory.users where employee_id = 'E10003' and first_seen_inactive is not null",
    )
    .await;
    assert_eq!(started, 1);

    sqlx::query("update directory.users set first_seen_inactive = now() - interval '4 days' where employee_id = 'E10003'")
        .execute(&db.pool)
        .await
        .unwrap();
    let before = dh::requests(&sim);
    let summary = dh::apply(&settings, &db).await;
    assert!(!summary.failed(), "{summary}");
    let made = dh::delta(&before, &dh::requests(&sim));
    // The CloudRoom DELETE comes after its proof: a PUT of the fields last
    // sent, which succeeds only while the account exists; the DeleteUser
    // after a GetUser that shows the user in this enterprise's group.
    assert_eq!(
        made,
        [
            ("DeleteUser".to_string(), 1),
            ("GetUser".to_string(), 1),
            ("user.delete".to_string(), 1),
            ("user.update".to_string(), 1)
        ]
        .into_iter()
        .collect()
    );
    assert!(lock(&sim.state.cloudroom).user("gao.jie").is_none());
    assert!(!lock(&sim.state.aliyun).users.contains_key("E10003"));
    assert_eq!(
        dh::count(
            &db,
            "select count(*) from directory.users where employee_id = 'E10003'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn an_unusable_source_aborts_before_any_change() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let (_dir, path) = dh::write_source("hr.csv", dh::sample_text().as_bytes());
    let mut settings = dh::settings(&sim, &db, &path);
    assert!(!dh::apply(&settings, &db).await.failed());
    let users = dh::sample_active();
    let before = dh::total_requests(&sim);

    let abort = |e: anyhow::Error| e.downcast::<DirectoryError>().expect("a DirectoryError");
    let run = |settings: confsync::configuration::Settings| {
        let db = &db;
        async move {
            dh::run_apply(
                &settings,
                db,
                ApplyOptions::default(),
                CancellationToken::new(),
            )
            .await
        }
    };

    dh::rewrite(&path, &format!("{}\n", dh::HEADER));
    let e = abort(run(settings.clone()).await.expect_err("empty source"));
    assert!(matches!(e, DirectoryError::Empty), "{e}");
    assert!(e.to_string().contains("nothing was changed"));

    std::fs::write(&path, b"").unwrap();
    let e = abort(run(settings.clone()).await.expect_err("zero-byte source"));
    assert!(
        matches!(e, DirectoryError::Source(_)) || matches!(e, DirectoryError::Empty),
        "{e}"
    );

    let truncated: String = dh::sample_text().chars().take(2000).collect();
    dh::rewrite(&path, &truncated);
    let e = abort(run(settings.clone()).await.expect_err("truncated source"));
    assert!(e.to_string().contains("truncated"), "{e}");

    let sample = dh::sample_text();
    let half: Vec<&str> = sample.lines().take(60).collect();
    dh::rewrite(&path, &(half.join("\n") + "\n"));
    settings.directory.min_rows = 150;
    let e = abort(run(settings.clone()).await.expect_err("below min_rows"));
    assert!(
        matches!(
            e,
            DirectoryError::TooFew {
                valid: 59,
                min: 150
            }
        ),
        "{e}"
    );

    settings.directory.source = Some("/nonexistent/hr.csv".into());
    let e = abort(run(settings.clone()).await.expect_err("missing file"));
    assert!(e.to_string().contains("/nonexistent/hr.csv"), "{e}");

    assert_eq!(
        dh::total_requests(&sim),
        before,
        "no request after a failed read"
    );
    assert_eq!(lock(&sim.state.cloudroom).users().count(), users);
    let failed = dh::count(
        &db,
        "select count(*) from confsync.sync_runs where job = 'directory' and status = 'failed'",
    )
    .await;
    assert_eq!(failed, 5);
}

#[tokio::test]
async fn a_mass_delete_is_staged_until_allowed() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let (_dir, path) = dh::write_source("hr.csv", dh::sample_text().as_bytes());
    let settings = dh::settings(&sim, &db, &path);
    assert!(!dh::apply(&settings, &db).await.failed());
    let active = dh::sample_active();
    // The export shrinks to its first 150 rows: about 50 people look gone.
    let sample = dh::sample_text();
    let kept: Vec<&str> = sample.lines().take(151).collect();
    dh::rewrite(&path, &(kept.join("\n") + "\n"));

    let plan = directory::prepare(settings.top_tenant().directory_config(), &db.pool, false)
        .await
        .expect("plan");
    let shown = plan.report().to_string();
    assert!(shown.contains("- delete (staged)"), "{shown}");
    assert!(shown.contains("exceed directory.max_deletes"), "{shown}");

    let before = dh::requests(&sim);
    let staged = dh::apply(&settings, &db).await;
    assert!(!staged.failed(), "{staged}");
    let made = dh::delta(&before, &dh::requests(&sim));
    assert!(
        made.keys()
            .all(|k| !k.contains("delete") && k != "DeleteUser"),
        "{made:?}"
    );
    // Nor does the tree change: department changes wait with the deletes.
    assert!(
        made.keys().all(|k| !k.starts_with("department.")),
        "{made:?}"
    );
    assert_eq!(lock(&sim.state.cloudroom).users().count(), active);
    let recorded = dh::count(&db, "select count(*) from directory.staged_deletes").await;
    let gone = staged.outcomes["cloudroom_users"].staged as i64;
    assert!(gone > 40, "{staged}");
    assert!(
        recorded >= 2 * gone,
        "staged deletes are recorded: {recorded}"
    );

    let executed = dh::apply_with(&settings, &db, true).await;
    assert!(!executed.failed(), "{executed}");
    assert_eq!(executed.outcomes["cloudroom_users"].deleted as i64, gone);
    assert_eq!(executed.outcomes["aliyun_users"].deleted as i64, gone);
    assert_eq!(
        lock(&sim.state.cloudroom).users().count() as i64,
        active as i64 - gone
    );
    assert_eq!(
        dh::count(&db, "select count(*) from directory.staged_deletes").await,
        0
    );
}

#[tokio::test]
async fn bad_rows_are_reported_with_line_and_field_and_good_rows_go_through() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let rows = [
        "employee_id,account,name,email,mobile,role,status,department",
        "E1,a1,好人,a1@example.com,13800000001,user,active,研发",
        ",a2,无工号,,,,,",
        "E1,a3,重复工号,,,,,",
        "E4,a1,重复账号,,,,,",
        "E5,a5,坏邮箱,not-an-email,,,,",
        "E6,a6,坏手机,,12ab,,,",
        "E7,a7,这是一个非常非常非常非常非常非常非常非常长的名字超过三十个字符了吧,,,,,",
        "E8,a8,坏角色,,,boss,,",
        "E9,a9,坏状态,,,,retired,",
        "E10,a10,好人二,,,finance,active,研发 / 财务",
    ];
    // A BOM and CRLF line ends, as Excel writes them.
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(rows.join("\r\n").as_bytes());
    bytes.extend(b"\r\n");
    let (_dir, path) = dh::write_source("hr.csv", &bytes);
    let settings = dh::settings(&sim, &db, &path);

    let summary = dh::apply(&settings, &db).await;
    assert!(!summary.failed(), "{summary}");
    let problems: Vec<(u64, &str)> = summary.problems.iter().map(|p| (p.line, p.field)).collect();
    assert_eq!(
        problems,
        vec![
            (3, "employee_id"),
            (4, "employee_id"),
            (5, "account"),
            (6, "email"),
            (7, "mobile"),
            (8, "name"),
            (9, "role"),
            (10, "status"),
        ],
        "{summary}"
    );
    assert!(
        summary.problems[1].reason.contains("duplicate of line 2"),
        "{summary}"
    );
    assert!(
        summary.problems[5].reason.contains("at most 30"),
        "{summary}"
    );
    assert_eq!(summary.outcomes["cloudroom_users"].created, 2, "{summary}");
    {
        let world = lock(&sim.state.cloudroom);
        assert!(world.user("a1").is_some_and(|u| u.name == "好人"));
        assert!(world.user("a10").is_some_and(|u| u.role_type == 5));
    }

    // A non-UTF-8 export is refused, naming the line.
    let mut latin1 = b"employee_id,account,name\nE1,a1,ok\nE2,a2,Jos".to_vec();
    latin1.extend(b"\xe9\n");
    dh::rewrite(&path, "");
    std::fs::write(&path, latin1).unwrap();
    let e = dh::run_apply(
        &settings,
        &db,
        ApplyOptions::default(),
        CancellationToken::new(),
    )
    .await
    .expect_err("not UTF-8");
    let text = format!("{e:#}");
    assert!(text.contains("line 3") && text.contains("UTF-8"), "{text}");
}

#[tokio::test]
async fn an_existing_account_is_adopted_and_updated() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let settings = dh::settings(&sim, &db, &dh::sample_path());
    dh::create_by_hand(&settings, "gao.jie", "made-by-hand-1").await;

    let summary = dh::apply(&settings, &db).await;
    assert!(!summary.failed(), "{summary}");
    {
        let world = lock(&sim.state.cloudroom);
        let user = world.user("gao.jie").unwrap();
        assert_eq!(user.name, "高杰");
        assert_eq!(user.role_type, 2);
        assert_eq!(
            world.full_path(user.department_id),
            "公司 > 研发中心 > 前端组 > Web小组"
        );
        // Adoption keeps the password the person already has.
        assert_eq!(user.password.expose_secret(), "made-by-hand-1");
    }
    let origin: String = sqlx::query_scalar(
        "select cloudroom_origin from directory.users where employee_id = 'E10003'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(origin, "adopted");
    let adopted = dh::count(
        &db,
        "select count(*) from directory.changes where action = 'user.adopt' and object = 'E10003'",
    )
    .await;
    assert_eq!(adopted, 1);
}

#[tokio::test]
async fn aliyun_batches_split_at_batch_size() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let mut settings = dh::settings(&sim, &db, &dh::sample_path());
    settings.aliyun.batch_size = 7;
    settings.directory.cloudroom = false;
    let summary = dh::apply(&settings, &db).await;
    assert!(!summary.failed(), "{summary}");
    let active = dh::sample_active();
    let log = lock(&sim.state.aliyun).log.clone();
    let counts: Vec<usize> = log.iter().map(|c| c.count.unwrap_or(0)).collect();
    assert_eq!(counts.len(), active.div_ceil(7));
    assert!(
        counts[..counts.len() - 1].iter().all(|&c| c == 7),
        "{counts:?}"
    );
    assert_eq!(counts.iter().sum::<usize>(), active);
    assert!(log.iter().all(|c| c.count == Some(c.user_ids.len())));
    assert_eq!(
        dh::calls(&sim, "cloudroom", "user.create"),
        0,
        "CloudRoom target off"
    );
}

#[tokio::test]
async fn an_apply_that_fails_midway_converges_on_rerun() {
    let clean_sim = common::simulator(common::small_sim()).await;
    let clean_db = common::migrated_db().await;
    assert!(!dh::apply(
        &dh::settings(&clean_sim, &clean_db, &dh::sample_path()),
        &clean_db
    )
    .await
    .failed());
    let expected = dh::world_view(&clean_sim);

    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let mut settings = dh::settings(&sim, &db, &dh::sample_path());
    settings.cloudroom.max_retries = 0;
    settings.aliyun.max_retries = 0;
    sim.state.faults().fail_rate = Some(0.3);
    let broken = dh::apply(&settings, &db).await;
    assert!(broken.failed(), "{broken}");
    assert!(!broken.failures.is_empty());
    let failed = dh::count(
        &db,
        "select count(*) from directory.changes where outcome = 'failed'",
    )
    .await;
    assert_eq!(failed as usize, broken.failures.len());

    sim.state.faults().fail_rate = Some(0.0);
    let rerun = dh::apply(&settings, &db).await;
    assert!(!rerun.failed(), "{rerun}");
    // Only what failed is sent again.
    let sent_again: usize = rerun
        .outcomes
        .values()
        .map(|o| o.created + o.updated + o.deleted)
        .sum();
    assert!(sent_again <= broken.failures.len() + 1, "{rerun}\n{broken}");
    assert_eq!(dh::world_view(&sim), expected);
    let before = dh::total_requests(&sim);
    assert_eq!(dh::apply(&settings, &db).await.api_calls, 0);
    assert_eq!(dh::total_requests(&sim), before);
}

#[tokio::test]
async fn a_cancelled_apply_with_lost_records_converges_on_rerun() {
    let clean_sim = common::simulator(common::small_sim()).await;
    let clean_db = common::migrated_db().await;
    assert!(!dh::apply(
        &dh::settings(&clean_sim, &clean_db, &dh::sample_path()),
        &clean_db
    )
    .await
    .failed());
    let expected = dh::world_view(&clean_sim);

    let sim = common::simulator(confsync_sim::SimConfig {
        latency_ms: 2,
        ..common::small_sim()
    })
    .await;
    let db = common::migrated_db().await;
    let mut settings = dh::settings(&sim, &db, &dh::sample_path());
    settings.directory.concurrency = 2;
    let cancel = CancellationToken::new();
    let watcher = {
        let cancel = cancel.clone();
        let state = sim.state.clone();
        tokio::spawn(async move {
            while state.requests("cloudroom", Some("user.create"), None) < 60 {
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            cancel.cancel();
        })
    };
    let stopped = dh::run_apply(&settings, &db, ApplyOptions::default(), cancel)
        .await
        .expect("apply runs");
    watcher.await.unwrap();
    assert!(stopped.cancelled, "{stopped}");
    assert!(stopped.failed());
    // A shutdown is not a failure: the run is abandoned, and /healthz's
    // failure streak does not grow.
    let status: String = sqlx::query_scalar(
        "select status from confsync.sync_runs where job = 'directory' order by id desc limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(status, "abandoned");
    let created = lock(&sim.state.cloudroom).users().count();
    assert!(created >= 60 && created < dh::sample_active(), "{created}");
    // As if the process had died before recording its last results.
    sqlx::query("delete from directory.users where employee_id in (select employee_id from directory.users order by employee_id limit 5)")
        .execute(&db.pool)
        .await
        .unwrap();

    let rerun = dh::apply(&settings, &db).await;
    assert!(!rerun.failed(), "{rerun}");
    assert_eq!(dh::world_view(&sim), expected);
    let adopted = dh::count(
        &db,
        "select count(*) from directory.changes where action = 'user.adopt'",
    )
    .await;
    assert_eq!(adopted, 5, "accounts created but not recorded are adopted");
    assert_eq!(dh::apply(&settings, &db).await.api_calls, 0);
}

#[tokio::test]
async fn plan_sends_nothing_and_prints_json() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let settings = dh::settings(&sim, &db, &dh::sample_path());
    let plan = directory::prepare(settings.top_tenant().directory_config(), &db.pool, false)
        .await
        .expect("plan");
    assert_eq!(dh::total_requests(&sim), 0);
    let json = serde_json::to_value(plan.report()).unwrap();
    let active = dh::sample_active() as u64;
    assert_eq!(json["counts"]["CloudRoom users"]["create"], active);
    assert_eq!(json["counts"]["Aliyun users"]["create"], active);
    assert_eq!(json["counts"]["CloudRoom departments"]["create"], 19);
    let text = plan.report().to_string();
    assert!(text.contains("+ create 研发中心 [D1000]"), "{text}");
    assert!(text.contains("+ create E10003 (gao.jie)"), "{text}");
}

#[tokio::test]
async fn json_lines_and_postgres_sources_read_like_csv() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let lines = "{\"employee_id\":\"E1\",\"account\":\"a1\",\"name\":\"甲\",\"department\":\"研发 / 后端\",\"mobile\":13800000001}\n\n{\"employee_id\":\"E2\",\"account\":\"a2\",\"name\":\"乙\",\"role\":\"admin\"}\n";
    let (_dir, path) = dh::write_source("hr.jsonl", lines.as_bytes());
    let settings = dh::settings(&sim, &db, &path);
    let plan = directory::prepare(settings.top_tenant().directory_config(), &db.pool, false)
        .await
        .expect("plan");
    let report = plan.report();
    assert_eq!(report.valid_rows, 2);
    assert_eq!(report.counts["CloudRoom departments"].create, 2);

    sqlx::query("create table hr_people (emp_no int, login text, full_name text, dept text)")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into hr_people values (1, 'p1', '张三', '销售 / 华东'), (2, 'p2', '李四', null)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let mut settings = dh::settings(&sim, &db, &path);
    settings.directory.source = Some("postgres:select * from hr_people".into());
    settings.directory.columns = [
        ("employee_id", "emp_no"),
        ("account", "login"),
        ("name", "full_name"),
        ("department", "dept"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let summary = dh::apply(&settings, &db).await;
    assert!(!summary.failed(), "{summary}");
    assert_eq!(summary.outcomes["cloudroom_users"].created, 2);
    assert!(lock(&sim.state.aliyun).users.contains_key("1"));
}

#[tokio::test]
async fn verify_reports_drift_in_aliyun() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let mut settings = dh::settings(&sim, &db, &dh::sample_path());
    settings.directory.verify_sample = 1000;
    assert!(!dh::apply(&settings, &db).await.failed());
    let clean = directory::run_verify(settings.top_tenant().directory_config(), &db.pool)
        .await
        .unwrap();
    assert_eq!(clean.checked, dh::sample_active());
    assert!(clean.drift.is_empty(), "{:?}", clean.drift);

    {
        let mut aliyun = lock(&sim.state.aliyun);
        if let Some(u) = aliyun.users.get_mut("E10003") {
            u.user_mobile = Some("10086".into());
        }
        aliyun.users.remove("E10004");
    }
    let report = directory::run_verify(settings.top_tenant().directory_config(), &db.pool)
        .await
        .unwrap();
    let drift: Vec<(String, String)> = report
        .drift
        .iter()
        .map(|d| (d.employee_id.clone(), d.problem.clone()))
        .collect();
    assert_eq!(
        drift,
        [(
            "E10003".into(),
            "userMobile: sent 13757228464, Aliyun has 10086".into()
        )]
    );
    // The simulator answers a missing user with Success=false, which the
    // document does not define as "missing": unknown, with CVC's words.
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert_eq!(report.errors[0].employee_id, "E10004");
    assert!(
        report.errors[0].problem.contains("Success=false"),
        "{:?}",
        report.errors
    );
}

#[tokio::test]
async fn initial_passwords_reach_cloudroom_and_nothing_else() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let (_dir, path) = dh::write_source(
        "hr.csv",
        "employee_id,account,name,initial_password\nE1,a1,甲,Given-Pass-4711\nE2,a2,乙,\n"
            .as_bytes(),
    );
    let settings = dh::settings(&sim, &db, &path);
    let summary = dh::apply(&settings, &db).await;
    assert!(!summary.failed(), "{summary}");
    assert!(!format!("{summary:?}").contains("Given-Pass-4711"));
    let generated = {
        let world = lock(&sim.state.cloudroom);
        assert_eq!(
            world.user("a1").unwrap().password.expose_secret(),
            "Given-Pass-4711"
        );
        world
            .user("a2")
            .unwrap()
            .password
            .expose_secret()
            .to_string()
    };
    assert!(
        generated.chars().count() >= 16,
        "generated password is long"
    );
    for secret in ["Given-Pass-4711", generated.as_str()] {
        let sql = format!(
            "select (select count(*) from directory.users t where t::text like '%{secret}%')
                  + (select count(*) from directory.changes t where t::text like '%{secret}%')"
        );
        assert_eq!(
            dh::count(&db, &sql).await,
            0,
            "a password reached the database"
        );
    }
}

#[tokio::test]
async fn aliyun_target_needs_a_group() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let mut settings = dh::settings(&sim, &db, &dh::sample_path());
    settings.aliyun.group_id = None;
    let e = directory::prepare(settings.top_tenant().directory_config(), &db.pool, false)
        .await
        .expect_err("no group");
    assert!(matches!(e, DirectoryError::Config(_)), "{e}");
    assert!(e.to_string().contains("aliyun.group_id"), "{e}");
}

/// The case: the only person directly in 研发中心 [D1] moves into
/// 研发中心 / 前端部. The next export names 研发中心 only by its path; it
/// is still D1, so nothing is created, re-parented or deleted in CloudRoom.
#[tokio::test]
async fn an_ancestor_keeps_its_hr_id_when_nobody_sits_directly_in_it_any_more() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let (_dir, path) = dh::write_source(
        "hr.csv",
        "employee_id,account,name,department,department_id
E270,a270,甲,研发中心,D1
E271,a271,乙,研发中心 / 前端部,D12
E272,a272,丙,研发中心 / 后端部,D13
"
        .as_bytes(),
    );
    let settings = dh::settings(&sim, &db, &path);
    assert!(!dh::apply(&settings, &db).await.failed());
    let ids_before: Vec<i64> = lock(&sim.state.cloudroom)
        .departments()
        .map(|d| d.department_id)
        .collect();

    dh::rewrite(
        &path,
        "employee_id,account,name,department,department_id
E270,a270,甲,研发中心 / 前端部,D12
E271,a271,乙,研发中心 / 前端部,D12
E272,a272,丙,研发中心 / 后端部,D13
",
    );
    let plan = directory::prepare(settings.top_tenant().directory_config(), &db.pool, false)
        .await
        .expect("plan");
    let shown = plan.report().to_string();
    assert!(
        shown.contains("CloudRoom departments: 0 to create, 0 to update, 0 to delete"),
        "no department change: {shown}"
    );
    let before = dh::requests(&sim);
    let summary = dh::apply(&settings, &db).await;
    assert!(!summary.failed(), "{summary}");
    let made = dh::delta(&before, &dh::requests(&sim));
    for call in [
        "department.create",
        "department.update",
        "department.delete",
    ] {
        assert_eq!(made.get(call), None, "{call}: {made:?}");
    }
    assert_eq!(
        made.get("user.update"),
        Some(&1),
        "only E270 moves: {made:?}"
    );
    let ids_after: Vec<i64> = lock(&sim.state.cloudroom)
        .departments()
        .map(|d| d.department_id)
        .collect();
    assert_eq!(ids_before, ids_after, "the same CloudRoom departments");
    // And a third export that names D1 again changes nothing more.
    dh::rewrite(
        &path,
        "employee_id,account,name,department,department_id
E270,a270,甲,研发中心,D1
E271,a271,乙,研发中心 / 前端部,D12
E272,a272,丙,研发中心 / 后端部,D13
",
    );
    let before = dh::requests(&sim);
    assert!(!dh::apply(&settings, &db).await.failed());
    let made = dh::delta(&before, &dh::requests(&sim));
    assert_eq!(made.get("department.create"), None, "{made:?}");
    assert_eq!(made.get("department.delete"), None, "{made:?}");
}

/// A source that trips the mass-delete guard also stages the department
/// changes it implies, and the moves of people into departments not yet
/// made: nothing of the tree changes until someone allows it.
#[tokio::test]
async fn a_tripped_mass_delete_guard_stages_the_tree_changes_too() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let (_dir, path) = dh::write_source("hr.csv", TREE_V1.as_bytes());
    let mut settings = dh::settings(&sim, &db, &path);
    settings.directory.max_deletes = Some(1);
    assert!(!dh::apply(&settings, &db).await.failed());
    // Three people and two departments look gone; E1 moves into a new one.
    dh::rewrite(
        &path,
        "employee_id,account,name,department,department_id
E1,a1,甲,研发 / 新部门,D7
",
    );
    let plan = directory::prepare(settings.top_tenant().directory_config(), &db.pool, false)
        .await
        .expect("plan");
    assert!(plan.mass_delete.is_some());
    let unstaged: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| !c.staged && c.target == confsync::directory::plan::Target::CloudRoom)
        .map(|c| c.to_string())
        .collect();
    assert!(unstaged.is_empty(), "{unstaged:?}");
    let before = dh::requests(&sim);
    let summary = dh::apply(&settings, &db).await;
    assert!(!summary.failed(), "{summary}");
    let made = dh::delta(&before, &dh::requests(&sim));
    assert!(
        made.keys()
            .all(|k| !k.starts_with("department.") && !k.starts_with("user.")),
        "{made:?}"
    );
    // Allowed, the whole change goes through.
    let allowed = dh::apply_with(&settings, &db, true).await;
    assert!(!allowed.failed(), "{allowed}");
    assert_eq!(
        allowed.outcomes["cloudroom_departments"].created, 1,
        "{allowed}"
    );
    assert_eq!(allowed.outcomes["cloudroom_users"].deleted, 3, "{allowed}");
}

/// `directory.departments_source`: the tree HR exports gives every
/// department its id from the first push, ancestors and empty departments
/// included, and a row may name only its department_id.
#[tokio::test]
async fn a_department_tree_gives_every_department_its_hr_id() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let (dir, path) = dh::write_source(
        "hr.csv",
        "employee_id,account,name,department,department_id
E1,a1,甲,,D12
E2,a2,乙,研发中心 / 后端部,D13
"
        .as_bytes(),
    );
    let tree = dir.path().join("departments.csv");
    let write_tree = |top: &str| {
        let text =
            format!("id,parent_id,name\nD1,,{top}\nD12,D1,前端部\nD13,D1,后端部\nD2,,行政部\n");
        std::fs::write(&tree, text).unwrap();
    };
    write_tree("研发中心");
    let mut settings = dh::settings(&sim, &db, &path);
    settings.directory.departments_source = Some(tree.display().to_string());
    let first = dh::apply(&settings, &db).await;
    assert!(!first.failed(), "{first}");
    assert_eq!(
        first.outcomes["cloudroom_departments"].created, 4,
        "{first}"
    );
    let keys: Vec<String> =
        sqlx::query_scalar("select key from directory.departments order by key")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(keys, ["D1", "D12", "D13", "D2"]);

    // HR renames the top department: one PUT, in place.
    write_tree("研发部");
    let before = dh::requests(&sim);
    let renamed = dh::apply(&settings, &db).await;
    assert!(!renamed.failed(), "{renamed}");
    let made = dh::delta(&before, &dh::requests(&sim));
    assert_eq!(made.get("department.update"), Some(&1), "{made:?}");
    assert_eq!(made.get("department.create"), None, "{made:?}");
    assert_eq!(made.get("department.delete"), None, "{made:?}");
    assert_eq!(made.get("user.update"), None, "{made:?}");

    // A broken tree changes nothing and names its line.
    std::fs::write(&tree, "id,parent_id,name\nD1,,研发部\nD12,D9,前端部\n").unwrap();
    let e = dh::run_apply(
        &settings,
        &db,
        ApplyOptions::default(),
        CancellationToken::new(),
    )
    .await
    .expect_err("unknown parent");
    let text = format!("{e:#}");
    assert!(text.contains("line 3") && text.contains("D9"), "{text}");
}

/// The changes `settings` plan, as text to compare.
async fn planned_changes(
    settings: confsync::configuration::Settings,
    db: &common::TestDb,
) -> String {
    let tenant = settings.top_tenant();
    let plan = directory::prepare(tenant.directory_config(), &db.pool, false)
        .await
        .unwrap();
    format!("{:?}", plan.changes)
}

/// The sample export saved as GB18030 (Excel on a Chinese Windows) gives
/// exactly the plan the UTF-8 file gives, with `directory.encoding` auto
/// or named.
#[tokio::test]
async fn a_gb18030_export_plans_exactly_like_the_utf8_one() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let utf8 = dh::sample_text();
    let (gbk, _, lossy) = encoding_rs::GB18030.encode(&utf8);
    assert!(!lossy);
    let (_dir, gbk_path) = dh::write_source("hr-gbk.csv", &gbk);
    let plan_of = |settings| planned_changes(settings, &db);
    let expected = plan_of(dh::settings(&sim, &db, &dh::sample_path())).await;
    let auto = plan_of(dh::settings(&sim, &db, &gbk_path)).await;
    assert_eq!(auto, expected);
    let mut named = dh::settings(&sim, &db, &gbk_path);
    named.directory.encoding = confsync::directory::source::Encoding::Gb18030;
    assert_eq!(plan_of(named).await, expected);
}

/// The sample export saved as `.xlsx` by a real spreadsheet writer
/// (rust_xlsxwriter; numeric-looking cells written as numbers, as Excel
/// keeps them) gives exactly the CSV's plan, from the first sheet or from
/// the sheet `directory.sheet` names.
#[tokio::test]
async fn an_xlsx_export_plans_exactly_like_the_csv_one() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hr.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(dh::sample_path())
        .unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    for name in ["员工", "copy"] {
        let sheet = book.add_worksheet();
        sheet.set_name(name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r as u32, c as u16);
                match cell.parse::<i64>() {
                    Ok(n) if !cell.starts_with('0') => sheet.write_number(r, c, n as f64).unwrap(),
                    _ => sheet.write_string(r, c, cell).unwrap(),
                };
            }
        }
    }
    book.save(&path).unwrap();
    let plan_of = |settings| planned_changes(settings, &db);
    let expected = plan_of(dh::settings(&sim, &db, &dh::sample_path())).await;
    assert_eq!(plan_of(dh::settings(&sim, &db, &path)).await, expected);
    let mut named = dh::settings(&sim, &db, &path);
    named.directory.sheet = Some("copy".into());
    assert_eq!(plan_of(named).await, expected);
    let mut missing = dh::settings(&sim, &db, &path);
    missing.directory.sheet = Some("nope".into());
    let tenant = missing.top_tenant();
    let e = directory::prepare(tenant.directory_config(), &db.pool, false)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("no sheet named \"nope\" (directory.sheet)"),
        "{e}"
    );
}

/// A sheet laid out as HR lays it out (a title row, a blank row, the table
/// from column B) and one bad cell: the problem names the sheet, the row
/// and the column a spreadsheet user sees.
#[tokio::test]
async fn a_problem_in_a_spreadsheet_names_its_sheet_row_and_column() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hr.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("人员").unwrap();
    sheet.write_string(0, 1, "2026年12月 人员名单").unwrap();
    let table = [
        ["employee_id", "account", "name", "mobile"],
        ["E1", "a1", "甲", "13800000001"],
        ["E2", "a2", "乙", "not a number"],
    ];
    for (r, row) in table.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet
                .write_string(r as u32 + 2, c as u16 + 1, *cell)
                .unwrap();
        }
    }
    book.save(&path).unwrap();

    let settings = dh::settings(&sim, &db, &path);
    let plan = directory::prepare(settings.top_tenant().directory_config(), &db.pool, false)
        .await
        .expect("plan");
    let problems: Vec<String> = plan
        .report()
        .problems
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("sheet \"人员\" row 5, column E, field mobile:"),
        "{problems:?}"
    );
    assert_eq!(plan.report().valid_rows, 1);
}

/// A DeleteUser is sent only after a GetUser in the same run shows the
/// user in this enterprise's group: a user removed by hand in CVC, or one
/// that GetUser shows in another group, gets none, and the leaver stays
/// planned for the next run.
#[tokio::test]
async fn an_aliyun_delete_without_getuser_proof_is_not_sent() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let (_dir, path) = dh::write_source("hr.csv", dh::sample_text().as_bytes());
    let mut settings = dh::settings(&sim, &db, &path);
    settings.directory.cloudroom = false;
    assert!(!dh::apply(&settings, &db).await.failed());
    let text: Vec<String> = dh::sample_text()
        .lines()
        .map(
            |l| match l.starts_with("E10003,") || l.starts_with("E10004,") {
                true => l.replace(",active", ",inactive"),
                false => l.to_string(),
            },
        )
        .collect();
    dh::rewrite(&path, &text.join("\n"));
    {
        let mut aliyun = lock(&sim.state.aliyun);
        aliyun.users.remove("E10004");
        if let Some(user) = aliyun.users.get_mut("E10003") {
            user.group_id = "another-enterprise".into();
        }
    }

    let before = dh::requests(&sim);
    let summary = dh::apply(&settings, &db).await;
    let made = dh::delta(&before, &dh::requests(&sim));
    assert_eq!(made.get("GetUser"), Some(&2), "{made:?}");
    assert_eq!(made.get("DeleteUser"), None, "{made:?}");
    assert!(lock(&sim.state.aliyun).users.contains_key("E10003"));
    let shown = summary.to_string();
    assert!(shown.contains("no DeleteUser"), "{shown}");
    // Still planned: the next run asks again.
    let leavers = dh::count(
        &db,
        "select count(*) from directory.users where employee_id in ('E10003', 'E10004')",
    )
    .await;
    assert_eq!(leavers, 2);
}
