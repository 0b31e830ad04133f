//! SQLite: one writer at a time, so the counter row needs no explicit lock;
//! the first write of the transaction takes the database's write lock.

use futures_util::StreamExt;
use sqlx::{Pool, Sqlite, SqliteConnection};

use super::sealed::Steps;
use super::{
    bind_row, decode_counter, decode_row, insert_columns, Backend, BoxFuture, BoxStream, Counter,
    SELECT_COUNTERS, SELECT_ROWS,
};
use crate::columns::Columns;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

const INSERT_ROW: &str = concat!(
    insert_columns!(),
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)"
);

impl Backend for Sqlite {}

impl Steps for Sqlite {
    fn lock_stream<'c>(
        conn: &'c mut SqliteConnection,
        stream: &'c str,
    ) -> BoxFuture<'c, sqlx::Result<Counter>> {
        Box::pin(async move {
            // A write first: it takes the write lock (waiting out the busy
            // timeout), so the read below sees the latest committed counter.
            sqlx::query(
                "INSERT INTO audit_streams (stream, next_seq, last_hash) VALUES (?1, 1, NULL) \
                 ON CONFLICT (stream) DO NOTHING",
            )
            .bind(stream)
            .execute(&mut *conn)
            .await?;
            let row = sqlx::query(
                "SELECT stream, next_seq, last_hash FROM audit_streams WHERE stream = ?1",
            )
            .bind(stream)
            .fetch_one(&mut *conn)
            .await?;
            decode_counter(&row)
        })
    }

    fn insert_row<'c>(
        conn: &'c mut SqliteConnection,
        columns: &'c Columns,
        line: &'c str,
    ) -> BoxFuture<'c, sqlx::Result<()>> {
        Box::pin(async move {
            bind_row!(sqlx::query(INSERT_ROW), columns, line)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    }

    fn advance_stream<'c>(
        conn: &'c mut SqliteConnection,
        counter: &'c Counter,
    ) -> BoxFuture<'c, sqlx::Result<()>> {
        Box::pin(async move {
            sqlx::query("UPDATE audit_streams SET next_seq = ?1, last_hash = ?2 WHERE stream = ?3")
                .bind(counter.next_seq)
                .bind(&counter.last_hash)
                .bind(&counter.stream)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    }

    fn run_migrations(
        pool: &Pool<Sqlite>,
    ) -> BoxFuture<'_, Result<(), sqlx::migrate::MigrateError>> {
        Box::pin(MIGRATOR.run(pool))
    }

    fn rows(conn: &mut SqliteConnection) -> BoxStream<'_, sqlx::Result<(Columns, String)>> {
        Box::pin(
            sqlx::query(SELECT_ROWS)
                .fetch(conn)
                .map(|row| decode_row(&row?)),
        )
    }

    fn counters(conn: &mut SqliteConnection) -> BoxFuture<'_, sqlx::Result<Vec<Counter>>> {
        Box::pin(async move {
            let rows = sqlx::query(SELECT_COUNTERS).fetch_all(conn).await?;
            rows.iter().map(decode_counter).collect()
        })
    }

    fn read_one_snapshot(_conn: &mut SqliteConnection) -> BoxFuture<'_, sqlx::Result<()>> {
        // A read transaction sees one snapshot (WAL) or holds the shared
        // lock that keeps writers out (rollback journal) until it ends.
        Box::pin(async { Ok(()) })
    }
}
