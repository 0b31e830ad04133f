//! The databases the crate speaks: the same steps, each in its dialect.
//! [`Backend`] is sealed: its steps are private and implemented here only.

#[cfg(feature = "postgres")]
mod postgres;
pub(crate) mod reads;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::future::Future;
use std::pin::Pin;

use futures_util::Stream;

use crate::columns::Columns;

/// A database this crate can record in: [`sqlx::Sqlite`] (feature `sqlite`)
/// and [`sqlx::Postgres`] (feature `postgres`).
pub trait Backend: sealed::Steps + reads::Reads {}

pub(crate) type BoxFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;
pub(crate) type BoxStream<'c, T> = Pin<Box<dyn Stream<Item = T> + Send + 'c>>;

/// A stream's counter row: the next seq and the hash of the last event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(unreachable_pub)] // named by the sealed trait, not outside the crate
pub struct Counter {
    /// The stream.
    pub stream: String,
    /// The seq the next event gets.
    pub next_seq: i64,
    /// The hash of event `next_seq - 1`.
    pub last_hash: Option<String>,
}

pub(crate) mod sealed {
    use super::{BoxFuture, BoxStream, Counter};
    use crate::columns::Columns;

    /// The steps, in each dialect. Public in a private module so that
    /// [`Backend`](super::Backend) can require it and nobody else can
    /// implement it.
    #[allow(unreachable_pub)]
    pub trait Steps: sqlx::Database {
        /// Locks the stream's counter row for the rest of the transaction
        /// (creating it at seq 1 if missing) and reads it.
        fn lock_stream<'c>(
            conn: &'c mut Self::Connection,
            stream: &'c str,
        ) -> BoxFuture<'c, sqlx::Result<Counter>>;

        /// Inserts one row.
        fn insert_row<'c>(
            conn: &'c mut Self::Connection,
            columns: &'c Columns,
            line: &'c str,
        ) -> BoxFuture<'c, sqlx::Result<()>>;

        /// Moves the locked counter row on.
        fn advance_stream<'c>(
            conn: &'c mut Self::Connection,
            counter: &'c Counter,
        ) -> BoxFuture<'c, sqlx::Result<()>>;

        /// Applies the embedded migrations.
        fn run_migrations(
            pool: &sqlx::Pool<Self>,
        ) -> BoxFuture<'_, Result<(), sqlx::migrate::MigrateError>>;

        /// Every row with its line, by stream, seq, events before
        /// checkpoints.
        fn rows(conn: &mut Self::Connection) -> BoxStream<'_, sqlx::Result<(Columns, String)>>;

        /// Every counter row.
        fn counters(conn: &mut Self::Connection) -> BoxFuture<'_, sqlx::Result<Vec<Counter>>>;

        /// Makes the transaction just begun on `conn` read one snapshot
        /// throughout (PostgreSQL: REPEATABLE READ; a SQLite transaction
        /// already does), so rows and counters agree under live writers.
        fn read_one_snapshot(conn: &mut Self::Connection) -> BoxFuture<'_, sqlx::Result<()>>;
    }
}

/// The SELECT of [`sealed::Steps::rows`], the same in both dialects.
const SELECT_ROWS: &str = "SELECT stream, seq, is_checkpoint, event_id, ts, tenant, user_id, \
     action, method, resource, resource_id, severity, severity_rank, status, source_ip, \
     trace_id, transaction_id, hash, prev, link, line FROM audit_events \
     ORDER BY stream, seq, is_checkpoint, id";

const SELECT_COUNTERS: &str =
    "SELECT stream, next_seq, last_hash FROM audit_streams ORDER BY stream";

/// Decodes a row of [`SELECT_ROWS`].
fn decode_row<R>(row: &R) -> sqlx::Result<(Columns, String)>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i32>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let columns = Columns {
        stream: row.try_get(0)?,
        seq: row.try_get(1)?,
        is_checkpoint: row.try_get(2)?,
        event_id: row.try_get(3)?,
        ts: row.try_get(4)?,
        tenant: row.try_get(5)?,
        user_id: row.try_get(6)?,
        action: row.try_get(7)?,
        method: row.try_get(8)?,
        resource: row.try_get(9)?,
        resource_id: row.try_get(10)?,
        severity: row.try_get(11)?,
        severity_rank: row.try_get(12)?,
        status: row.try_get(13)?,
        source_ip: row.try_get(14)?,
        trace_id: row.try_get(15)?,
        transaction_id: row.try_get(16)?,
        hash: row.try_get(17)?,
        prev: row.try_get(18)?,
        link: row.try_get(19)?,
    };
    Ok((columns, row.try_get(20)?))
}

/// Decodes a row of [`SELECT_COUNTERS`].
fn decode_counter<R>(row: &R) -> sqlx::Result<Counter>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Counter {
        stream: row.try_get(0)?,
        next_seq: row.try_get(1)?,
        last_hash: row.try_get(2)?,
    })
}

/// Binds the columns and the line to an INSERT with 22 parameters in the
/// order of [`insert_columns`].
macro_rules! bind_row {
    ($query:expr, $columns:expr, $line:expr) => {{
        let c = $columns;
        $query
            .bind(&c.stream)
            .bind(c.seq)
            .bind(c.is_checkpoint)
            .bind(&c.event_id)
            .bind($line)
            .bind(&c.ts)
            .bind(&c.tenant)
            .bind(&c.user_id)
            .bind(&c.action)
            .bind(&c.method)
            .bind(&c.resource)
            .bind(&c.resource_id)
            .bind(&c.severity)
            .bind(c.severity_rank)
            .bind(&c.status)
            .bind(&c.source_ip)
            .bind(&c.trace_id)
            .bind(&c.transaction_id)
            .bind(&c.hash)
            .bind(&c.prev)
            .bind(&c.link)
    }};
}
use bind_row;

/// The start of the INSERT statements, before each dialect's placeholders.
macro_rules! insert_columns {
    () => {
        "INSERT INTO audit_events (stream, seq, is_checkpoint, event_id, line, ts, tenant, \
         user_id, action, method, resource, resource_id, severity, severity_rank, status, \
         source_ip, trace_id, transaction_id, hash, prev, link)"
    };
}
use insert_columns;
