//! Retention: deleting each stream's oldest events while the rest stays
//! verifiable. Per stream, in one transaction: the longest prefix of events
//! older than the cut goes, a checkpoint of it stays (the **anchor**: its
//! length and the hash of the last event deleted, under the key), and the
//! prune itself is recorded as the stream's next event, saying where it
//! cut. Verification accepts a stream starting after seq 1 only through
//! both: an anchor whose head is the `prev` of the first event left, and a
//! recorded prune at that very seq (see [`crate::anchor`]).

use auditlog_core::{AuditEvent, Value};
use auditlog_seal::{ChainKey, ChainSealer, Keyring, StreamVerifier};
use sqlx::{Pool, Transaction};

use crate::anchor::{CUT_MEMBER, PRUNE_ACTION};
use crate::backend::reads::Param;
use crate::backend::Backend;
use crate::columns::{sortable_time, Columns, NOT_CHAINED};
use crate::error::{Error, Result};
use crate::recorder::AuditRecorder;
use crate::verify::verify_table;

/// Whether a prune may delete rows no relay has delivered yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Undelivered {
    /// An undelivered event stops the cut, as a recent one does: the relay
    /// still owes it to Kafka. For tables a relay publishes.
    Keep,
    /// Delete old rows delivered or not: for tables no relay reads.
    Delete,
}

/// What a prune removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pruned {
    /// One entry per stream that lost rows.
    pub streams: Vec<PrunedStream>,
}

/// What a prune removed from one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrunedStream {
    /// The stream.
    pub stream: String,
    /// Events `1..=cut` are gone; the anchor vouches for them.
    pub cut: u64,
    /// Event rows deleted.
    pub events: u64,
    /// Checkpoint rows deleted (earlier anchors included).
    pub checkpoints: u64,
}

impl Pruned {
    /// Event rows deleted, over all streams.
    pub fn events(&self) -> u64 {
        self.streams.iter().map(|s| s.events).sum()
    }
}

/// Deletes, in every stream, the longest run of events from its start whose
/// timestamps are all before `before` (an RFC 3339 time, e.g.
/// `2026-06-01T00:00:00+00:00`, else [`Error::BadQuery`] and nothing is
/// deleted; an event without a valid timestamp stops the run, and so
/// does an undelivered one with [`Undelivered::Keep`]), with
/// the checkpoints they cover; writes the anchor and records the prune
/// (sealed with `key`).
///
/// First the whole table is verified with `keys`, and nothing is deleted
/// unless it is clean: pruning a tampered table would erase the evidence.
/// That read is the cost of a prune, besides the deletes.
pub async fn prune<DB: Backend>(
    pool: &Pool<DB>,
    before: &str,
    undelivered: Undelivered,
    key: &ChainKey,
    keys: &Keyring,
) -> Result<Pruned> {
    // Compared as text with `ts`: "yesterday" or "30d" would sort after
    // every time and cut every stream to its last event.
    let before = &sortable_time(before).ok_or_else(|| Error::BadQuery {
        reason: format!(
            "prune before \"{}\": not an RFC 3339 time (e.g. 2026-06-01T00:00:00Z); nothing was deleted",
            auditlog_core::printable(before)
        ),
    })?;
    let report = verify_table(pool, StreamVerifier::new(keys)).await?;
    if !report.is_clean() {
        return Err(Error::Inconsistent {
            reason: format!(
                "the table does not verify, and pruning would erase the evidence; \
                 nothing was deleted:\n{report}"
            ),
        });
    }
    let params = [Param::Text(before.to_owned())];
    let mut conn = pool.acquire().await?;
    let streams = DB::texts(
        &mut conn,
        "SELECT DISTINCT stream FROM audit_events WHERE NOT is_checkpoint AND ts < $1 \
         ORDER BY stream",
        &params,
    )
    .await?;
    drop(conn);
    let mut pruned = Pruned::default();
    for stream in streams {
        let mut tx = pool.begin().await?;
        if let Some(done) = prune_stream(&mut tx, &stream, before, undelivered, key).await? {
            tx.commit().await?;
            pruned.streams.push(done);
        }
    }
    Ok(pruned)
}

async fn prune_stream<DB: Backend>(
    tx: &mut Transaction<'_, DB>,
    stream: &str,
    before: &str,
    undelivered: Undelivered,
    key: &ChainKey,
) -> Result<Option<PrunedStream>> {
    let conn: &mut DB::Connection = tx;
    // Writers of the stream wait: the cut and the anchor see one state.
    let counter = DB::lock_stream(conn, stream).await?;
    let text = |s: &str| Param::Text(s.to_owned());
    let first_kept_sql = match undelivered {
        Undelivered::Keep => {
            // An undelivered checkpoint of length L stays too: cut below L.
            "SELECT min(seq) FROM audit_events WHERE stream = $1 \
             AND ((NOT is_checkpoint AND (ts IS NULL OR ts >= $2)) OR delivered_at IS NULL)"
        }
        Undelivered::Delete => {
            "SELECT min(seq) FROM audit_events WHERE stream = $1 AND NOT is_checkpoint \
             AND (ts IS NULL OR ts >= $2)"
        }
    };
    let first_kept = DB::integer(conn, first_kept_sql, &[text(stream), text(before)]).await?;
    let cut = first_kept.map_or(counter.next_seq - 1, |seq| seq - 1);
    let at_cut = [text(stream), Param::Int(cut)];
    let last_gone = DB::texts(
        conn,
        "SELECT line FROM audit_events WHERE stream = $1 AND seq = $2 AND NOT is_checkpoint",
        &at_cut,
    )
    .await?;
    let Some(line) = last_gone.into_iter().next() else {
        return Ok(None); // pruned already up to here
    };
    let head = head_of(&line, stream, cut)?;
    let events = DB::execute(
        conn,
        "DELETE FROM audit_events WHERE stream = $1 AND seq <= $2 AND NOT is_checkpoint",
        &at_cut,
    )
    .await?;
    let checkpoints = DB::execute(
        conn,
        "DELETE FROM audit_events WHERE stream = $1 AND seq <= $2 AND is_checkpoint",
        &at_cut,
    )
    .await?;
    let cut = u64::try_from(cut).map_err(|_| inconsistent(stream, "negative seq"))?;
    let mut sealer = ChainSealer::resume(stream, key.clone(), cut, Some(head))
        .map_err(|e| inconsistent(stream, &e.to_string()))?;
    let anchor = sealer.checkpoint();
    let columns = Columns::of(&anchor).ok_or_else(|| Error::BadEvent {
        reason: NOT_CHAINED.into(),
    })?;
    DB::insert_row(conn, &columns, &anchor.published_json()).await?;

    let recorder = AuditRecorder::new(stream, key.clone())?;
    recorder
        .record(tx, prune_event(stream, cut, before, events))
        .await?;
    Ok(Some(PrunedStream {
        stream: stream.to_owned(),
        cut,
        events,
        checkpoints,
    }))
}

/// The hash of the last event deleted, from its line (what the anchor
/// vouches for), checked to be that event.
fn head_of(line: &str, stream: &str, cut: i64) -> Result<String> {
    let event = AuditEvent::from_json(line)
        .map_err(|e| inconsistent(stream, &format!("event {cut}: {e}")))?;
    let security = event.security.unwrap_or_default();
    let (Some(chain), Some(seq), Some(hash)) = (security.chain, security.seq, security.hash) else {
        return Err(inconsistent(stream, &format!("event {cut} is not chained")));
    };
    if chain != stream || i64::try_from(seq).ok() != Some(cut) {
        return Err(inconsistent(
            stream,
            &format!("the row of event {cut} holds another event"),
        ));
    }
    Ok(hash)
}

fn inconsistent(stream: &str, what: &str) -> Error {
    Error::Inconsistent {
        reason: format!("stream {}: {what}", auditlog_core::printable(stream)),
    }
}

/// The event that records a prune in the stream it pruned.
fn prune_event(stream: &str, cut: u64, before: &str, events: u64) -> AuditEvent {
    let mut event = AuditEvent::builder()
        .action_name(PRUNE_ACTION)
        .severity("WARNING")
        .status("SUCCESS")
        .resource("auditlog.chain")
        .resource_id(stream)
        .build();
    let data = event.eventdata.get_or_insert_with(Default::default);
    let payload = &mut data.requestpayload;
    payload.insert(CUT_MEMBER.into(), Value::String(cut.to_string()));
    payload.insert("before".into(), Value::String(before.to_owned()));
    payload.insert("events_removed".into(), Value::String(events.to_string()));
    event
}
