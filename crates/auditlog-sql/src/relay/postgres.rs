//! The relay's rounds on PostgreSQL: rows in commit order (below the oldest
//! running transaction), claimed with `FOR UPDATE SKIP LOCKED` so that two
//! relays never hold the same row.

use auditlog_kafka::LineProducer;
use sqlx::{PgPool, Row};

use super::{produce, Batch, Claimed};
use crate::error::Result;

/// Rows whose inserting transaction is below the snapshot's xmin: every
/// transaction that could still commit a row has a txid at or above it, so
/// what this returns is final and nothing below it can appear later.
/// Rows another relay holds are skipped, not waited for.
///
/// A stream's rows are inserted under its counter row lock, so their ids run
/// in seq order; but a writer may take its txid before it waits for that
/// lock, so a later seq can have the lower txid. `held` keeps such a row
/// back until the stream's earlier rows are ready too: a stream goes out in
/// seq order.
const CLAIM: &str = "WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin), \
     held AS (SELECT stream, min(id) AS first_id FROM audit_events, horizon \
       WHERE delivered_at IS NULL AND txid >= horizon.xmin GROUP BY stream) \
     SELECT e.id, e.stream, e.line FROM audit_events e CROSS JOIN horizon \
     LEFT JOIN held ON held.stream = e.stream \
     WHERE e.delivered_at IS NULL AND e.txid < horizon.xmin \
       AND (held.first_id IS NULL OR e.id < held.first_id) \
     ORDER BY e.id LIMIT $1 FOR UPDATE OF e SKIP LOCKED";

const MARK: &str = "UPDATE audit_events SET delivered_at = now() WHERE id = ANY($1)";

pub(super) async fn relay_batch(
    pool: &PgPool,
    producer: &LineProducer,
    limit: i64,
) -> Result<Batch> {
    let mut tx = pool.begin().await?;
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
        sqlx::query(MARK)
            .bind(&outcome.acked)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    outcome.into_result()
}

pub(super) async fn backlog(pool: &PgPool) -> Result<(i64, Option<f64>)> {
    let row = sqlx::query(
        "SELECT count(*), extract(epoch FROM now() - min(recorded_at))::float8 \
         FROM audit_events WHERE delivered_at IS NULL",
    )
    .fetch_one(pool)
    .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}
