//! The backend suite on a real PostgreSQL server: a throwaway cluster per
//! test, or a fresh database on `AUDITLOG_TEST_POSTGRES`.

mod common;

use auditlog_testkit::TestPostgres;

type Db = sqlx::Postgres;

/// A migrated database on a server of its own.
async fn open() -> (sqlx::PgPool, TestPostgres) {
    let server = tokio::task::spawn_blocking(TestPostgres::start)
        .await
        .unwrap();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(6)
        .connect(server.url())
        .await
        .unwrap();
    auditlog_sql::migrate(&pool).await.unwrap();
    (pool, server)
}

backend_suite!(open);
query_suite!(open);
attack_suite!(open);

#[tokio::test]
async fn a_missing_table_says_to_run_the_migrations() {
    let server = tokio::task::spawn_blocking(TestPostgres::start)
        .await
        .unwrap();
    let pool = sqlx::PgPool::connect(server.url()).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    let error = common::recorder()
        .record(&mut tx, common::order_event(1, "acme"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            auditlog_sql::Error::MissingTable {
                table: "audit_streams"
            }
        ),
        "{error:?}"
    );
}
