//! The spool's feeder: writes failed messages that went around the spool
//! into it, and sends what waits in it (recovered at start, spilled,
//! retried) while librdkafka's queue has room.

use std::sync::atomic::Ordering::Relaxed;

use auditlog_core::AuditEvent;

use super::sender::Sender;
use super::spool_link::SpoolLink;
use super::ticket;
use crate::envelope::Envelope;

/// Records the feeder sends per pass.
const FEED_BATCH: usize = 512;

/// One pass of the feeder: failed messages into the spool, then what
/// waits in it to librdkafka while the queue has room. Call with the
/// order lock held.
pub(super) fn feed(link: &SpoolLink, sender: &Sender) {
    // Set again below if librdkafka refuses during this pass.
    link.starved.store(false, Relaxed);
    drain_respill(link, sender);
    let admission = &sender.ledger.admission;
    while link.feeding.load(Relaxed) && link.spool.has_unsent() {
        let room = admission.free_places().min(FEED_BATCH);
        if room == 0 || !admission.bytes.has_room() {
            link.starve();
            return;
        }
        let records = match link.spool.take_unsent(room) {
            Ok(records) if !records.is_empty() => records,
            Ok(_) => return,
            Err(error) => {
                tracing::error!(target: "auditlog_kafka", "reading the audit spool: {error}");
                return;
            }
        };
        let mut records = records.into_iter();
        while let Some(record) = records.next() {
            let bytes = record.payload.len() as u64;
            // Exactly within the budget; one record alone always goes.
            let fits = admission.bytes.try_take(bytes)
                || (admission.bytes.held() == 0 && {
                    admission.bytes.take(bytes);
                    true
                });
            if !fits || link.starved.load(Relaxed) {
                if fits {
                    admission.bytes.give_back(bytes);
                }
                // Back in order; sent on delivery progress.
                link.spool.retry(record);
                records.for_each(|record| link.spool.retry(record));
                link.starve();
                return;
            }
            // Places only grow while the order lock is held.
            admission.try_place();
            let event = std::str::from_utf8(&record.payload)
                .ok()
                .and_then(|json| AuditEvent::from_json(json).ok());
            let envelope = event.as_ref().map(Envelope::of).unwrap_or_default();
            let ticket = ticket::spooled(record.seq);
            let sent = sender.send(envelope, &record.payload, record.key.as_deref(), ticket);
            if sent.is_err() {
                link.spool.release(record.seq);
            }
        }
    }
}

/// Writes failed messages that were sent around the spool into it.
/// Call with the order lock held.
pub(super) fn drain_respill(link: &SpoolLink, sender: &Sender) {
    let counters = &sender.ledger.counters;
    for failed in link.take_respill() {
        match link
            .spool
            .append(failed.key.as_deref(), &failed.payload, false)
        {
            Ok(_) => {
                counters.spooled.increment();
            }
            Err(error) => counters.count_failed(
                &format!("not delivered, and the spool refused it: {error}"),
                None,
            ),
        }
    }
}
