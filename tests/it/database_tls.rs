//! PostgreSQL over TLS (sqlx with rustls): sslmode require and verify-full
//! against the local server, whose certificate is Debian's self-signed
//! snakeoil one (CN and SAN `localhost`), so that it is its own CA.

use crate::common;

use confsync::store::db::{self, DatabaseSettings};

const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

/// The test database's URL with `host` and `params`.
fn url(db: &common::TestDb, host: &str, params: &str) -> String {
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_host(Some(host)).unwrap();
    url.set_query(Some(params));
    url.to_string()
}

async fn server_has_tls(db: &common::TestDb) {
    let ssl: String = sqlx::query_scalar("show ssl")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        ssl, "on",
        "the test PostgreSQL must have ssl on (with Debian's snakeoil certificate, as .ci/run checks)"
    );
    assert!(
        std::path::Path::new(SNAKEOIL).exists(),
        "{SNAKEOIL} is missing"
    );
}

async fn connect(url: String) -> Result<sqlx::PgPool, db::DbError> {
    let settings = DatabaseSettings {
        url,
        ..DatabaseSettings::default()
    };
    db::connect(&settings).await
}

#[tokio::test]
async fn require_and_verify_full_connect_and_a_refused_certificate_is_one_clear_sentence() {
    let db = common::test_db().await;
    server_has_tls(&db).await;

    let pool = connect(url(&db, "127.0.0.1", "sslmode=require"))
        .await
        .unwrap();
    let encrypted: bool =
        sqlx::query_scalar("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(encrypted);

    let verified = format!("sslmode=verify-full&sslrootcert={SNAKEOIL}");
    connect(url(&db, "localhost", &verified)).await.unwrap();

    for (host, params, what) in [
        ("127.0.0.1", verified.as_str(), "the wrong host name"),
        ("localhost", "sslmode=verify-full", "an unknown CA"),
    ] {
        let e = connect(url(&db, host, params)).await.unwrap_err();
        assert!(matches!(e, db::DbError::Tls { .. }), "{what}: {e:?}");
        let shown = confsync::causes::Chain(&e).to_string();
        assert!(shown.contains("database.url"), "{what}: {shown}");
        assert!(!shown.contains('\n'), "{what}: {shown}");
    }
}
