//! Counting every event once: counters, metrics, rate-limited warnings.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::budget::ByteGate;
use super::dropped::Dropped;
use super::parked::Parked;
use super::spooling::SpoolLink;
use crate::lock::lock;

/// Names of the metrics the publisher records through the `metrics` facade,
/// each labelled `topic`. The handles are registered when the publisher is
/// created: install the recorder (exporter) first.
pub mod metric {
    /// Counter: events accepted into the queue.
    pub const ACCEPTED: &str = "auditlog_kafka_events_accepted_total";
    /// Counter: events the broker acknowledged (`acks=all`).
    pub const DELIVERED: &str = "auditlog_kafka_events_delivered_total";
    /// Counter: accepted events that will never be delivered (timed out,
    /// rejected by the broker, purged at shutdown).
    pub const FAILED: &str = "auditlog_kafka_events_failed_total";
    /// Counter: events refused, labelled `reason`: `queue_full` (the
    /// capacity in events), `queue_bytes` (the capacity in bytes),
    /// `spool_full`, `spool_error`, `key_panicked` (the message key
    /// function panicked).
    pub const DROPPED: &str = "auditlog_kafka_events_dropped_total";
    /// Gauge: bytes of sealed JSON accepted and not yet delivered or failed
    /// (checkpoints sent without a spool aside).
    pub const IN_FLIGHT_BYTES: &str = "auditlog_kafka_bytes_in_flight";
    /// Counter: messages librdkafka refused for lack of queue space, which
    /// then waited for delivery progress (parked, or back in the spool).
    pub const QUEUE_FULL: &str = "auditlog_kafka_librdkafka_queue_full_total";
    /// Gauge: events accepted and not yet delivered or failed (with a
    /// spool: also those waiting in it).
    pub const IN_FLIGHT: &str = "auditlog_kafka_events_in_flight";
    /// Counter: events written to the spool (write-ahead, or spilled when
    /// the queue was full or a delivery failed).
    pub const SPOOLED: &str = "auditlog_kafka_events_spooled_total";
    /// Counter: events found undelivered in the spool at start, to be sent.
    pub const RECOVERED: &str = "auditlog_kafka_events_recovered_total";
    /// Counter: deliveries that failed and are tried again from the spool.
    pub const RETRIED: &str = "auditlog_kafka_events_retried_total";
    /// Counter: events sent without the spool because it was full or
    /// failing (delivered if all goes well, but lost if the process dies).
    pub const UNSPOOLED: &str = "auditlog_kafka_events_unspooled_total";
}

/// A snapshot of the publisher's counters. Always
/// `accepted + recovered == delivered + failed + in_flight`, and `dropped`
/// is the sum of the `dropped_*` counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublisherStats {
    pub accepted: u64,
    pub delivered: u64,
    pub failed: u64,
    /// Refused: `publish` returned an error and the event was not sent.
    pub dropped: u64,
    /// Of `dropped`: the capacity in events was reached.
    pub dropped_queue_full: u64,
    /// Of `dropped`: the capacity in bytes was reached.
    pub dropped_queue_bytes: u64,
    /// Of `dropped`: the spool was full (after its policy's wait).
    pub dropped_spool_full: u64,
    /// Of `dropped`: writing to the spool failed.
    pub dropped_spool_error: u64,
    /// Of `dropped`: the [`MessageKey`](crate::MessageKey) function panicked.
    pub dropped_key_panicked: u64,
    /// Bytes of sealed JSON accepted and not yet delivered or failed.
    pub in_flight_bytes: u64,
    /// Messages librdkafka refused for lack of queue space; they waited
    /// for delivery progress (not dropped).
    pub queue_full_waits: u64,
    pub in_flight: u64,
    /// Chain checkpoints sent (also counted in `accepted`).
    pub checkpoints: u64,
    /// Found undelivered in the spool at start (accepted by an earlier run).
    pub recovered: u64,
    /// Written to the spool.
    pub spooled: u64,
    /// Delivery attempts that failed and were queued again from the spool.
    pub retried: u64,
    /// Sent without the spool because it was full or failing.
    pub unspooled: u64,
}

/// What [`KafkaPublisher::shutdown`](super::KafkaPublisher::shutdown) achieved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    pub accepted: u64,
    pub delivered: u64,
    /// Failed before the deadline (their errors were logged).
    pub failed: u64,
    /// Still in flight at the deadline, then purged: not delivered.
    pub abandoned: u64,
    /// Refused by the overflow policy while running.
    pub dropped: u64,
    /// Found in the spool at start (accepted by an earlier run).
    pub recovered: u64,
    /// Not delivered by the deadline but kept in the spool: sent when a
    /// publisher next opens it. Not lost, not delivered either.
    pub kept: u64,
}

impl ShutdownReport {
    /// Accepted events that did not reach the broker.
    pub fn undelivered(&self) -> u64 {
        self.failed + self.abandoned
    }

    /// Everything accepted was delivered, nothing was dropped and nothing
    /// waits in the spool.
    pub fn is_complete(&self) -> bool {
        self.undelivered() == 0 && self.dropped == 0 && self.kept == 0
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} accepted", self.accepted)?;
        if self.recovered > 0 {
            write!(f, ", {} recovered from the spool", self.recovered)?;
        }
        write!(
            f,
            ", {} delivered, {} failed, {} abandoned at shutdown, {} dropped",
            self.delivered, self.failed, self.abandoned, self.dropped
        )?;
        if self.kept > 0 {
            write!(f, ", {} kept in the spool for the next start", self.kept)?;
        }
        Ok(())
    }
}

/// At most one warning per interval; the rest are counted into the next.
#[derive(Debug)]
pub(super) struct RateLimit {
    pub(super) last: Option<Instant>,
    pub(super) suppressed: u64,
}

const WARN_INTERVAL: Duration = Duration::from_secs(1);

impl RateLimit {
    /// `Some(suppressed since the last warning)` when a warning may go out.
    pub(super) fn allow(&mut self) -> Option<u64> {
        let now = Instant::now();
        match self.last {
            Some(last) if now.duration_since(last) < WARN_INTERVAL => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

/// The metric handles, made once (install the recorder before creating
/// the publisher).
pub(super) struct Metrics {
    pub(super) accepted: metrics::Counter,
    pub(super) delivered: metrics::Counter,
    pub(super) failed: metrics::Counter,
    dropped: [metrics::Counter; 5],
    in_flight_bytes: metrics::Gauge,
    queue_full: metrics::Counter,
    pub(super) in_flight: metrics::Gauge,
    pub(super) spooled: metrics::Counter,
    pub(super) recovered: metrics::Counter,
    pub(super) retried: metrics::Counter,
    pub(super) unspooled: metrics::Counter,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub(super) fn new(topic: &str) -> Self {
        let label = || [("topic", topic.to_owned())];
        Metrics {
            accepted: metrics::counter!(metric::ACCEPTED, &label()),
            delivered: metrics::counter!(metric::DELIVERED, &label()),
            failed: metrics::counter!(metric::FAILED, &label()),
            dropped: Dropped::ALL.map(|reason| {
                metrics::counter!(metric::DROPPED, "topic" => topic.to_owned(), "reason" => reason.label())
            }),
            in_flight_bytes: metrics::gauge!(metric::IN_FLIGHT_BYTES, &label()),
            queue_full: metrics::counter!(metric::QUEUE_FULL, &label()),
            in_flight: metrics::gauge!(metric::IN_FLIGHT, &label()),
            spooled: metrics::counter!(metric::SPOOLED, &label()),
            recovered: metrics::counter!(metric::RECOVERED, &label()),
            retried: metrics::counter!(metric::RETRIED, &label()),
            unspooled: metrics::counter!(metric::UNSPOOLED, &label()),
        }
    }
}

/// Counters and the gate, shared with librdkafka's callback thread.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) topic: String,
    pub(super) metrics: Metrics,
    pub(super) accepted: AtomicU64,
    pub(super) delivered: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) dropped: AtomicU64,
    /// Indexed like `Dropped::ALL`.
    pub(super) dropped_by: [AtomicU64; 5],
    pub(super) queue_full: AtomicU64,
    pub(super) checkpoints: AtomicU64,
    pub(super) recovered: AtomicU64,
    pub(super) spooled: AtomicU64,
    pub(super) retried: AtomicU64,
    pub(super) unspooled: AtomicU64,
    /// One permit per free place in the queue.
    pub(super) gate: Semaphore,
    /// The queue's bound in bytes.
    pub(super) bytes: ByteGate,
    /// Messages librdkafka refused for lack of room (no spool).
    pub(super) parked: Parked,
    pub(super) failure_warnings: Mutex<RateLimit>,
    pub(super) client_warnings: Mutex<RateLimit>,
    pub(super) last_client_error: Mutex<Option<String>>,
    /// The durable spool, when configured.
    pub(super) spool: Option<Arc<SpoolLink>>,
}

impl Shared {
    pub(super) fn stats(&self) -> PublisherStats {
        // Read the outcomes before `accepted` so in_flight never goes negative.
        let delivered = self.delivered.load(Relaxed);
        let failed = self.failed.load(Relaxed);
        let dropped = self.dropped.load(Relaxed);
        let accepted = self.accepted.load(Relaxed);
        let recovered = self.recovered.load(Relaxed);
        let by = |reason: Dropped| self.dropped_by[reason as usize].load(Relaxed);
        PublisherStats {
            accepted,
            delivered,
            failed,
            dropped,
            dropped_queue_full: by(Dropped::QueueFull),
            dropped_queue_bytes: by(Dropped::QueueBytes),
            dropped_spool_full: by(Dropped::SpoolFull),
            dropped_spool_error: by(Dropped::SpoolError),
            dropped_key_panicked: by(Dropped::KeyPanicked),
            in_flight_bytes: self.bytes.held(),
            queue_full_waits: self.queue_full.load(Relaxed),
            in_flight: (accepted + recovered).saturating_sub(delivered + failed),
            checkpoints: self.checkpoints.load(Relaxed),
            recovered,
            spooled: self.spooled.load(Relaxed),
            retried: self.retried.load(Relaxed),
            unspooled: self.unspooled.load(Relaxed),
        }
    }

    pub(super) fn in_flight_gauge(&self) {
        let stats = self.stats();
        self.metrics.in_flight.set(stats.in_flight as f64);
        self.metrics
            .in_flight_bytes
            .set(stats.in_flight_bytes as f64);
    }

    /// librdkafka refused a message for lack of queue space.
    pub(super) fn count_queue_full(&self) {
        self.queue_full.fetch_add(1, Relaxed);
        self.metrics.queue_full.increment(1);
    }

    pub(super) fn record_failure(&self, error: &dyn fmt::Display, event_id: Option<&str>) {
        let failed = self.failed.fetch_add(1, Relaxed) + 1;
        self.metrics.failed.increment(1);
        if let Some(suppressed) = lock(&self.failure_warnings).allow() {
            tracing::warn!(
                target: "auditlog_kafka",
                topic = %self.topic,
                event_id = event_id.unwrap_or(""),
                failed_total = failed,
                suppressed,
                "audit event not delivered: {error}"
            );
        }
    }

    pub(super) fn count_accepted(&self) {
        self.accepted.fetch_add(1, Relaxed);
        self.metrics.accepted.increment(1);
    }

    pub(super) fn count_spooled(&self) {
        self.spooled.fetch_add(1, Relaxed);
        self.metrics.spooled.increment(1);
    }

    pub(super) fn count_unspooled(&self, why: &dyn fmt::Display) {
        let unspooled = self.unspooled.fetch_add(1, Relaxed) + 1;
        self.metrics.unspooled.increment(1);
        if let Some(suppressed) = lock(&self.failure_warnings).allow() {
            tracing::warn!(
                target: "auditlog_kafka",
                topic = %self.topic,
                unspooled_total = unspooled,
                suppressed,
                "audit event sent without the spool ({why}): lost if the process dies before delivery"
            );
        }
    }

    /// A delivery failed; the event waits in the spool to be sent again.
    pub(super) fn count_retry(&self, error: &dyn fmt::Display) {
        let retried = self.retried.fetch_add(1, Relaxed) + 1;
        self.metrics.retried.increment(1);
        if let Some(suppressed) = lock(&self.failure_warnings).allow() {
            tracing::warn!(
                target: "auditlog_kafka",
                topic = %self.topic,
                retried_total = retried,
                suppressed,
                "audit event not delivered, kept in the spool to retry: {error}"
            );
        }
    }

    /// An event refused, counted by reason.
    pub(super) fn record_drop(&self, reason: Dropped) {
        self.dropped_by[reason as usize].fetch_add(1, Relaxed);
        self.metrics.dropped[reason as usize].increment(1);
        let dropped = self.dropped.fetch_add(1, Relaxed) + 1;
        let why = reason.why();
        if let Some(suppressed) = lock(&self.failure_warnings).allow() {
            tracing::warn!(
                target: "auditlog_kafka",
                topic = %self.topic,
                dropped_total = dropped,
                reason = reason.label(),
                suppressed,
                "audit event dropped: {why}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_limited_and_the_rest_counted_into_the_next() {
        let mut limit = RateLimit {
            last: None,
            suppressed: 0,
        };
        assert_eq!(limit.allow(), Some(0));
        assert_eq!(limit.allow(), None);
        assert_eq!(limit.allow(), None);
        // As if the interval had passed.
        limit.last = Instant::now().checked_sub(WARN_INTERVAL);
        assert_eq!(limit.allow(), Some(2));
        assert_eq!(limit.allow(), None);
    }

    #[test]
    fn shutdown_report_counts_what_did_not_arrive() {
        let report = ShutdownReport {
            accepted: 10,
            delivered: 7,
            failed: 2,
            abandoned: 1,
            dropped: 0,
            ..ShutdownReport::default()
        };
        assert_eq!(report.undelivered(), 3);
        assert!(!report.is_complete());
        let clean = ShutdownReport {
            accepted: 3,
            delivered: 3,
            ..ShutdownReport::default()
        };
        assert!(clean.is_complete());
        let kept = ShutdownReport { kept: 1, ..clean };
        assert!(!kept.is_complete(), "kept in the spool is not delivered");
        assert_eq!(kept.undelivered(), 0, "nor lost");
        let dropped = ShutdownReport {
            dropped: 1,
            ..clean
        };
        assert!(!dropped.is_complete());
    }
}
