//! Opening a database by URL (`sqlite://PATH`, `postgres://...`), for tools
//! that are told where the table is rather than handed a pool.

use std::str::FromStr;
use std::time::Duration;

use auditlog_seal::StreamVerifier;

use crate::error::{Error, Result};
use crate::verify::{verify_table, TableReport};

/// A pool on whichever database a URL names.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AnyPool {
    /// `sqlite://PATH`.
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    /// `postgres://...` or `postgresql://...`.
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

const EXPECTED: &str = "expected sqlite://PATH or postgres://USER@HOST[:PORT]/DATABASE";

impl AnyPool {
    /// Connects to `url`. A SQLite file must exist (a typo should not
    /// verify an empty new database); writers wait up to 5 s for its lock.
    pub async fn connect(url: &str) -> Result<AnyPool> {
        let bad = |reason: String| Error::BadUrl { reason };
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(bad(format!("no scheme: {EXPECTED}")));
        };
        match scheme {
            "sqlite" => {
                let path = rest.split('?').next().unwrap_or_default();
                if path.is_empty() {
                    return Err(bad(format!("sqlite:// without a path: {EXPECTED}")));
                }
                Self::sqlite(url, path).await
            }
            "postgres" | "postgresql" => Self::postgres(url).await,
            other => Err(bad(format!("unknown scheme {other:?}: {EXPECTED}"))),
        }
    }

    #[cfg(feature = "sqlite")]
    async fn sqlite(url: &str, path: &str) -> Result<AnyPool> {
        use sqlx::sqlite::SqliteConnectOptions;
        if !std::path::Path::new(path).exists() {
            return Err(Error::BadUrl {
                reason: format!("no SQLite database at {path}"),
            });
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| Error::BadUrl {
                reason: e.to_string(),
            })?
            .busy_timeout(Duration::from_secs(5));
        Ok(AnyPool::Sqlite(
            sqlx::SqlitePool::connect_with(options).await?,
        ))
    }

    #[cfg(not(feature = "sqlite"))]
    async fn sqlite(_url: &str, _path: &str) -> Result<AnyPool> {
        Err(Error::BadUrl {
            reason: "built without SQLite (feature sqlite)".into(),
        })
    }

    #[cfg(feature = "postgres")]
    async fn postgres(url: &str) -> Result<AnyPool> {
        use sqlx::postgres::PgConnectOptions;
        // sqlx's parse errors do not repeat the URL (it may hold a password).
        let options = PgConnectOptions::from_str(url).map_err(|e| Error::BadUrl {
            reason: e.to_string(),
        })?;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(AnyPool::Postgres(pool))
    }

    #[cfg(not(feature = "postgres"))]
    async fn postgres(_url: &str) -> Result<AnyPool> {
        Err(Error::BadUrl {
            reason: "built without PostgreSQL (feature postgres)".into(),
        })
    }

    /// Applies the migrations ([`migrate`](crate::migrate)).
    pub async fn migrate(&self) -> Result<()> {
        match self {
            #[cfg(feature = "sqlite")]
            AnyPool::Sqlite(pool) => crate::migrate(pool).await,
            #[cfg(feature = "postgres")]
            AnyPool::Postgres(pool) => crate::migrate(pool).await,
        }
    }

    /// Verifies the table ([`verify_table`]).
    pub async fn verify_table(&self, verifier: StreamVerifier<'_>) -> Result<TableReport> {
        match self {
            #[cfg(feature = "sqlite")]
            AnyPool::Sqlite(pool) => verify_table(pool, verifier).await,
            #[cfg(feature = "postgres")]
            AnyPool::Postgres(pool) => verify_table(pool, verifier).await,
        }
    }
}
