//! The database: one static migrator embedded in the binary, and pool setup.

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use crate::configuration::DatabaseSettings;

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database.url is not a PostgreSQL URL: {0}")]
    BadUrl(#[source] sqlx::Error),
    #[error("cannot connect to PostgreSQL at {target}: {source}")]
    Connect {
        target: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot create database {name}: {source}")]
    Create {
        name: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

fn options(settings: &DatabaseSettings) -> Result<PgConnectOptions, DbError> {
    settings.url.parse().map_err(DbError::BadUrl)
}

/// Host, port and database, without the password, for error messages.
fn describe(options: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("postgres")
    )
}

pub async fn connect(settings: &DatabaseSettings) -> Result<PgPool, DbError> {
    let options = options(settings)?;
    let target = describe(&options);
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(|source| DbError::Connect { target, source })
}

/// Connects and applies pending migrations (every command that uses the database does this).
pub async fn connect_and_migrate(settings: &DatabaseSettings) -> Result<PgPool, DbError> {
    let pool = connect(settings).await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// Creates the database named in `database.url` when it does not exist (the demo does this).
pub async fn create_database_if_missing(settings: &DatabaseSettings) -> Result<(), DbError> {
    let options = options(settings)?;
    let name = options.get_database().unwrap_or("postgres").to_string();
    let admin = options.clone().database("postgres");
    let mut conn = PgConnection::connect_with(&admin)
        .await
        .map_err(|source| DbError::Connect {
            target: describe(&admin),
            source,
        })?;
    let exists: Option<i32> = sqlx::query_scalar("select 1 from pg_database where datname = $1")
        .bind(&name)
        .fetch_optional(&mut conn)
        .await
        .map_err(|source| DbError::Create {
            name: name.clone(),
            source,
        })?;
    if exists.is_none() {
        let quoted = name.replace('"', "\"\"");
        sqlx::query(&format!(r#"create database "{quoted}""#))
            .execute(&mut conn)
            .await
            .map_err(|source| DbError::Create { name, source })?;
    }
    Ok(())
}
