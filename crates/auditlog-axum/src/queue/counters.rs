//! The queue's counters by reason, and the metrics they feed.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Names of the metrics the layer records through the `metrics` facade. The
/// handles are registered when the layer is made: install the recorder
/// (exporter) first.
pub mod metric {
    /// Counter: events accepted into the queue.
    pub const QUEUED: &str = "auditlog_axum_events_queued_total";
    /// Counter: events the sink accepted.
    pub const PUBLISHED: &str = "auditlog_axum_events_published_total";
    /// Counter, labelled `reason` (`queue_full`, `queue_bytes`,
    /// `not_running`): events dropped before the sink saw them.
    pub const DROPPED: &str = "auditlog_axum_events_dropped_total";
    /// Counter, labelled `reason` (`sink_error`, `panicked`): events lost
    /// after they left the queue.
    pub const FAILED: &str = "auditlog_axum_events_failed_total";
    /// Gauge: approximate bytes held by the events waiting in the queue.
    pub const QUEUE_BYTES: &str = "auditlog_axum_queue_bytes";
}

/// Why an event never reached the sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dropped {
    /// The queue held `queue_capacity` events.
    QueueFull,
    /// The event did not fit in what is left of `queue_bytes`.
    QueueBytes,
    /// No tokio runtime ran the background task, or it had stopped.
    NotRunning,
}

impl Dropped {
    const ALL: [Dropped; 3] = [Dropped::QueueFull, Dropped::QueueBytes, Dropped::NotRunning];

    fn label(self) -> &'static str {
        match self {
            Dropped::QueueFull => "queue_full",
            Dropped::QueueBytes => "queue_bytes",
            Dropped::NotRunning => "not_running",
        }
    }

    /// Completes "audit event dropped: ...".
    pub(crate) fn why(self) -> &'static str {
        match self {
            Dropped::QueueFull => "the audit queue is full (queue_capacity events)",
            Dropped::QueueBytes => "the audit queue is full (queue_bytes bytes)",
            Dropped::NotRunning => "no tokio runtime runs the audit task",
        }
    }
}

/// Why an event that left the queue was not published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failed {
    /// The sink returned an error.
    SinkError,
    /// Finishing the event (the hook) or the sink's `publish` panicked.
    Panicked,
}

impl Failed {
    const ALL: [Failed; 2] = [Failed::SinkError, Failed::Panicked];

    fn label(self) -> &'static str {
        match self {
            Failed::SinkError => "sink_error",
            Failed::Panicked => "panicked",
        }
    }
}

/// The layer's counters; totals and their parts by reason.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) queued: AtomicU64,
    pub(crate) published: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) suppressed: AtomicU64,
    pub(crate) skipped: AtomicU64,
    pub(crate) write_ahead: AtomicU64,
    pub(crate) write_ahead_failed: AtomicU64,
    pub(crate) write_ahead_in_flight: AtomicU64,
    /// Indexed like `Dropped::ALL`.
    pub(crate) dropped_by: [AtomicU64; 3],
    /// Indexed like `Failed::ALL`.
    pub(crate) failed_by: [AtomicU64; 2],
    /// Approximate bytes of the events in the queue now, and the most ever.
    pub(crate) queued_bytes: AtomicU64,
    pub(crate) peak_queued_bytes: AtomicU64,
    pub(crate) identity: crate::identity::IdentityCounters,
}

impl Counters {
    pub(crate) fn dropped_by(&self, reason: Dropped) -> u64 {
        self.dropped_by[reason as usize].load(Relaxed)
    }

    pub(crate) fn failed_by(&self, reason: Failed) -> u64 {
        self.failed_by[reason as usize].load(Relaxed)
    }

    /// Counts a drop; returns the drops so far.
    pub(crate) fn count_dropped(&self, reason: Dropped, metrics: &Metrics) -> u64 {
        self.dropped_by[reason as usize].fetch_add(1, Relaxed);
        metrics.dropped[reason as usize].increment(1);
        self.dropped.fetch_add(1, Relaxed) + 1
    }

    /// Counts a failure; returns the failures so far.
    pub(crate) fn count_failed(&self, reason: Failed, metrics: &Metrics) -> u64 {
        self.failed_by[reason as usize].fetch_add(1, Relaxed);
        metrics.failed[reason as usize].increment(1);
        self.failed.fetch_add(1, Relaxed) + 1
    }

    /// Takes `bytes` of the queue's budget `limit`, if they fit.
    pub(crate) fn reserve_bytes(&self, bytes: u64, limit: u64, metrics: &Metrics) -> bool {
        let held = self.queued_bytes.fetch_update(Relaxed, Relaxed, |held| {
            held.checked_add(bytes).filter(|&total| total <= limit)
        });
        match held {
            Ok(before) => {
                self.peak_queued_bytes.fetch_max(before + bytes, Relaxed);
                metrics.queue_bytes.increment(bytes as f64);
                true
            }
            Err(_) => false,
        }
    }

    /// Gives back what `reserve_bytes` took.
    pub(crate) fn release_bytes(&self, bytes: u64, metrics: &Metrics) {
        self.queued_bytes.fetch_sub(bytes, Relaxed);
        metrics.queue_bytes.decrement(bytes as f64);
    }
}

/// The metric handles, made once per layer.
pub(crate) struct Metrics {
    pub(crate) queued: metrics::Counter,
    pub(crate) published: metrics::Counter,
    dropped: [metrics::Counter; 3],
    failed: [metrics::Counter; 2],
    queue_bytes: metrics::Gauge,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        Metrics {
            queued: metrics::counter!(metric::QUEUED),
            published: metrics::counter!(metric::PUBLISHED),
            dropped: Dropped::ALL
                .map(|reason| metrics::counter!(metric::DROPPED, "reason" => reason.label())),
            failed: Failed::ALL
                .map(|reason| metrics::counter!(metric::FAILED, "reason" => reason.label())),
            queue_bytes: metrics::gauge!(metric::QUEUE_BYTES),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_budget_is_never_exceeded_and_comes_back() {
        let counters = Counters::default();
        let metrics = Metrics::new();
        assert!(counters.reserve_bytes(600, 1000, &metrics));
        assert!(
            !counters.reserve_bytes(401, 1000, &metrics),
            "past the budget"
        );
        assert!(
            counters.reserve_bytes(400, 1000, &metrics),
            "exactly the budget"
        );
        assert!(!counters.reserve_bytes(1, 1000, &metrics));
        counters.release_bytes(600, &metrics);
        assert!(counters.reserve_bytes(600, 1000, &metrics));
        assert!(
            !counters.reserve_bytes(u64::MAX, u64::MAX, &metrics),
            "no overflow"
        );
        assert_eq!(counters.peak_queued_bytes.load(Relaxed), 1000);
    }
}
