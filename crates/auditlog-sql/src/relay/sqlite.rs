//! The relay's rounds on SQLite: one writer at a time, so a round takes the
//! write lock first (`BEGIN IMMEDIATE`) and holds it until its rows are
//! marked: a second relay, like any writer, waits for it.

use auditlog_kafka::LineProducer;
use sqlx::{Row, SqlitePool};

use super::{produce, Batch, Claimed};
use crate::error::Result;

const CLAIM: &str = "SELECT id, stream, line FROM audit_events \
     WHERE delivered_at IS NULL ORDER BY id LIMIT ?1";

const MARK: &str = "UPDATE audit_events SET delivered_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
     WHERE id IN (SELECT value FROM json_each(?1))";

pub(super) async fn relay_batch(
    pool: &SqlitePool,
    producer: &LineProducer,
    limit: i64,
) -> Result<Batch> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let rows = sqlx::query(CLAIM).bind(limit).fetch_all(&mut *tx).await?;
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
        tx.rollback().await?;
        return Ok(Batch::default());
    }
    let outcome = produce(producer, &claimed).await;
    if !outcome.acked.is_empty() {
        let ids: Vec<String> = outcome.acked.iter().map(i64::to_string).collect();
        sqlx::query(MARK)
            .bind(format!("[{}]", ids.join(",")))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
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
