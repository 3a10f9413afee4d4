//! The database: one static migrator embedded in the binary, and pool setup.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// `[database]`. The password is a secret like the vendors' keys: one
/// written into `url` moves to `password` when the configuration loads, so
/// the URL can be shown, logged and stored as it is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    #[serde(serialize_with = "crate::secret::redact_opt")]
    pub password: Option<SecretString>,
    /// A file holding the password (relative: in `$CREDENTIALS_DIRECTORY`).
    pub password_file: Option<PathBuf>,
    pub max_connections: u32,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: "postgres://postgres@127.0.0.1:5432/confsync".into(),
            password: None,
            password_file: None,
            max_connections: 10,
        }
    }
}

impl DatabaseSettings {
    /// Moves a password written into `url`, as user info or as a
    /// `?password=` parameter, to `password`; an error when the password is
    /// also set elsewhere. A URL that does not parse is left for validation
    /// to name.
    pub fn take_password_from_url(&mut self) -> Result<(), String> {
        let Ok(mut url) = url::Url::parse(&self.url) else {
            return Ok(());
        };
        let in_query = url
            .query_pairs()
            .find(|(k, _)| k == "password")
            .map(|(_, v)| v.into_owned());
        let Some(password) = url.password().map(percent_decoded).or(in_query) else {
            return Ok(());
        };
        if self.password.is_some() || self.password_file.is_some() {
            return Err(
                "holds a password, and database.password or database.password_file sets one too: \
                 keep one"
                    .into(),
            );
        }
        // Only a URL that cannot carry a password refuses this, and it has one.
        let _ = url.set_password(None);
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "password")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        match kept.is_empty() {
            true => url.set_query(None),
            false => {
                url.query_pairs_mut().clear().extend_pairs(kept);
            }
        }
        self.url = url.to_string();
        self.password = Some(SecretString::from(password));
        Ok(())
    }
}

impl DatabaseSettings {
    /// Makes a relative `sslkey` in `url` a path in `$CREDENTIALS_DIRECTORY`
    /// (the client key is a credential, like the password file), and checks
    /// that every TLS file the URL names can be read, so that a missing one
    /// is a configuration problem naming its parameter rather than a failed
    /// handshake.
    pub fn resolve_tls_files(&mut self, credentials_dir: Option<&Path>) -> Result<(), String> {
        let Ok(mut url) = url::Url::parse(&self.url) else {
            return Ok(());
        };
        let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let mut problems = Vec::new();
        for (key, value) in &mut pairs {
            if !matches!(key.as_str(), "sslkey" | "sslcert" | "sslrootcert") {
                continue;
            }
            let path = match (key.as_str(), credentials_dir) {
                ("sslkey", Some(dir)) if Path::new(value).is_relative() => dir.join(&*value),
                _ => PathBuf::from(&*value),
            };
            if let Err(e) = std::fs::File::open(&path) {
                problems.push(format!("{key}: cannot read {}: {e}", path.display()));
            }
            *value = path.display().to_string();
        }
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        if !pairs.is_empty() {
            url.set_query(Some(&query_keeping_paths(&pairs)));
            self.url = url.to_string();
        }
        Ok(())
    }
}

/// A query string that leaves `/` in file paths as it is, so the URL that
/// `config show` prints reads as the paths were written.
fn query_keeping_paths(pairs: &[(String, String)]) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
    const VALUE: &AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'&')
        .add(b'+')
        .add(b'=')
        .add(b'?');
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, VALUE),
                utf8_percent_encode(v, VALUE)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// Messages leave their source out: it follows after `: ` in every chain
/// that `causes` prints.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database.url is not a PostgreSQL URL")]
    BadUrl(#[source] sqlx::Error),
    #[error(
        "cannot connect to PostgreSQL at {target} over TLS: its certificate was refused; \
         the host name in database.url must be one the certificate names, and sslrootcert \
         the CA that signed it (sslmode=verify-ca checks the CA only)"
    )]
    Tls {
        target: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot connect to PostgreSQL at {target} (database.url)")]
    Connect {
        target: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "database.url reaches PostgreSQL at {target} through a connection pooler in \
         transaction or statement pooling mode (one connection's statements ran in different \
         server sessions), where confsync's job locks, which are session advisory locks, do not \
         hold; connect to PostgreSQL directly or through the pooler in session mode \
         (PgBouncer: pool_mode = session); see docs/database.md"
    )]
    SharedSessions { target: String },
    #[error("cannot create database {name}")]
    Create {
        name: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot apply migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot read which migrations the database has")]
    Applied(#[source] sqlx::Error),
    #[error(
        "the database schema is behind this confsync: {missing} of its {known} migrations \
         are not applied (the first is {first}); run `confsync migrate` (this command changes nothing)"
    )]
    SchemaBehind {
        missing: usize,
        known: usize,
        first: String,
    },
}

fn options(settings: &DatabaseSettings) -> Result<PgConnectOptions, DbError> {
    let options: PgConnectOptions = settings.url.parse().map_err(DbError::BadUrl)?;
    Ok(match &settings.password {
        Some(password) => options.password(password.expose_secret()),
        None => options,
    })
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
    // sqlx's verify-ca asks rustls for the process's provider, which rustls
    // cannot choose when a build links two (the tests' testcontainers links
    // ring beside aws-lc-rs): name the one confsync uses. An error means one
    // is installed already.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let options = options(settings)?;
    let target = describe(&options);
    // The pool retries a refused connection until its acquire timeout and
    // then says only "pool timed out": one direct connection first names the
    // real cause (refused, unknown host, authentication) at once.
    let probe = PgConnection::connect_with(&options)
        .await
        .map_err(|source| connect_error(target.clone(), source))?;
    let _ = probe.close().await;
    refuse_shared_sessions(&options, &target).await?;
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(|source| DbError::Connect { target, source })
}

/// Refuses a pooler that shares server sessions between clients: the job
/// locks would not hold (see [`super::pooler`]).
async fn refuse_shared_sessions(options: &PgConnectOptions, target: &str) -> Result<(), DbError> {
    let sessions = super::pooler::sessions(options)
        .await
        .map_err(|source| DbError::Connect {
            target: target.to_string(),
            source,
        })?;
    match sessions {
        super::pooler::Sessions::Kept => Ok(()),
        super::pooler::Sessions::Shared => Err(DbError::SharedSessions {
            target: target.to_string(),
        }),
    }
}

/// A refused certificate is its own sentence; anything else names the URL.
fn connect_error(target: String, source: sqlx::Error) -> DbError {
    match is_certificate_refused(&source) {
        true => DbError::Tls { target, source },
        false => DbError::Connect { target, source },
    }
}

/// sqlx reports a refused certificate as its TLS error, or as an I/O error
/// carrying rustls's.
fn is_certificate_refused(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Tls(_) => true,
        sqlx::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(|e| matches!(e, rustls::Error::InvalidCertificate(_))),
        _ => false,
    }
}

/// Connects and checks that every migration is applied, without applying
/// any: for the read-only commands (`status`, `directory plan`).
pub async fn connect_current(settings: &DatabaseSettings) -> Result<PgPool, DbError> {
    let pool = connect(settings).await?;
    let applied: Vec<i64> = match sqlx::query_scalar(
        "select version from _sqlx_migrations where success order by version",
    )
    .fetch_all(&pool)
    .await
    {
        Ok(versions) => versions,
        // No migration table: nothing was ever applied.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => Vec::new(),
        Err(e) => return Err(DbError::Applied(e)),
    };
    let missing: Vec<_> = MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
        .collect();
    match missing.first() {
        None => Ok(pool),
        Some(first) => Err(DbError::SchemaBehind {
            missing: missing.len(),
            known: MIGRATOR.iter().count(),
            first: format!("{}_{}", first.version, first.description),
        }),
    }
}

/// Connects and applies pending migrations (every command that writes does this).
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
        sqlx::query(sqlx::AssertSqlSafe(format!(
            r#"create database "{quoted}""#
        )))
        .execute(&mut conn)
        .await
        .map_err(|source| DbError::Create { name, source })?;
    }
    Ok(())
}
