//! The backend suite on real SQLite files in temporary directories, and
//! what is particular to SQLite URLs.

mod common;

use std::time::Duration;

use auditlog_sql::{AnyPool, Error};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use tempfile::TempDir;

type Db = sqlx::Sqlite;

/// A migrated database file in a fresh temporary directory.
async fn open() -> (sqlx::SqlitePool, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("audit.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(30));
    let pool = SqlitePoolOptions::new()
        .max_connections(6)
        .connect_with(options)
        .await
        .unwrap();
    auditlog_sql::migrate(&pool).await.unwrap();
    (pool, dir)
}

backend_suite!(open);
query_suite!(open);
attack_suite!(open);

#[tokio::test]
async fn malformed_urls_say_what_is_wrong() {
    let cases = [
        ("audit.db", "no scheme"),
        ("mysql://localhost/audit", "unknown scheme \"mysql\""),
        ("sqlite://", "sqlite:// without a path"),
        (
            "sqlite:///nonexistent/dir/audit.db",
            "no SQLite database at /nonexistent/dir/audit.db",
        ),
    ];
    for (url, expected) in cases {
        let error = AnyPool::connect(url).await.unwrap_err();
        assert!(matches!(error, Error::BadUrl { .. }), "{url}: {error:?}");
        let message = error.to_string();
        assert!(message.contains(expected), "{url}: {message}");
        assert!(
            !message.contains("secret"),
            "the password stays out: {message}"
        );
    }
}

#[tokio::test]
async fn a_missing_table_says_to_run_the_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    let error = common::recorder()
        .record(&mut tx, common::order_event(1, "acme"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::MissingTable {
                table: "audit_streams"
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("run the audit migrations first"));
    drop(tx);

    let keys = common::keyring();
    let any = AnyPool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let error = any
        .verify_table(auditlog_seal::StreamVerifier::new(&keys))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::MissingTable {
                table: "audit_events"
            }
        ),
        "{error:?}"
    );
}
