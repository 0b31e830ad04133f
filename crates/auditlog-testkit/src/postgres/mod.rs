//! A real PostgreSQL server for tests: a throwaway cluster of our own, or a
//! fresh database on the server `AUDITLOG_TEST_POSTGRES` names.
//!
//! Our own cluster uses Debian's `postgresql` package (the programs in
//! `/usr/lib/postgresql/*/bin`; `.ci/run` installs it): `initdb` in a
//! temporary directory, trust authentication, the server on a free port of
//! 127.0.0.1 with its socket in that directory, run as the `postgres` user
//! when the tests run as root. Each [`TestPostgres`] has its own directory
//! and port, so tests run side by side, and a system cluster on 5432 (if one
//! is running) is never touched. Dropping it stops the server and removes
//! the directory; a test process killed outright leaves its cluster behind
//! in the temporary directory.
//!
//! # Example
//!
//! ```
//! use auditlog_testkit::TestPostgres;
//!
//! let postgres = TestPostgres::start();
//! assert!(postgres.url().starts_with("postgres://"));
//! postgres.psql("CREATE TABLE orders (id int PRIMARY KEY, state text)");
//! postgres.psql("INSERT INTO orders VALUES (1, 'paid')");
//! assert_eq!(postgres.psql("SELECT state FROM orders WHERE id = 1"), "paid");
//! // Dropped: the server stops, its files (or its database) are gone.
//! ```

mod binaries;
mod cluster;
mod external;

use std::path::PathBuf;

use cluster::LocalCluster;
use external::ExternalDatabase;

/// The environment variable naming an existing server to test against, as a
/// URL (`postgres://USER[:PASSWORD]@HOST[:PORT][/DATABASE]`) whose user may
/// create databases. Unset or empty: each test starts a cluster of its own.
pub const SERVER_URL_ENV: &str = "AUDITLOG_TEST_POSTGRES";

/// A PostgreSQL database for one test, connectable at [`url`](Self::url),
/// gone when dropped.
#[derive(Debug)]
pub struct TestPostgres {
    server: Server,
}

#[derive(Debug)]
enum Server {
    Own(LocalCluster),
    External(ExternalDatabase),
}

impl TestPostgres {
    /// A fresh database on the server [`SERVER_URL_ENV`] names, or else a
    /// cluster of our own (as [`start_cluster`](Self::start_cluster)).
    ///
    /// # Panics
    ///
    /// When the database cannot be created, or the cluster cannot start
    /// (saying what to install when PostgreSQL is missing).
    pub fn start() -> Self {
        match std::env::var(SERVER_URL_ENV) {
            Ok(admin_url) if !admin_url.is_empty() => Self {
                server: Server::External(ExternalDatabase::create(&admin_url)),
            },
            _ => Self::start_cluster(),
        }
    }

    /// A cluster of our own whatever [`SERVER_URL_ENV`] says: for tests that
    /// stop and restart the server under a client.
    ///
    /// # Panics
    ///
    /// When Debian's PostgreSQL programs are missing ("install Debian's
    /// postgresql package"), or `initdb` or the server fail.
    pub fn start_cluster() -> Self {
        Self {
            server: Server::Own(LocalCluster::start()),
        }
    }

    /// The URL to connect to, user and database included:
    /// `postgres://postgres@127.0.0.1:PORT/postgres` for our own cluster.
    pub fn url(&self) -> &str {
        match &self.server {
            Server::Own(cluster) => cluster.url(),
            Server::External(database) => database.url(),
        }
    }

    /// Runs SQL with `psql` and returns its output trimmed, unaligned and
    /// without headers (`a|b` per row, one row a line): for setting up and
    /// looking at a database independently of the client under test.
    ///
    /// # Panics
    ///
    /// When `psql` cannot run or the SQL fails, with psql's message.
    pub fn psql(&self, sql: &str) -> String {
        external::run_sql(self.url(), sql).trim().to_owned()
    }

    /// The data directory of our own cluster (removed on drop); `None` on
    /// an external server.
    pub fn data_dir(&self) -> Option<PathBuf> {
        match &self.server {
            Server::Own(cluster) => Some(cluster.data_dir()),
            Server::External(_) => None,
        }
    }

    /// Whether our own cluster's server is up: false between
    /// [`stop_server`](Self::stop_server) and
    /// [`start_server`](Self::start_server); true on an external server.
    pub fn is_running(&self) -> bool {
        match &self.server {
            Server::Own(cluster) => cluster.is_running(),
            Server::External(_) => true,
        }
    }

    /// Stops the server as a crash would (`pg_ctl stop -m immediate`):
    /// clients lose their connections, committed data stays.
    ///
    /// # Panics
    ///
    /// On an external server (use [`start_cluster`](Self::start_cluster)),
    /// or when `pg_ctl` fails.
    pub fn stop_server(&mut self) {
        self.own_cluster("stop").stop();
    }

    /// Starts a stopped server again, same port, same data: the
    /// [`url`](Self::url) works again.
    ///
    /// # Panics
    ///
    /// On an external server, or when the server does not start.
    pub fn start_server(&mut self) {
        self.own_cluster("start").start_again();
    }

    fn own_cluster(&mut self, what: &str) -> &mut LocalCluster {
        match &mut self.server {
            Server::Own(cluster) => cluster,
            Server::External(_) => panic!(
                "cannot {what} a server this test did not start ({SERVER_URL_ENV} is set): \
                 use TestPostgres::start_cluster"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::external::ExternalDatabase;
    use super::TestPostgres;

    // The external path against a server we run ourselves: what a CI with
    // AUDITLOG_TEST_POSTGRES set would do, without setting the environment
    // (other tests read it concurrently).
    #[test]
    fn an_external_database_is_fresh_and_dropped_after_the_test() {
        let server = TestPostgres::start_cluster();
        let database = ExternalDatabase::create(server.url());
        let fresh = TestPostgres {
            server: super::Server::External(database),
        };
        assert_ne!(fresh.url(), server.url());
        let name = fresh.psql("SELECT current_database()");
        assert!(name.starts_with("auditlog_test_"), "{name}");
        fresh.psql("CREATE TABLE only_here (id int)");
        assert_eq!(
            server.psql("SELECT to_regclass('only_here') IS NOT NULL"),
            "f"
        );
        assert!(fresh.data_dir().is_none());

        drop(fresh);

        let left = server.psql(&format!(
            "SELECT count(*) FROM pg_database WHERE datname = '{name}'"
        ));
        assert_eq!(left, "0", "{name} was not dropped");
    }
}
