//! PostgreSQL over TLS (sqlx with rustls), against the local server with
//! the throwaway CA that scripts/ci-postgres-tls.sh gives it (.ci/run runs
//! it): every sslmode, a refused certificate as one sentence, a client
//! certificate whose key is a credential file, and a `postgres:` directory
//! source read over that connection.

use std::path::PathBuf;

use crate::common;
use crate::common::directory as dh;

use confsync::configuration::{self, ConfigSources};
use confsync::store::db::{self, DatabaseSettings};

/// The CA the server's `ssl_ca_file` names, and the directory beside it
/// holding the client certificate and key for the role confsync_tls.
struct TlsFiles {
    ca: PathBuf,
    client: PathBuf,
}

async fn tls_files(db: &common::TestDb) -> TlsFiles {
    let ssl: String = sqlx::query_scalar("show ssl")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let ca: String = sqlx::query_scalar("show ssl_ca_file")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let ca = PathBuf::from(ca);
    let client = ca.parent().unwrap_or(&ca).join("client");
    assert!(
        ssl == "on" && client.join("client.key").exists(),
        "the test PostgreSQL needs ssl on with a CA of its own and a client certificate: \
         run scripts/ci-postgres-tls.sh (as .ci/run does)"
    );
    TlsFiles { ca, client }
}

/// The test database's URL with `user`, `host` and `params`.
fn url(db: &common::TestDb, user: &str, host: &str, params: &str) -> String {
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_username(user).unwrap();
    url.set_host(Some(host)).unwrap();
    url.set_query(Some(params));
    url.to_string()
}

async fn connect(url: String) -> Result<sqlx::PgPool, db::DbError> {
    let settings = DatabaseSettings {
        url,
        ..DatabaseSettings::default()
    };
    db::connect(&settings).await
}

async fn encrypted(pool: &sqlx::PgPool) -> bool {
    sqlx::query_scalar("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_sslmode_connects_as_documented_and_a_refused_certificate_is_one_sentence() {
    let db = common::test_db().await;
    let files = tls_files(&db).await;
    let ca = files.ca.display();
    for (mode, host, want_tls) in [
        ("disable", "127.0.0.1", false),
        ("prefer", "127.0.0.1", true),
        ("require", "127.0.0.1", true),
        (&*format!("verify-ca&sslrootcert={ca}"), "127.0.0.1", true),
        (&*format!("verify-full&sslrootcert={ca}"), "localhost", true),
    ] {
        let pool = connect(url(&db, "postgres", host, &format!("sslmode={mode}")))
            .await
            .unwrap_or_else(|e| panic!("sslmode={mode}: {e:?}"));
        assert_eq!(encrypted(&pool).await, want_tls, "sslmode={mode}");
    }

    let verified = format!("sslmode=verify-full&sslrootcert={ca}");
    for (host, params, what) in [
        ("127.0.0.1", verified.as_str(), "the wrong host name"),
        ("localhost", "sslmode=verify-full", "an unknown CA"),
    ] {
        let e = connect(url(&db, "postgres", host, params))
            .await
            .unwrap_err();
        assert!(matches!(e, db::DbError::Tls { .. }), "{what}: {e:?}");
        let shown = confsync::causes::Chain(&e).to_string();
        assert!(shown.contains("database.url"), "{what}: {shown}");
        assert!(!shown.contains('\n'), "{what}: {shown}");
    }
}

/// Settings loaded as the daemon loads them: `sslkey` relative, in
/// `$CREDENTIALS_DIRECTORY` (systemd's LoadCredential=).
fn load_with_client_key(
    database_url: &str,
    credentials: &std::path::Path,
) -> configuration::Settings {
    let sources = ConfigSources {
        file: None,
        env: Some(vec![
            ("CONFSYNC_DATABASE__URL".into(), database_url.into()),
            (
                "CREDENTIALS_DIRECTORY".into(),
                credentials.display().to_string(),
            ),
        ]),
    };
    configuration::load(&sources).expect("configuration").0
}

#[tokio::test]
async fn a_client_certificate_with_its_key_as_a_credential_file_reads_a_postgres_source() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::migrated_db().await;
    let files = tls_files(&db).await;
    let (ca, client) = (files.ca.display(), files.client.display());
    let params = format!(
        "sslmode=verify-full&sslrootcert={ca}&sslcert={client}/client.crt&sslkey=client.key"
    );
    let tls_url = url(&db, "confsync_tls", "localhost", &params);

    // Without the certificate, the role's `cert` line refuses it.
    let bare = url(
        &db,
        "confsync_tls",
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    let e = connect(bare).await.unwrap_err();
    assert!(confsync::causes::Chain(&e)
        .to_string()
        .contains("database.url"));

    let loaded = load_with_client_key(&tls_url, &files.client);
    assert!(
        loaded
            .database
            .url
            .contains(&format!("{client}/client.key")),
        "{}",
        loaded.database.url
    );
    let missing = ConfigSources {
        file: None,
        env: Some(vec![("CONFSYNC_DATABASE__URL".into(), tls_url.clone())]),
    };
    let problem = configuration::load(&missing).expect_err("no key without the directory");
    assert!(problem.to_string().contains("sslkey"), "{problem}");

    let pool = db::connect(&loaded.database)
        .await
        .expect("client certificate");
    let (user, dn): (String, String) = sqlx::query_as(
        "select current_user::text, client_dn from pg_stat_ssl where pid = pg_backend_pid()",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (user.as_str(), dn.as_str()),
        ("confsync_tls", "/CN=confsync_tls")
    );

    // The directory's `postgres:` source runs on this same pool.
    sqlx::query("create table hr_people as select 'E1'::text as employee_id, 'a1'::text as account, '甲'::text as name")
        .execute(&pool)
        .await
        .unwrap();
    let mut settings = dh::settings(&sim, &db, &dh::sample_path());
    settings.database = loaded.database.clone();
    settings.directory.source = Some("postgres: select * from hr_people".into());
    let plan = confsync::directory::prepare(settings.top_tenant().directory_config(), &pool, false)
        .await
        .expect("the postgres: source over TLS");
    assert_eq!(plan.report().valid_rows, 1);
}
