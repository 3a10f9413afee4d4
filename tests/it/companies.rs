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
    // Not std::process: the simulator answers on this test's runtime.
    tokio::process::Command::new(env!("CARGO_BIN_EXE_confsync"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("CONFSYNC_CONFIG")
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
