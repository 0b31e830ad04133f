//! Recording in the caller's transaction: lock the stream's counter row,
//! seal the event as the next in the chain, insert it, move the counter on.
//! All of it commits or rolls back with the caller's own changes.

use auditlog_core::AuditEvent;
use auditlog_seal::{ChainKey, ChainSealer};
use sqlx::Transaction;

use crate::backend::{Backend, Counter};
use crate::columns::{Columns, NOT_CHAINED};
use crate::error::{Error, Result};

/// Seals events into one stream's chain and inserts them within a
/// transaction the caller holds. Cheap to clone; share one per stream.
///
/// Writers of one stream serialize on its counter row from their first
/// `record` until they commit or roll back: keep those transactions short,
/// or give independent writers their own streams.
#[derive(Debug, Clone)]
pub struct AuditRecorder {
    stream: String,
    key: ChainKey,
    checkpoint_every: u64,
}

/// Where an event went.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recorded {
    /// Its position in the stream, from 1.
    pub seq: u64,
    /// Its `id`.
    pub event_id: String,
    /// Its `security.hash`.
    pub hash: String,
    /// True when a checkpoint row was written after it.
    pub checkpointed: bool,
}

impl AuditRecorder {
    /// Writes to `stream` (the chain id of its events, e.g. the service's
    /// name), linking with `key`. A checkpoint row follows every 100th event.
    pub fn new(stream: impl Into<String>, key: ChainKey) -> Result<Self> {
        let stream = stream.into();
        // The sealer checks the id's alphabet once, here.
        ChainSealer::new(stream.clone(), key.clone()).map_err(|e| Error::BadEvent {
            reason: e.to_string(),
        })?;
        Ok(AuditRecorder {
            stream,
            key,
            checkpoint_every: 100,
        })
    }

    /// A checkpoint row after every `events` events (0: never; write them
    /// with [`checkpoint`](Self::checkpoint)).
    #[must_use]
    pub fn checkpoint_every(mut self, events: u64) -> Self {
        self.checkpoint_every = events;
        self
    }

    /// The stream (chain id) this recorder writes.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Seals `event` as the next of the stream and inserts it in `tx`. The
    /// event exists once `tx` commits, and never if it rolls back. An event
    /// without an `id` gets a fresh UUID.
    pub async fn record<DB: Backend>(
        &self,
        tx: &mut Transaction<'_, DB>,
        mut event: AuditEvent,
    ) -> Result<Recorded> {
        let conn: &mut DB::Connection = tx;
        let mut counter = DB::lock_stream(conn, &self.stream).await?;
        let mut sealer = self.sealer(&counter)?;
        if event.id.is_none() {
            event.id = Some(uuid::Uuid::new_v4().to_string());
        }
        let line = sealer.seal_to_json(&mut event);
        let columns = Columns::of(&event).ok_or_else(|| Error::BadEvent {
            reason: NOT_CHAINED.into(),
        })?;
        DB::insert_row(conn, &columns, &line).await?;
        let seq = sealer.length();
        let checkpointed = self.checkpoint_every > 0 && seq.is_multiple_of(self.checkpoint_every);
        if checkpointed {
            insert_checkpoint::<DB>(conn, &mut sealer).await?;
        }
        counter.next_seq += 1;
        counter.last_hash = Some(columns.hash.clone());
        DB::advance_stream(conn, &counter).await?;
        Ok(Recorded {
            seq,
            event_id: columns.event_id,
            hash: columns.hash,
            checkpointed,
        })
    }

    /// Writes a checkpoint of the stream as it is in `tx` (e.g. from a timer,
    /// so that the last events before a quiet spell are vouched for too).
    /// Returns how many events it vouches for.
    pub async fn checkpoint<DB: Backend>(&self, tx: &mut Transaction<'_, DB>) -> Result<u64> {
        let conn: &mut DB::Connection = tx;
        let counter = DB::lock_stream(conn, &self.stream).await?;
        let mut sealer = self.sealer(&counter)?;
        insert_checkpoint::<DB>(conn, &mut sealer).await?;
        Ok(sealer.length())
    }

    /// A sealer that continues the stream from its counter row.
    fn sealer(&self, counter: &Counter) -> Result<ChainSealer> {
        let inconsistent = |what: &str| Error::Inconsistent {
            reason: format!("audit_streams row of stream {}: {what}", self.stream),
        };
        let length =
            u64::try_from(counter.next_seq - 1).map_err(|_| inconsistent("next_seq below 1"))?;
        ChainSealer::resume(
            self.stream.clone(),
            self.key.clone(),
            length,
            counter.last_hash.clone(),
        )
        .map_err(|_| inconsistent("next_seq and last_hash disagree"))
    }
}

async fn insert_checkpoint<DB: Backend>(
    conn: &mut DB::Connection,
    sealer: &mut ChainSealer,
) -> Result<()> {
    let checkpoint = sealer.checkpoint();
    let line = checkpoint.published_json();
    let columns = Columns::of(&checkpoint).ok_or_else(|| Error::BadEvent {
        reason: NOT_CHAINED.into(),
    })?;
    DB::insert_row(conn, &columns, &line).await?;
    Ok(())
}
