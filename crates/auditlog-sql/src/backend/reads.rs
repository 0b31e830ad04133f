//! Statements built at run time (queries, exports, retention) run on either
//! backend with **bound parameters only**: a filter value never becomes SQL
//! text. Both dialects take `$1, $2, ...` (sqlx binds SQLite's `$N` by
//! number too), so one statement text serves both.

use futures_util::StreamExt;
use sqlx::Pool;

use super::{decode_row, BoxFuture, BoxStream};
use crate::columns::Columns;

/// A value bound to a `$N` placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(unreachable_pub)] // named by the sealed trait, not outside the crate
pub enum Param {
    /// A text value.
    Text(String),
    /// An integer value.
    Int(i64),
}

/// The columns a found row is read with, in [`decode_row`] order, then `id`.
pub(crate) const FOUND_COLUMNS: &str = "stream, seq, is_checkpoint, event_id, ts, tenant, \
     user_id, action, method, resource, resource_id, severity, severity_rank, status, \
     source_ip, trace_id, transaction_id, hash, prev, link, line, id";

/// A row read by [`FOUND_COLUMNS`]: its columns, its line, its row id.
#[allow(unreachable_pub)]
pub type FoundRow = (Columns, String, i64);

/// `(value, rows)` per value of a column.
#[allow(unreachable_pub)]
pub type Tally = Vec<(Option<String>, i64)>;

/// The run-time statements, in each dialect. Public in a private module so
/// that [`Backend`](super::Backend) can require it and nobody else can
/// implement it.
#[allow(unreachable_pub)]
pub trait Reads: sqlx::Database {
    /// True when `ORDER BY ts DESC` puts NULL first (PostgreSQL: NULL is
    /// the greatest), false when last (SQLite: NULL is the least). Pages
    /// follow each database's own order, so its indexes serve it.
    const NULL_TS_FIRST: bool;

    /// The rows a `SELECT FOUND_COLUMNS ...` statement returns, streamed.
    fn found<'p>(
        pool: &'p Pool<Self>,
        sql: &'p str,
        params: &'p [Param],
    ) -> BoxStream<'p, sqlx::Result<FoundRow>>;

    /// `(key, count)` pairs of a `SELECT key, count(*) ... GROUP BY key`.
    fn tally<'p>(
        pool: &'p Pool<Self>,
        sql: &'p str,
        params: &'p [Param],
    ) -> BoxFuture<'p, sqlx::Result<Tally>>;

    /// The first column of every row, as text.
    fn texts<'c>(
        conn: &'c mut Self::Connection,
        sql: &'c str,
        params: &'c [Param],
    ) -> BoxFuture<'c, sqlx::Result<Vec<String>>>;

    /// The first column of the first row as an integer (`None`: no row, or
    /// NULL).
    fn integer<'c>(
        conn: &'c mut Self::Connection,
        sql: &'c str,
        params: &'c [Param],
    ) -> BoxFuture<'c, sqlx::Result<Option<i64>>>;

    /// Runs a statement; returns the rows it affected.
    fn execute<'c>(
        conn: &'c mut Self::Connection,
        sql: &'c str,
        params: &'c [Param],
    ) -> BoxFuture<'c, sqlx::Result<u64>>;
}

/// Implements [`Reads`] for a backend: the same code, concrete types.
macro_rules! reads_for {
    ($db:ty, null_ts_first: $null_first:literal) => {
        impl Reads for $db {
            const NULL_TS_FIRST: bool = $null_first;

            fn found<'p>(
                pool: &'p Pool<Self>,
                sql: &'p str,
                params: &'p [Param],
            ) -> BoxStream<'p, sqlx::Result<FoundRow>> {
                let query = bind_all(sqlx::query(sql), params);
                Box::pin(query.fetch(pool).map(|row| {
                    use sqlx::Row as _;
                    let row = row?;
                    let (columns, line) = decode_row(&row)?;
                    Ok((columns, line, row.try_get(21)?))
                }))
            }

            fn tally<'p>(
                pool: &'p Pool<Self>,
                sql: &'p str,
                params: &'p [Param],
            ) -> BoxFuture<'p, sqlx::Result<Tally>> {
                Box::pin(async move {
                    bind_all_as(sqlx::query_as(sql), params)
                        .fetch_all(pool)
                        .await
                })
            }

            fn texts<'c>(
                conn: &'c mut Self::Connection,
                sql: &'c str,
                params: &'c [Param],
            ) -> BoxFuture<'c, sqlx::Result<Vec<String>>> {
                Box::pin(async move {
                    let rows: Vec<(String,)> = bind_all_as(sqlx::query_as(sql), params)
                        .fetch_all(&mut *conn)
                        .await?;
                    Ok(rows.into_iter().map(|(text,)| text).collect())
                })
            }

            fn integer<'c>(
                conn: &'c mut Self::Connection,
                sql: &'c str,
                params: &'c [Param],
            ) -> BoxFuture<'c, sqlx::Result<Option<i64>>> {
                Box::pin(async move {
                    let row: Option<(Option<i64>,)> = bind_all_as(sqlx::query_as(sql), params)
                        .fetch_optional(&mut *conn)
                        .await?;
                    Ok(row.and_then(|(value,)| value))
                })
            }

            fn execute<'c>(
                conn: &'c mut Self::Connection,
                sql: &'c str,
                params: &'c [Param],
            ) -> BoxFuture<'c, sqlx::Result<u64>> {
                Box::pin(async move {
                    let done = bind_all(sqlx::query(sql), params)
                        .execute(&mut *conn)
                        .await?;
                    Ok(done.rows_affected())
                })
            }
        }
    };
}

/// Binds `params` in order, each by value.
macro_rules! bind_params {
    ($query:expr, $params:expr) => {{
        let mut query = $query;
        for param in $params {
            query = match param {
                Param::Text(text) => query.bind(text.clone()),
                Param::Int(number) => query.bind(*number),
            };
        }
        query
    }};
}

fn bind_all<'q, DB>(
    query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    params: &[Param],
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    String: for<'e> sqlx::Encode<'e, DB> + sqlx::Type<DB>,
    i64: for<'e> sqlx::Encode<'e, DB> + sqlx::Type<DB>,
{
    bind_params!(query, params)
}

fn bind_all_as<'q, DB, O>(
    query: sqlx::query::QueryAs<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>>,
    params: &[Param],
) -> sqlx::query::QueryAs<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    String: for<'e> sqlx::Encode<'e, DB> + sqlx::Type<DB>,
    i64: for<'e> sqlx::Encode<'e, DB> + sqlx::Type<DB>,
{
    bind_params!(query, params)
}

#[cfg(feature = "sqlite")]
reads_for!(sqlx::Sqlite, null_ts_first: false);
#[cfg(feature = "postgres")]
reads_for!(sqlx::Postgres, null_ts_first: true);
