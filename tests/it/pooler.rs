//! Connection poolers: a job runs through PgBouncer in session mode, and
//! confsync refuses to start through one in transaction mode, whose shared
//! server sessions would not hold its job locks. `.ci/run` starts both
//! PgBouncers with scripts/ci-pgbouncer.sh.

use crate::common;

const SESSION: (&str, &str) = ("CONFSYNC_TEST_PGBOUNCER_SESSION", "127.0.0.1:6432");
const TRANSACTION: (&str, &str) = ("CONFSYNC_TEST_PGBOUNCER_TRANSACTION", "127.0.0.1:6433");

/// The test database's URL through the pooler at `(variable, default)`.
async fn through(pooler: (&str, &str), db: &common::TestDb) -> String {
    let address = std::env::var(pooler.0).unwrap_or_else(|_| pooler.1.to_string());
    if tokio::net::TcpStream::connect(&address).await.is_err() {
        panic!(
            "no PgBouncer at {address}: run scripts/ci-pgbouncer.sh (as .ci/run does), \
             or set {} to one in front of the test PostgreSQL",
            pooler.0
        );
    }
    let (host, port) = address.rsplit_once(':').expect("host:port");
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_host(Some(host)).unwrap();
    url.set_port(Some(port.parse().unwrap())).unwrap();
    url.to_string()
}

fn build(
    settings: confsync::configuration::Settings,
) -> impl std::future::Future<Output = anyhow::Result<confsync::jobs::JobContext>> {
    confsync::app::build(
        settings,
        tokio_util::sync::CancellationToken::new(),
        indicatif::ProgressBar::hidden(),
    )
}

#[tokio::test]
async fn a_mirror_runs_through_pgbouncer_in_session_mode() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::test_db().await;
    let mut settings = common::settings_for(&sim, &db);
    settings.database.url = through(SESSION, &db).await;

    let ctx = build(settings).await.expect("session pooling is accepted");
    let summaries = common::run_mirror(&ctx, &Default::default())
        .await
        .expect("the mirror runs through the pooler");
    assert!(summaries.iter().all(|s| s.error.is_none()), "{summaries:?}");
    let conferences: i64 = sqlx::query_scalar("select count(*) from cloudroom.conferences")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(conferences > 0);
}

#[tokio::test]
async fn transaction_pooling_is_refused_in_one_sentence_naming_the_mode() {
    let sim = common::simulator(common::small_sim()).await;
    let db = common::test_db().await;
    let mut settings = common::settings_for(&sim, &db);
    settings.database.url = through(TRANSACTION, &db).await;

    let error = build(settings).await.err().expect("refused");
    let shown = confsync::causes::Chain(error.as_ref()).to_string();
    for part in [
        "database.url",
        "transaction or statement pooling mode",
        "pool_mode = session",
    ] {
        assert!(shown.contains(part), "{part}: {shown}");
    }
    assert!(!shown.contains('\n'), "{shown}");
    // Refused before anything was written: no migration ran through it.
    let migrated: Option<String> =
        sqlx::query_scalar("select to_regclass('_sqlx_migrations')::text")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(migrated, None);
}

/// The second line of defence, for a pooler the connect check missed: the
/// job lock's watcher sees its connection reach another server session than
/// the one that took the lock, and gives the run up.
#[tokio::test]
async fn a_lock_whose_connection_moves_to_another_server_session_is_lost() {
    use confsync::store::locks::JobLock;
    use sqlx::Connection as _;

    let db = common::test_db().await;
    let url = through(TRANSACTION, &db).await;
    // Straight to the pooler, past confsync's connect check.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    let tenant = format!("pooler-{}", uuid::Uuid::new_v4().simple());
    let lock = JobLock::try_acquire(&pool, &tenant, "history")
        .await
        .unwrap()
        .expect("the lock");
    // Another client's transaction takes the server session the lock's
    // statement just gave back, so the watcher's next check lands elsewhere.
    let mut other = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("begin").execute(&mut other).await.unwrap();
    sqlx::raw_sql("select 1").execute(&mut other).await.unwrap();

    let watched = lock.watch(std::time::Duration::from_millis(100));
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        watched.lost().cancelled(),
    )
    .await
    .expect("the watcher gives the lock up");
    let why = watched.why_lost().expect("a reason");
    assert!(
        why.contains("server session") && why.contains("pooler"),
        "{why}"
    );
    sqlx::raw_sql("rollback").execute(&mut other).await.unwrap();
}
