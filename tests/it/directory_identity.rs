//! Directory identity under the CloudRoom document's own answers (issue
//! #20): the document gives an existing account and a missing one no code
//! of their own, so every case runs under both simulator readings
//! (`--undocumented-errors generic`, the default, and `descriptive`).

use std::collections::BTreeMap;

use confsync_sim::cloudroom::UndocumentedErrors;
use confsync_sim::{lock, RunningSimulator, SimConfig};
use secrecy::ExposeSecret;

use crate::common::{self, directory as dh, TestDb};

const READINGS: [UndocumentedErrors; 2] =
    [UndocumentedErrors::Generic, UndocumentedErrors::Descriptive];

fn sim_config(reading: UndocumentedErrors) -> SimConfig {
    SimConfig {
        undocumented_errors: reading,
        ..common::small_sim()
    }
}

/// A CSV of `rows` (each from `dh::person_row`) under the full header.
fn csv(rows: &[String]) -> String {
    let mut text = format!("{}\n", dh::FULL_HEADER);
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

struct World {
    sim: RunningSimulator,
    db: TestDb,
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    settings: confsync::configuration::Settings,
}

async fn world(reading: UndocumentedErrors, rows: &[String]) -> World {
    let sim = common::simulator(sim_config(reading)).await;
    let db = common::migrated_db().await;
    let (dir, path) = dh::write_source("hr.csv", csv(rows).as_bytes());
    let mut settings = dh::settings(&sim, &db, &path);
    settings.directory.aliyun = false;
    World {
        sim,
        db,
        _dir: dir,
        path,
        settings,
    }
}

impl World {
    async fn apply(&self) -> confsync::directory::ApplySummary {
        dh::apply(&self.settings, &self.db).await.report
    }

    fn user_id(&self, account: &str) -> i64 {
        lock(&self.sim.state.cloudroom)
            .user(account)
            .unwrap_or_else(|| panic!("{account} exists"))
            .user_id
    }

    fn password(&self, account: &str) -> String {
        lock(&self.sim.state.cloudroom)
            .user(account)
            .map(|u| u.password.expose_secret().to_string())
            .unwrap_or_default()
    }

    /// Deletes an account as an administrator would in CloudRoom's console.
    async fn delete_by_hand(&self, account: &str) {
        let client = confsync::cloudroom::CloudRoomClient::new(&self.settings.cloudroom).unwrap();
        client.delete_user(account).await.unwrap();
    }

    /// Another apply sends no request at all: the push has converged.
    async fn assert_converged(&self, reading: UndocumentedErrors) {
        let before = dh::requests(&self.sim);
        let again = self.apply().await;
        assert!(!again.failed(), "{reading:?}: {again}");
        let made = self.mutations(&before);
        assert!(made.is_empty(), "{reading:?}: a second apply sent {made:?}");
    }

    /// Requests since `before`, by endpoint.
    fn mutations(&self, before: &BTreeMap<(String, String), u64>) -> BTreeMap<String, u64> {
        dh::delta(before, &dh::requests(&self.sim))
    }
}

/// A person whose fields depend on the account only, so that a change of
/// the employee id alone changes nothing CloudRoom receives.
fn row(id: &str, account: &str) -> String {
    let email = format!("{account}@example.com");
    dh::person_row(id, &[("account", account), ("email", &email)])
}

#[tokio::test]
async fn an_account_made_by_hand_is_adopted_under_both_readings() {
    for reading in READINGS {
        let w = world(reading, &[row("E1", "adv1"), row("E2", "adv2")]).await;
        dh::create_by_hand(&w.settings, "adv1", "made-by-hand-1").await;
        let id = w.user_id("adv1");
        let summary = w.apply().await;
        assert!(!summary.failed(), "{reading:?}: {summary}");
        assert_eq!(w.user_id("adv1"), id, "{reading:?}: the same account");
        assert_eq!(w.password("adv1"), "made-by-hand-1", "{reading:?}");
        assert_eq!(
            lock(&w.sim.state.cloudroom).user("adv1").unwrap().name,
            "测试员工"
        );
        let origin: String = sqlx::query_scalar(
            "select cloudroom_origin from directory.users where employee_id = 'E1'",
        )
        .fetch_one(&w.db.pool)
        .await
        .unwrap();
        assert_eq!(origin, "adopted", "{reading:?}");
        w.assert_converged(reading).await;
    }
}

#[tokio::test]
async fn an_account_deleted_in_the_console_is_created_again() {
    for reading in READINGS {
        let w = world(reading, &[row("E1", "adv1")]).await;
        assert!(!w.apply().await.failed());
        w.delete_by_hand("adv1").await;
        let renamed = dh::person_row("E1", &[("account", "adv1"), ("name", "新名字")]);
        dh::rewrite(&w.path, &csv(&[renamed]));
        let summary = w.apply().await;
        assert!(!summary.failed(), "{reading:?}: {summary}");
        assert_eq!(
            lock(&w.sim.state.cloudroom).user("adv1").unwrap().name,
            "新名字"
        );
    }
}

#[tokio::test]
async fn an_employee_id_that_changes_case_or_system_keeps_its_account() {
    for reading in READINGS {
        let w = world(reading, &[row("E10001", "adv1"), row("E10002", "adv2")]).await;
        assert!(!w.apply().await.failed());
        let (id, password) = (w.user_id("adv1"), w.password("adv1"));

        // A case change, and full-width digits: the same person, no call.
        dh::rewrite(
            &w.path,
            &csv(&[row("e１0001", "adv1"), row("E10002", "adv2")]),
        );
        let before = dh::requests(&w.sim);
        let summary = w.apply().await;
        assert!(!summary.failed(), "{reading:?}: {summary}");
        assert!(
            w.mutations(&before).is_empty(),
            "{reading:?}: {:?}",
            w.mutations(&before)
        );

        // An HR migration: a new id, the same account. The record follows
        // the account: no delete, no create, at most one PUT.
        dh::rewrite(
            &w.path,
            &csv(&[
                dh::person_row(
                    "X900",
                    &[
                        ("account", "adv1"),
                        ("email", "adv1@example.com"),
                        ("name", "迁移后"),
                    ],
                ),
                row("E10002", "adv2"),
            ]),
        );
        let before = dh::requests(&w.sim);
        let summary = w.apply().await;
        assert!(!summary.failed(), "{reading:?}: {summary}");
        let made = w.mutations(&before);
        assert_eq!(
            made,
            BTreeMap::from([("user.update".to_string(), 1)]),
            "{reading:?}"
        );
        assert_eq!(w.user_id("adv1"), id, "{reading:?}: userId unchanged");
        assert_eq!(
            w.password("adv1"),
            password,
            "{reading:?}: the same holder keeps it"
        );
        w.assert_converged(reading).await;
    }
}

#[tokio::test]
async fn swaps_and_chains_converge_in_one_apply_with_puts_only() {
    for reading in READINGS {
        let people = [
            ("E1", "acc1"),
            ("E2", "acc2"),
            ("E3", "acc3"),
            ("E4", "acc4"),
            ("E5", "acc5"),
            ("E6", "acc6"),
        ];
        let rows: Vec<String> = people.iter().map(|(id, a)| row(id, a)).collect();
        let w = world(reading, &rows).await;
        assert!(!w.apply().await.failed());
        let ids: Vec<i64> = people.iter().map(|(_, a)| w.user_id(a)).collect();
        let passwords: Vec<String> = people.iter().map(|(_, a)| w.password(a)).collect();

        // E1 <-> E2 swap, and a chain E3 -> acc4, E4 -> acc5, E5 -> acc3.
        let after = [
            ("E1", "acc2"),
            ("E2", "acc1"),
            ("E3", "acc4"),
            ("E4", "acc5"),
            ("E5", "acc3"),
            ("E6", "acc6"),
        ];
        dh::rewrite(
            &w.path,
            &csv(&after.iter().map(|(id, a)| row(id, a)).collect::<Vec<_>>()),
        );
        let before = dh::requests(&w.sim);
        let summary = w.apply().await;
        assert!(!summary.failed(), "{reading:?}: {summary}");
        let made = w.mutations(&before);
        assert_eq!(
            made,
            BTreeMap::from([("user.update".to_string(), 5)]),
            "{reading:?}"
        );
        for (i, (_, account)) in people.iter().enumerate() {
            assert_eq!(
                w.user_id(account),
                ids[i],
                "{reading:?}: {account} is the same account"
            );
        }
        for i in 0..5 {
            assert_ne!(w.password(people[i].1), passwords[i], "{reading:?}: reset");
        }
        assert_eq!(w.password("acc6"), passwords[5], "{reading:?}: untouched");
        let holders: Vec<(String, String)> =
            sqlx::query_as("select employee_id, account from directory.users order by employee_id")
                .fetch_all(&w.db.pool)
                .await
                .unwrap();
        let expected: Vec<(String, String)> = after
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(holders, expected, "{reading:?}");
        w.assert_converged(reading).await;
    }
}

#[tokio::test]
async fn a_claimed_account_is_never_deleted_and_a_replaced_one_is_proven_first() {
    for reading in READINGS {
        let w = world(reading, &[row("E1", "old1"), row("E2", "acc2")]).await;
        assert!(!w.apply().await.failed());
        // E1 moves to a new account; E2 now claims E1's old one.
        dh::rewrite(&w.path, &csv(&[row("E1", "new1"), row("E2", "old1")]));
        let before = dh::requests(&w.sim);
        let summary = w.apply().await;
        assert!(!summary.failed(), "{reading:?}: {summary}");
        let made = w.mutations(&before);
        assert_eq!(
            made.get("user.delete").copied().unwrap_or(0),
            1,
            "{reading:?}: {made:?}"
        );
        let world = lock(&w.sim.state.cloudroom);
        assert!(world.user("old1").is_some(), "{reading:?}: claimed by E2");
        assert!(world.user("new1").is_some(), "{reading:?}");
        assert!(
            world.user("acc2").is_none(),
            "{reading:?}: released, proven, deleted"
        );
    }
}

#[tokio::test]
async fn a_leaver_whose_account_is_already_gone_is_forgotten_without_a_delete() {
    for reading in READINGS {
        let w = world(reading, &[row("E1", "acc1"), row("E2", "acc2")]).await;
        assert!(!w.apply().await.failed());
        w.delete_by_hand("acc2").await;
        dh::rewrite(&w.path, &csv(&[row("E1", "acc1")]));
        let before = dh::requests(&w.sim);
        let summary = w.apply().await;
        assert!(!summary.failed(), "{reading:?}: {summary}");
        let made = w.mutations(&before);
        assert_eq!(made.get("user.delete"), None, "{reading:?}: {made:?}");
        assert_eq!(
            made.get("user.update").copied(),
            Some(1),
            "{reading:?}: the proof"
        );
        let left = dh::count(
            &w.db,
            "select count(*) from directory.users where employee_id = 'E2'",
        )
        .await;
        assert_eq!(left, 0, "{reading:?}");
    }
}

#[tokio::test]
async fn a_protected_account_is_never_touched() {
    for reading in READINGS {
        let w = world(reading, &[row("E1", "admin"), row("E2", "acc2")]).await;
        let mut settings = w.settings.clone();
        settings.directory.protected_accounts = vec!["Admin".into()];
        let summary = dh::apply(&settings, &w.db).await;
        assert!(!summary.failed(), "{reading:?}: {summary}");
        assert!(
            lock(&w.sim.state.cloudroom).user("admin").is_none(),
            "{reading:?}"
        );
        let plan = confsync::directory::prepare(
            settings.top_tenant().directory_config(),
            &w.db.pool,
            false,
        )
        .await
        .unwrap();
        let text = plan.report().to_string();
        assert!(
            text.contains("protected:") && text.contains("admin (E1)"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_replacement_heavy_export_is_staged_by_the_guard() {
    let rows: Vec<String> = (1..=12)
        .map(|i| row(&format!("E{i}"), &format!("acc{i}")))
        .collect();
    let w = world(UndocumentedErrors::Generic, &rows).await;
    assert!(!w.apply().await.failed());
    let renamed: Vec<String> = (1..=12)
        .map(|i| row(&format!("E{i}"), &format!("new{i}")))
        .collect();
    dh::rewrite(&w.path, &csv(&renamed));
    let plan = confsync::directory::prepare(
        w.settings.top_tenant().directory_config(),
        &w.db.pool,
        false,
    )
    .await
    .unwrap();
    let mass = plan.mass_delete.clone().expect("the guard trips");
    assert_eq!((mass.deletes, mass.cloudroom_users), (12, 12));
    assert!(plan.report().to_string().contains("would release all 12"));
    let summary = w.apply().await;
    assert_eq!(
        dh::calls(&w.sim, "cloudroom", "user.delete"),
        0,
        "{summary}"
    );
    assert_eq!(lock(&w.sim.state.cloudroom).users().count(), 24);
}

#[tokio::test]
async fn a_department_create_whose_answer_is_lost_is_not_sent_twice() {
    let w = world(UndocumentedErrors::Generic, &[row("E1", "acc1")]).await;
    let mut settings = w.settings.clone();
    settings.cloudroom.timeout_seconds = 1;
    common::admin(
        &w.sim,
        reqwest::Method::POST,
        "/faults",
        Some(serde_json::json!({"slow_answers": {"department.create": {"count": 1, "millis": 2500}}})),
    )
    .await;
    let first = dh::apply(&settings, &w.db).await;
    assert!(first.failed(), "{first}");
    // The POST went once and took effect; the answer was lost.
    assert_eq!(dh::calls(&w.sim, "cloudroom", "department.create"), 1);
    let plan =
        confsync::directory::prepare(settings.top_tenant().directory_config(), &w.db.pool, false)
            .await
            .unwrap();
    let text = plan.report().to_string();
    assert!(text.contains("directory settle --department"), "{text}");
    let second = dh::apply(&settings, &w.db).await;
    assert_eq!(
        dh::calls(&w.sim, "cloudroom", "department.create"),
        1,
        "{second}"
    );
    assert_eq!(
        dh::calls(&w.sim, "cloudroom", "user.create"),
        0,
        "the person waits"
    );

    // A person looks in the console and settles it.
    let made = {
        let world = lock(&w.sim.state.cloudroom);
        world.departments().map(|d| d.department_id).max().unwrap()
    };
    let client = confsync::cloudroom::CloudRoomClient::new(&settings.cloudroom).unwrap();
    let key = plan
        .desired
        .departments
        .values()
        .find(|d| d.parent_key.is_none())
        .map(|d| d.key.clone())
        .expect("the top department, the uncertain one");
    let done = confsync::directory::settle::settle(
        &w.db.pool,
        &settings.cloudroom.tenant,
        &client,
        &key,
        confsync::directory::settle::Settlement::Exists(made),
    )
    .await
    .unwrap();
    assert!(done.contains(&made.to_string()), "{done}");
    let third = dh::apply(&settings, &w.db).await;
    assert!(!third.failed(), "{third}");
    let world = lock(&w.sim.state.cloudroom);
    assert_eq!(
        world.departments().count(),
        2,
        "no duplicate of the top department"
    );
    assert!(world.user("acc1").is_some());
}

/// A replaced account whose DELETE fails (here its proof PUT's answers are
/// lost) is kept in `directory.released_accounts`, although the person's
/// record now names the new account, and the next apply proves and deletes
/// it; an account claimed again by then is kept and no longer released.
#[tokio::test]
async fn a_replaced_account_whose_delete_failed_is_deleted_by_the_next_apply() {
    for reading in READINGS {
        let w = world(reading, &[row("E1", "acc1"), row("E2", "acc2")]).await;
        assert!(!w.apply().await.failed());
        let mut settings = w.settings.clone();
        settings.cloudroom.timeout_seconds = 1;
        dh::rewrite(&w.path, &csv(&[row("E1", "new1"), row("E2", "new2")]));
        let lost =
            serde_json::json!({"slow_answers": {"user.update": {"count": 20, "millis": 1500}}});
        common::admin(&w.sim, reqwest::Method::POST, "/faults", Some(lost)).await;
        let first = dh::apply(&settings, &w.db).await.report;
        assert!(first.failed(), "{reading:?}: {first}");
        common::admin(
            &w.sim,
            reqwest::Method::POST,
            "/faults",
            Some(serde_json::json!({})),
        )
        .await;
        {
            let world = lock(&w.sim.state.cloudroom);
            for account in ["acc1", "acc2", "new1", "new2"] {
                assert!(world.user(account).is_some(), "{reading:?}: {account}");
            }
        }
        let released = dh::count(&w.db, "select count(*) from directory.released_accounts").await;
        assert_eq!(released, 2, "{reading:?}");

        // E3 claims acc2 meanwhile: it is taken over with a new password
        // (E2 knows the old one), never deleted.
        let e2_password = w.password("acc2");
        dh::rewrite(
            &w.path,
            &csv(&[row("E1", "new1"), row("E2", "new2"), row("E3", "acc2")]),
        );
        let before = dh::requests(&w.sim);
        let second = w.apply().await;
        assert!(!second.failed(), "{reading:?}: {second}");
        let made = w.mutations(&before);
        assert_eq!(
            made.get("user.delete").copied(),
            Some(1),
            "{reading:?}: {made:?}"
        );
        {
            let world = lock(&w.sim.state.cloudroom);
            assert!(world.user("acc1").is_none(), "{reading:?}: proven, deleted");
            assert!(world.user("acc2").is_some(), "{reading:?}: claimed by E3");
        }
        assert_ne!(w.password("acc2"), e2_password, "{reading:?}: a new holder");
        assert_eq!(made.get("user.create"), None, "{reading:?}: {made:?}");
        let released = dh::count(&w.db, "select count(*) from directory.released_accounts").await;
        assert_eq!(released, 0, "{reading:?}");
        let before = dh::requests(&w.sim);
        assert!(!w.apply().await.failed());
        assert!(w.mutations(&before).is_empty(), "{reading:?}: converged");
    }
}
