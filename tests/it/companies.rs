//! `confsync companies plan|apply`: the tenants' [company] sections made
//! true with the platform's credentials, deleting only what confsync
//! created and the command names, never showing a password.

use std::path::Path;
use std::process::Output;

use secrecy::ExposeSecret;

use crate::common;
use crate::tenants::{sim_with_tenants, write_config};

const PASSWORD: &str = "first-admin-pw-4711";

fn companies(sim: &confsync_sim::RunningSimulator) -> Vec<(String, String, String)> {
    let world = sim.state.world_of(None).lock().unwrap();
    world
        .companies()
        .map(|c| {
            (
                c.comp_guid.clone(),
                c.comp_name.clone(),
                c.admin_pwd.expose_secret().to_string(),
            )
        })
        .collect()
}

async fn confsync(config: &Path, args: &[&str]) -> Output {
    confsync_with(config, args, &[]).await
}

/// As [`confsync`], with a 1 s CloudRoom timeout.
async fn confsync_with_timeout(config: &Path, args: &[&str]) -> Output {
    confsync_with(
        config,
        args,
        &[("CONFSYNC_CLOUDROOM__TIMEOUT_SECONDS", "1")],
    )
    .await
}

async fn confsync_with(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    // Not std::process: the simulator answers on this test's runtime.
    tokio::process::Command::new(env!("CARGO_BIN_EXE_confsync"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("CONFSYNC_CONFIG")
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn declare(config: &Path, platform: (&str, &str), globex_name: Option<&str>) {
    let base = std::fs::read_to_string(config.with_file_name("base.toml")).unwrap();
    let password = config.with_file_name("globex-admin-password");
    std::fs::write(&password, format!("{PASSWORD}\n")).unwrap();
    let mut text = format!(
        "{base}\n[platform]\nsecret_id = \"{}\"\nsecret_key = \"{}\"\n\
         [tenants.t001.company]\ncomp_name = \"Acme\"\nadmin = \"admin@acme.example\"\nadmin_name = \"Acme Admin\"\n",
        platform.0, platform.1
    );
    if let Some(name) = globex_name {
        text.push_str(&format!(
            "[tenants.t002.company]\ncomp_guid = \"globex-guid\"\ncomp_name = \"{name}\"\n\
             admin = \"admin@globex.example\"\nadmin_name = \"Globex Admin\"\nadmin_password_file = \"{}\"\n",
            password.display()
        ));
    }
    std::fs::write(config, text).unwrap();
}

#[tokio::test]
async fn companies_are_planned_created_renamed_and_deleted_only_when_named() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, tenants) = sim_with_tenants(2, common::small_sim(), dir.path()).await;
    let db = common::migrated_db().await;
    let config = write_config(dir.path(), &sim, &db, &tenants, (2, false), "");
    std::fs::rename(&config, config.with_file_name("base.toml")).unwrap();
    let platform = &tenants.file["platform"];
    let platform = (
        platform["secret_id"].as_str().unwrap(),
        platform["secret_key"].as_str().unwrap(),
    );
    declare(&config, platform, Some("Globex"));

    let plan = confsync(&config, &["companies", "plan"]).await;
    assert!(plan.status.success(), "{}", text(&plan));
    let shown = text(&plan);
    assert!(
        shown.contains("+ create t001 \"Acme\"") && shown.contains("+ create globex-guid"),
        "{shown}"
    );
    assert!(
        shown.contains("password generated") && !shown.contains(PASSWORD),
        "{shown}"
    );
    assert!(companies(&sim).is_empty(), "a plan sends nothing");

    let apply = confsync(&config, &["companies", "apply"]).await;
    assert!(apply.status.success(), "{}", text(&apply));
    assert!(!text(&apply).contains(PASSWORD));
    let made = companies(&sim);
    assert_eq!(made.len(), 2, "{made:?}");
    let globex = made.iter().find(|c| c.0 == "globex-guid").unwrap();
    assert_eq!(globex.2, PASSWORD, "the password file's password was sent");
    let acme = made.iter().find(|c| c.0 == "t001").unwrap();
    assert_eq!(acme.2.len(), 20, "a generated password");
    let again = confsync(&config, &["companies", "plan"]).await;
    assert!(
        text(&again).contains("0 change(s), 2 unchanged"),
        "{}",
        text(&again)
    );

    declare(&config, platform, Some("Globex Corporation"));
    let renamed = confsync(&config, &["companies", "apply", "--json"]).await;
    assert!(renamed.status.success(), "{}", text(&renamed));
    assert!(companies(&sim).iter().any(|c| c.1 == "Globex Corporation"));

    // No longer declared: kept until the command names it.
    declare(&config, platform, None);
    let kept = confsync(&config, &["companies", "apply"]).await;
    assert!(
        text(&kept).contains("add --delete globex-guid"),
        "{}",
        text(&kept)
    );
    assert_eq!(companies(&sim).len(), 2);
    let declared = confsync(&config, &["companies", "apply", "--delete", "t001"]).await;
    assert!(!declared.status.success());
    assert!(
        text(&declared).contains("still declares it"),
        "{}",
        text(&declared)
    );
    let deleted = confsync(&config, &["companies", "apply", "--delete", "globex-guid"]).await;
    assert!(deleted.status.success(), "{}", text(&deleted));
    assert_eq!(companies(&sim).len(), 1);
    let stored: i64 = sqlx::query_scalar("select count(*) from confsync.companies")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn an_enterprise_credential_gets_22224_and_is_told_the_platform_is_needed() {
    refused_with(confsync_sim::cloudroom::WrongScope::Permission, "22224").await;
}

#[tokio::test]
async fn a_server_that_refuses_the_scope_with_22007_gets_the_same_hint() {
    refused_with(confsync_sim::cloudroom::WrongScope::ApiDisabled, "22007").await;
}

async fn refused_with(wrong_scope: confsync_sim::cloudroom::WrongScope, code: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = confsync_sim::SimConfig {
        wrong_scope,
        ..common::small_sim()
    };
    let (sim, tenants) = sim_with_tenants(1, config, dir.path()).await;
    let db = common::migrated_db().await;
    let config = write_config(dir.path(), &sim, &db, &tenants, (1, false), "");
    std::fs::rename(&config, config.with_file_name("base.toml")).unwrap();
    let (id, key) = tenants.credentials(0);
    declare(&config, (&id, &key), None);
    let refused = confsync(&config, &["companies", "apply"]).await;
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
    let said = text(&refused);
    assert!(
        said.contains(code) && said.contains("platform's global credentials"),
        "{said}"
    );
    assert!(companies(&sim).is_empty());

    let base = std::fs::read_to_string(config.with_file_name("base.toml")).unwrap();
    let without = format!(
        "{base}\n[tenants.t001.company]\ncomp_name = \"A\"\nadmin = \"a\"\nadmin_name = \"A\"\n"
    );
    std::fs::write(&config, without).unwrap();
    let missing = confsync(&config, &["companies", "apply"]).await;
    assert_eq!(missing.status.code(), Some(78), "{}", text(&missing));
    assert!(
        text(&missing).contains("platform.secret_id"),
        "{}",
        text(&missing)
    );
}

fn company_calls(sim: &confsync_sim::RunningSimulator, endpoint: &str) -> u64 {
    crate::common::directory::calls(sim, "cloudroom", endpoint)
}

/// One tenant, t001, that declares a company (Acme), and its config.
async fn one_company() -> (
    tempfile::TempDir,
    confsync_sim::RunningSimulator,
    common::TestDb,
    std::path::PathBuf,
) {
    let dir = tempfile::tempdir().unwrap();
    let (sim, tenants) = sim_with_tenants(1, common::small_sim(), dir.path()).await;
    let db = common::migrated_db().await;
    let config = write_config(dir.path(), &sim, &db, &tenants, (1, false), "");
    std::fs::rename(&config, config.with_file_name("base.toml")).unwrap();
    let platform = &tenants.file["platform"];
    let platform = (
        platform["secret_id"].as_str().unwrap(),
        platform["secret_key"].as_str().unwrap(),
    );
    declare(&config, platform, None);
    (dir, sim, db, config)
}

async fn uncertain_rows(db: &common::TestDb) -> Vec<(String, Option<String>)> {
    sqlx::query_as("select comp_guid, request_id from confsync.uncertain_companies")
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

/// A company POST that takes effect but whose answer comes after the
/// client's timeout is recorded uncertain with its X-CR-RequestId and never
/// sent again; a PUT of its name proves it, in the next apply here because
/// the first proof's answer is lost too.
#[tokio::test]
async fn a_company_create_whose_answer_is_lost_is_not_sent_twice() {
    let (_dir, sim, db, config) = one_company().await;
    // The PUT is retried once after a timeout (it is idempotent): both
    // attempts' answers are lost.
    let faults = serde_json::json!({"slow_answers": {
        "company.create": {"count": 1, "millis": 2500},
        "company.update": {"count": 2, "millis": 2500},
    }});
    common::admin(&sim, reqwest::Method::POST, "/faults", Some(faults)).await;

    let first = confsync_with_timeout(&config, &["companies", "apply"]).await;
    assert_eq!(first.status.code(), Some(3), "{}", text(&first));
    let said = text(&first);
    assert!(
        said.contains("1 uncertain") && said.contains("X-CR-RequestId"),
        "{said}"
    );
    assert_eq!(company_calls(&sim, "company.create"), 1);
    assert_eq!(companies(&sim).len(), 1, "the POST took effect");
    let rows = uncertain_rows(&db).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].1.as_deref().is_some_and(|id| said.contains(id)));

    let plan = confsync(&config, &["companies", "plan"]).await;
    assert!(
        text(&plan).contains("? uncertain t001") && text(&plan).contains("companies settle"),
        "{}",
        text(&plan)
    );
    let second = confsync_with_timeout(&config, &["companies", "apply"]).await;
    assert!(second.status.success(), "{}", text(&second));
    assert!(text(&second).contains("1 settled"), "{}", text(&second));
    assert_eq!(
        company_calls(&sim, "company.create"),
        1,
        "never a second POST"
    );
    assert!(uncertain_rows(&db).await.is_empty());
    let again = confsync(&config, &["companies", "plan"]).await;
    assert!(
        text(&again).contains("0 change(s), 1 unchanged"),
        "{}",
        text(&again)
    );
}

/// An uncertain create that CloudRoom does not have: the PUT is refused
/// (the document's generic 400), so it stays uncertain with no POST until
/// a person settles it absent; then one POST creates it.
#[tokio::test]
async fn an_uncertain_company_that_does_not_exist_waits_for_a_person() {
    let (_dir, sim, db, config) = one_company().await;
    sqlx::query(
        "insert into confsync.uncertain_companies (comp_guid, tenant, comp_name, admin, admin_name, request_id)
         values ('t001', 't001', 'Acme', 'admin@acme.example', 'Acme Admin', 'lost-request')",
    )
    .execute(&db.pool)
    .await
    .unwrap();

    let refused = confsync(&config, &["companies", "apply"]).await;
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
    assert!(
        text(&refused).contains("lost-request"),
        "{}",
        text(&refused)
    );
    assert_eq!(company_calls(&sim, "company.create"), 0);
    assert_eq!(company_calls(&sim, "company.update"), 1, "the proof");
    let delete = confsync(&config, &["companies", "apply", "--delete", "t001"]).await;
    assert!(
        text(&delete).contains("settle it first"),
        "{}",
        text(&delete)
    );
    let exists = confsync(
        &config,
        &["companies", "settle", "--guid", "t001", "--exists"],
    )
    .await;
    assert_eq!(exists.status.code(), Some(1), "{}", text(&exists));
    assert!(
        text(&exists).contains("stays uncertain"),
        "{}",
        text(&exists)
    );

    let absent = confsync(
        &config,
        &["companies", "settle", "--guid", "t001", "--absent"],
    )
    .await;
    assert!(absent.status.success(), "{}", text(&absent));
    let created = confsync(&config, &["companies", "apply"]).await;
    assert!(created.status.success(), "{}", text(&created));
    assert_eq!(company_calls(&sim, "company.create"), 1);
    assert_eq!(companies(&sim).len(), 1);
    let unknown = confsync(
        &config,
        &["companies", "settle", "--guid", "t001", "--absent"],
    )
    .await;
    assert!(
        text(&unknown).contains("no uncertain create"),
        "{}",
        text(&unknown)
    );
}
