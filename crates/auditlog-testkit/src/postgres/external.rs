//! A fresh database on a server someone else runs (named by
//! `AUDITLOG_TEST_POSTGRES`), created for one test and dropped after it.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::binaries::{expect_success, psql};

/// Tells apart the databases of one test process.
static NEXT_DATABASE: AtomicUsize = AtomicUsize::new(0);

/// A database of our own on an existing server, dropped on drop.
#[derive(Debug)]
pub(super) struct ExternalDatabase {
    /// The URL we were given, to create and drop databases through.
    admin_url: String,
    name: String,
    url: String,
}

impl ExternalDatabase {
    /// Creates a database with a name no other test (in this process or
    /// another) uses, on the server at `admin_url`.
    ///
    /// # Panics
    ///
    /// When `psql` is missing, the URL is not a `postgres://` URL, or the
    /// server refuses.
    pub(super) fn create(admin_url: &str) -> Self {
        let name = format!(
            "auditlog_test_{}_{}_{}",
            std::process::id(),
            NEXT_DATABASE.fetch_add(1, Ordering::Relaxed),
            // A crashed earlier run with the same process id left its
            // databases behind: the clock tells ours apart.
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_micros())
        );
        let url = with_database(admin_url, &name).unwrap_or_else(|| {
            panic!(
                "AUDITLOG_TEST_POSTGRES is not a postgres:// URL: {admin_url:?} \
                 (expected postgres://USER[:PASSWORD]@HOST[:PORT][/DATABASE])"
            )
        });
        run_sql(admin_url, &format!("CREATE DATABASE \"{name}\""));
        Self {
            admin_url: admin_url.to_owned(),
            name,
            url,
        }
    }

    /// The URL of the fresh database.
    pub(super) fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for ExternalDatabase {
    fn drop(&mut self) {
        // FORCE (PostgreSQL 13+) ends the sessions a test left open, say a
        // pool not yet dropped. No panic while a failing test unwinds.
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let _dropped = psql_command(&self.admin_url, &sql).output();
    }
}

/// Runs one statement with `psql` against `url` and returns its unaligned,
/// header-less output.
///
/// # Panics
///
/// When `psql` cannot run or the statement fails, with psql's message.
pub(super) fn run_sql(url: &str, sql: &str) -> String {
    expect_success(psql_command(url, sql).output(), &format!("psql: {sql}"))
}

fn psql_command(url: &str, sql: &str) -> Command {
    let mut command = Command::new(psql());
    // -X: no ~/.psqlrc changing the output; ON_ERROR_STOP: exit 1 on error.
    command
        .args([
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .env("PGCONNECT_TIMEOUT", "30");
    command
}

/// `url` with its database replaced by `database`, its parameters kept;
/// `None` unless it is a `postgres://` or `postgresql://` URL.
fn with_database(url: &str, database: &str) -> Option<String> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let scheme = &url[..url.len() - rest.len()];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if authority.is_empty() {
        return None;
    }
    let query = rest[authority_end..]
        .find('?')
        .map_or("", |at| &rest[authority_end + at..]);
    Some(format!("{scheme}{authority}/{database}{query}"))
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_is_replaced_and_the_rest_kept() {
        let cases = [
            ("postgres://u@h:5/db", "postgres://u@h:5/fresh"),
            (
                "postgres://u:p@h/db?sslmode=disable",
                "postgres://u:p@h/fresh?sslmode=disable",
            ),
            ("postgresql://u@h", "postgresql://u@h/fresh"),
            (
                "postgres://u@h?sslmode=require",
                "postgres://u@h/fresh?sslmode=require",
            ),
            ("postgres://u@h/", "postgres://u@h/fresh"),
        ];
        for (given, expected) in cases {
            assert_eq!(
                with_database(given, "fresh").as_deref(),
                Some(expected),
                "{given}"
            );
        }
    }

    #[test]
    fn anything_but_a_postgres_url_is_refused() {
        for given in [
            "sqlite://x.db",
            "u@h:5/db",
            "postgres://",
            "postgres:///db",
            "",
        ] {
            assert_eq!(with_database(given, "fresh"), None, "{given}");
        }
    }
}
