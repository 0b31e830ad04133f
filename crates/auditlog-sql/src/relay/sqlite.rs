//! The relay's rounds on SQLite: one relay per database file, by a lock on
//! a file beside it (`PATH.relay-lock`), so that the database's own write
//! lock is held only for the UPDATE that marks a batch, never while Kafka is
//! awaited (writers would time out on it during a broker outage).
//!
//! SQLite has one writer at a time, so row ids are assigned in commit order
//! and a round reading by id can skip nothing.

use std::fs::{File, TryLockError};
use std::path::PathBuf;

use auditlog_kafka::LineProducer;
use sqlx::{Row, SqlitePool};

use super::{produce, Batch, Claimed};
use crate::error::{Error, Result};

const CLAIM: &str = "SELECT id, stream, line FROM audit_events \
     WHERE delivered_at IS NULL ORDER BY id LIMIT ?1";

const MARK: &str = "UPDATE audit_events SET delivered_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
     WHERE id IN (SELECT value FROM json_each(?1))";

/// Takes the relay lock of the database file, held as long as the returned
/// file is (a process that dies releases it). `None` for an in-memory
/// database, which no other process can relay.
pub(super) fn lease(pool: &SqlitePool) -> Result<Option<File>> {
    let database = pool.connect_options().get_filename().to_owned();
    if database.as_os_str().is_empty() || database.as_os_str() == ":memory:" {
        return Ok(None);
    }
    let mut path = database.into_os_string();
    path.push(".relay-lock");
    let path = PathBuf::from(path);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::Database(Box::new(e)))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Err(Error::AnotherRelay {
            lock: path.display().to_string(),
        }),
        Err(TryLockError::Error(e)) => Err(Error::Database(Box::new(e))),
    }
}

pub(super) async fn relay_batch(
    pool: &SqlitePool,
    producer: &LineProducer,
    limit: i64,
) -> Result<Batch> {
    let rows = sqlx::query(CLAIM).bind(limit).fetch_all(pool).await?;
    let claimed = rows
        .iter()
        .map(|row| {
            Ok(Claimed {
                id: row.try_get(0)?,
                stream: row.try_get(1)?,
                line: row.try_get(2)?,
            })
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    if claimed.is_empty() {
        return Ok(Batch::default());
    }
    let outcome = produce(producer, &claimed).await;
    if !outcome.acked.is_empty() {
        let ids: Vec<String> = outcome.acked.iter().map(i64::to_string).collect();
        // One statement: its own short write transaction.
        sqlx::query(MARK)
            .bind(format!("[{}]", ids.join(",")))
            .execute(pool)
            .await?;
    }
    outcome.into_result()
}

pub(super) async fn backlog(pool: &SqlitePool) -> Result<(i64, Option<f64>)> {
    let row = sqlx::query(
        "SELECT count(*), (julianday('now') - julianday(min(recorded_at))) * 86400.0 \
         FROM audit_events WHERE delivered_at IS NULL",
    )
    .fetch_one(pool)
    .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}
