//! The relay to Kafka (transactional outbox): rows recorded in the table are
//! published byte for byte and marked delivered once Kafka acknowledges them.
//!
//! Each round claims up to a batch of undelivered rows in a transaction,
//! sends their lines, waits for the acknowledgements, marks the acknowledged
//! rows delivered in one UPDATE and commits. A crash between the send and
//! the commit leaves the rows undelivered: they are sent again, with the
//! same event id (at-least-once). No "last id sent" is kept: every round
//! looks at every undelivered row, so a row committed late is never skipped.
//! Guarantees and operations: `docs/sql.md`.

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::time::Duration;

use auditlog_kafka::{LineProducer, SealedLine};

use crate::connect::AnyPool;
use crate::error::{Error, Result};

/// Publishes the rows of the audit table to Kafka through a
/// [`LineProducer`], in batches (see the module docs).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use auditlog_kafka::LineProducer;
/// use auditlog_sql::{AnyPool, SqlRelay};
///
/// let pool = AnyPool::connect("postgres://app@db/orders").await?;
/// let producer = LineProducer::new("kafka:9092", "audit-logs", &[])?;
/// let relay = SqlRelay::new(pool, producer).batch_size(500);
/// relay.producer().check(std::time::Duration::from_secs(10))?;
/// // Until nothing is ready; a service runs this on a timer.
/// while relay.relay_batch().await?.relayed > 0 {}
/// let backlog = relay.backlog().await?; // watch it
/// # let _ = backlog;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SqlRelay {
    pool: AnyPool,
    producer: LineProducer,
    batch_size: usize,
    /// SQLite: the relay lock, taken by the first round and held.
    #[cfg(feature = "sqlite")]
    lease: tokio::sync::Mutex<Option<std::fs::File>>,
}

/// What one round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Batch {
    /// Rows acknowledged by Kafka and marked delivered (0: none were ready).
    pub relayed: usize,
}

/// What is waiting: watch it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct Backlog {
    /// Committed rows not yet delivered.
    pub undelivered: u64,
    /// How long ago the oldest of them was recorded (database clock).
    pub oldest: Option<Duration>,
}

/// A claimed row: what to send and how to find it again.
#[derive(Debug)]
struct Claimed {
    id: i64,
    stream: String,
    line: String,
}

/// Which claimed rows Kafka acknowledged, and why the others failed.
#[derive(Debug, Default)]
struct Outcome {
    acked: Vec<i64>,
    failed: usize,
    first_error: Option<String>,
}

impl Outcome {
    /// The round's result once the acknowledged rows are marked.
    fn into_result(self) -> Result<Batch> {
        match self.first_error {
            None => Ok(Batch {
                relayed: self.acked.len(),
            }),
            Some(reason) => Err(Error::NotDelivered {
                delivered: self.acked.len(),
                failed: self.failed,
                reason,
            }),
        }
    }
}

/// Default rows per batch.
pub const DEFAULT_BATCH_SIZE: usize = 500;

impl SqlRelay {
    /// A relay from the audit table in `pool` to `producer`'s topic,
    /// [`DEFAULT_BATCH_SIZE`] rows per batch.
    pub fn new(pool: AnyPool, producer: LineProducer) -> Self {
        SqlRelay {
            pool,
            producer,
            batch_size: DEFAULT_BATCH_SIZE,
            #[cfg(feature = "sqlite")]
            lease: tokio::sync::Mutex::new(None),
        }
    }

    /// At most `rows` rows per batch (at least 1): what a crash can send
    /// twice, and what one UPDATE marks.
    #[must_use]
    pub fn batch_size(mut self, rows: usize) -> Self {
        self.batch_size = rows.max(1);
        self
    }

    /// The producer (e.g. to [`check`](LineProducer::check) the brokers).
    pub fn producer(&self) -> &LineProducer {
        &self.producer
    }

    /// One round: claims up to a batch of rows that are ready, publishes
    /// them, marks the acknowledged ones delivered, commits. On SQLite the
    /// first round takes the database's relay lock for as long as the relay
    /// lives: a second relay's rounds fail with [`Error::AnotherRelay`]. `relayed == 0`
    /// when none were ready. A row Kafka did not acknowledge stays
    /// undelivered and the round is an [`Error::NotDelivered`].
    pub async fn relay_batch(&self) -> Result<Batch> {
        let limit = i64::try_from(self.batch_size).unwrap_or(i64::MAX);
        match &self.pool {
            #[cfg(feature = "postgres")]
            AnyPool::Postgres(pool) => postgres::relay_batch(pool, &self.producer, limit).await,
            #[cfg(feature = "sqlite")]
            AnyPool::Sqlite(pool) => {
                let mut lease = self.lease.lock().await;
                if lease.is_none() {
                    *lease = sqlite::lease(pool)?;
                }
                sqlite::relay_batch(pool, &self.producer, limit).await
            }
        }
    }

    /// How many committed rows are undelivered and the age of the oldest.
    pub async fn backlog(&self) -> Result<Backlog> {
        let (undelivered, seconds) = match &self.pool {
            #[cfg(feature = "postgres")]
            AnyPool::Postgres(pool) => postgres::backlog(pool).await?,
            #[cfg(feature = "sqlite")]
            AnyPool::Sqlite(pool) => sqlite::backlog(pool).await?,
        };
        Ok(Backlog {
            undelivered: u64::try_from(undelivered).unwrap_or(0),
            oldest: seconds.and_then(|s| Duration::try_from_secs_f64(s.max(0.0)).ok()),
        })
    }
}

/// Sends the claimed lines, each keyed by its stream (the chain id, as the
/// publisher keys a chain: one partition, in order).
async fn produce(producer: &LineProducer, rows: &[Claimed]) -> Outcome {
    let lines: Vec<SealedLine<'_>> = rows
        .iter()
        .map(|row| SealedLine {
            line: &row.line,
            key: Some(row.stream.as_bytes()),
        })
        .collect();
    let results = producer.send_all(&lines).await;
    let mut outcome = Outcome::default();
    for (row, result) in rows.iter().zip(results) {
        match result {
            Ok(()) => outcome.acked.push(row.id),
            Err(error) => {
                outcome.failed += 1;
                outcome
                    .first_error
                    .get_or_insert_with(|| format!("row {}: {error}", row.id));
            }
        }
    }
    outcome
}
