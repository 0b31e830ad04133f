//! Counting every event once: each count is a number and its metric,
//! moved together, and the warnings that go with failures are
//! rate-limited.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use super::dropped::Dropped;
use super::metric;
use super::rate_limit::RateLimit;
use super::stats::PublisherStats;
use crate::lock::lock;

/// The publisher's counters, each with its metric (labelled `topic`).
/// The handles are made once: install the recorder before creating the
/// publisher.
#[derive(Debug)]
pub(super) struct Counters {
    topic: String,
    pub(super) accepted: Counter,
    pub(super) delivered: Counter,
    failed: Counter,
    /// Indexed like `Dropped::ALL`.
    dropped: [Counter; 5],
    queue_full: Counter,
    pub(super) checkpoints: Counter,
    pub(super) recovered: Counter,
    pub(super) spooled: Counter,
    retried: Counter,
    unspooled: Counter,
    in_flight: metrics::Gauge,
    in_flight_bytes: metrics::Gauge,
    /// One limiter for every failure warning: they share a cause (the
    /// broker, the disk) more often than not.
    pub(super) warnings: Mutex<RateLimit>,
}

/// One count and its metric.
pub(super) struct Counter {
    value: AtomicU64,
    metric: metrics::Counter,
}

impl fmt::Debug for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.get(), f)
    }
}

impl Counter {
    fn new(metric: metrics::Counter) -> Self {
        Counter {
            value: AtomicU64::new(0),
            metric,
        }
    }

    /// Adds `n`; the new total.
    pub(super) fn add(&self, n: u64) -> u64 {
        self.metric.increment(n);
        self.value.fetch_add(n, Relaxed) + n
    }

    /// Adds one; the new total.
    pub(super) fn increment(&self) -> u64 {
        self.add(1)
    }

    pub(super) fn get(&self) -> u64 {
        self.value.load(Relaxed)
    }
}

impl Counters {
    pub(super) fn new(topic: &str) -> Self {
        let label = || [("topic", topic.to_owned())];
        let counter = |name: &'static str| Counter::new(metrics::counter!(name, &label()));
        Counters {
            topic: topic.to_owned(),
            accepted: counter(metric::ACCEPTED),
            delivered: counter(metric::DELIVERED),
            failed: counter(metric::FAILED),
            dropped: Dropped::ALL.map(|reason| {
                Counter::new(metrics::counter!(
                    metric::DROPPED,
                    "topic" => topic.to_owned(),
                    "reason" => reason.label()
                ))
            }),
            queue_full: counter(metric::QUEUE_FULL),
            // Counted in `accepted` too: no metric of its own.
            checkpoints: Counter::new(metrics::Counter::noop()),
            recovered: counter(metric::RECOVERED),
            spooled: counter(metric::SPOOLED),
            retried: counter(metric::RETRIED),
            unspooled: counter(metric::UNSPOOLED),
            in_flight: metrics::gauge!(metric::IN_FLIGHT, &label()),
            in_flight_bytes: metrics::gauge!(metric::IN_FLIGHT_BYTES, &label()),
            warnings: Mutex::new(RateLimit::default()),
        }
    }

    /// The counters now, with `in_flight_bytes` from the gate.
    pub(super) fn snapshot(&self, in_flight_bytes: u64) -> PublisherStats {
        // Read the outcomes before `accepted` so in_flight never goes negative.
        let delivered = self.delivered.get();
        let failed = self.failed.get();
        let by = |reason: Dropped| self.dropped[reason as usize].get();
        let dropped = Dropped::ALL.map(by).iter().sum();
        let accepted = self.accepted.get();
        let recovered = self.recovered.get();
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
            in_flight_bytes,
            queue_full_waits: self.queue_full.get(),
            in_flight: (accepted + recovered).saturating_sub(delivered + failed),
            checkpoints: self.checkpoints.get(),
            recovered,
            spooled: self.spooled.get(),
            retried: self.retried.get(),
            unspooled: self.unspooled.get(),
        }
    }

    /// Sets the in-flight gauges from `stats`.
    pub(super) fn set_gauges(&self, stats: &PublisherStats) {
        self.in_flight.set(stats.in_flight as f64);
        self.in_flight_bytes.set(stats.in_flight_bytes as f64);
    }

    /// librdkafka refused a message for lack of queue space.
    pub(super) fn count_queue_full(&self) {
        self.queue_full.increment();
    }

    /// An accepted event that will never be delivered.
    pub(super) fn count_failed(&self, error: &dyn fmt::Display, event_id: Option<&str>) {
        let failed = self.failed.increment();
        self.warn(|topic, suppressed| {
            tracing::warn!(
                target: "auditlog_kafka",
                topic = %topic,
                event_id = event_id.unwrap_or(""),
                failed_total = failed,
                suppressed,
                "audit event not delivered: {error}"
            );
        });
    }

    /// An event sent without the spool, which was full or failing.
    pub(super) fn count_unspooled(&self, why: &dyn fmt::Display) {
        let unspooled = self.unspooled.increment();
        self.warn(|topic, suppressed| {
            tracing::warn!(
                target: "auditlog_kafka",
                topic = %topic,
                unspooled_total = unspooled,
                suppressed,
                "audit event sent without the spool ({why}): lost if the process dies before delivery"
            );
        });
    }

    /// A delivery failed; the event waits in the spool to be sent again.
    pub(super) fn count_retry(&self, error: &dyn fmt::Display) {
        let retried = self.retried.increment();
        self.warn(|topic, suppressed| {
            tracing::warn!(
                target: "auditlog_kafka",
                topic = %topic,
                retried_total = retried,
                suppressed,
                "audit event not delivered, kept in the spool to retry: {error}"
            );
        });
    }

    /// An event refused, counted by reason.
    pub(super) fn count_drop(&self, reason: Dropped) {
        self.dropped[reason as usize].increment();
        let dropped: u64 = self.dropped.iter().map(Counter::get).sum();
        let why = reason.why();
        self.warn(|topic, suppressed| {
            tracing::warn!(
                target: "auditlog_kafka",
                topic = %topic,
                dropped_total = dropped,
                reason = reason.label(),
                suppressed,
                "audit event dropped: {why}"
            );
        });
    }

    /// Runs `emit(topic, suppressed)` if a warning may go out now.
    fn warn(&self, emit: impl FnOnce(&str, u64)) {
        let allowed = lock(&self.warnings).allow();
        if let Some(suppressed) = allowed {
            emit(&self.topic, suppressed);
        }
    }
}
