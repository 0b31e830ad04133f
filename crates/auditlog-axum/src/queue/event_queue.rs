//! [`EventQueue`]: where finished exchanges wait for the background task,
//! bounded in events and bytes, never waited on by a request.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use auditlog_core::AuditEvent;
use auditlog_sink::{AuditSink, SinkError};
use tokio::sync::mpsc;

use super::counters::{Dropped, Failed};
use super::worker::{Queued, Work, Worker};
use crate::identity::IdentityCounters;
use crate::record::Record;
use crate::stats::AuditStats;

/// The default number of finished events waiting for the sink before new
/// ones are dropped (and counted).
pub const DEFAULT_QUEUE_CAPACITY: usize = 8192;

/// The default bound on what the queue of finished events holds, in bytes
/// (approximate, captured bodies included): 64 MiB. Beyond it events are
/// dropped and counted ([`AuditStats::dropped_queue_bytes`]).
pub const DEFAULT_QUEUE_BYTES: usize = 64 * 1024 * 1024;

/// The queue, the background task and the counters, shared by a layer and
/// every service and event it made.
pub(crate) struct EventQueue {
    capacity: AtomicUsize,
    /// The queue's budget in bytes (approximate, captures included).
    queue_bytes: AtomicU64,
    sender: OnceLock<mpsc::Sender<Queued>>,
    worker: Arc<Worker>,
}

/// A write-ahead record under way; [`EventQueue::flush`] waits for it.
pub(crate) struct InFlight(Arc<Worker>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.counters.write_ahead_in_flight.fetch_sub(1, Relaxed);
        self.0.idle.notify_waiters();
    }
}

impl EventQueue {
    /// A queue for `sink` with the default bounds; the background task
    /// starts with the first request.
    pub(crate) fn new(sink: impl AuditSink) -> Self {
        EventQueue {
            capacity: AtomicUsize::new(DEFAULT_QUEUE_CAPACITY),
            queue_bytes: AtomicU64::new(DEFAULT_QUEUE_BYTES as u64),
            sender: OnceLock::new(),
            worker: Arc::new(Worker::new(Arc::new(sink))),
        }
    }

    pub(crate) fn set_capacity(&self, capacity: usize) {
        self.capacity.store(capacity, Relaxed);
    }

    pub(crate) fn set_queue_bytes(&self, bytes: u64) {
        self.queue_bytes.store(bytes, Relaxed);
    }

    /// Starts the background task on the current runtime, once.
    pub(crate) fn ensure_worker(&self) {
        if self.sender.get().is_some() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        self.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(self.capacity.load(Relaxed));
            runtime.spawn(self.worker.clone().run(receiver));
            sender
        });
    }

    pub(crate) fn count_skipped(&self) {
        self.worker.counters.skipped.fetch_add(1, Relaxed);
    }

    pub(crate) fn count_suppressed(&self) {
        self.worker.counters.suppressed.fetch_add(1, Relaxed);
    }

    pub(crate) fn identity_counters(&self) -> &IdentityCounters {
        &self.worker.counters.identity
    }

    pub(crate) fn sink(&self) -> &Arc<dyn AuditSink> {
        &self.worker.sink
    }

    pub(crate) fn write_ahead_started(&self) -> InFlight {
        let counters = &self.worker.counters;
        counters.write_ahead_in_flight.fetch_add(1, Relaxed);
        InFlight(self.worker.clone())
    }

    pub(crate) fn count_write_ahead(&self) {
        self.worker.counters.write_ahead.fetch_add(1, Relaxed);
    }

    /// Counts a failed write-ahead and queues its event, if any, as usual;
    /// returns the failures so far.
    pub(crate) fn count_write_ahead_failed(&self, event: Option<Box<AuditEvent>>) -> u64 {
        let failed = self
            .worker
            .counters
            .write_ahead_failed
            .fetch_add(1, Relaxed)
            + 1;
        if let Some(event) = event {
            self.send(Work::Event(event));
        }
        failed
    }

    /// Queues a finished exchange for the background task to turn into
    /// its event.
    pub(crate) fn send_record(&self, record: Record) {
        self.send(Work::Record(record));
    }

    /// Queues a finished record or event, never waiting: dropped (counted
    /// by reason) when the queue is at its count or its byte budget.
    fn send(&self, work: Work) {
        let worker = &*self.worker;
        let counters = &worker.counters;
        let bytes = work.approx_bytes();
        let limit = self.queue_bytes.load(Relaxed);
        let refused = match self.sender.get() {
            None => Dropped::NotRunning,
            Some(_) if !counters.reserve_bytes(bytes, limit, &worker.metrics) => {
                Dropped::QueueBytes
            }
            Some(sender) => {
                counters.queued.fetch_add(1, Relaxed);
                let refused = match sender.try_send(Queued { work, bytes }) {
                    Ok(()) => {
                        worker.metrics.queued.increment(1);
                        return;
                    }
                    Err(mpsc::error::TrySendError::Full(_)) => Dropped::QueueFull,
                    Err(mpsc::error::TrySendError::Closed(_)) => Dropped::NotRunning,
                };
                counters.queued.fetch_sub(1, Relaxed);
                counters.release_bytes(bytes, &worker.metrics);
                refused
            }
        };
        let dropped = counters.count_dropped(refused, &worker.metrics);
        tracing::warn!(target: "auditlog_axum", dropped, reason = refused.why(), "audit event dropped: {}", refused.why());
        worker.idle.notify_waiters();
    }

    pub(crate) fn stats(&self) -> AuditStats {
        let c = &self.worker.counters;
        AuditStats {
            queued: c.queued.load(Relaxed),
            published: c.published.load(Relaxed),
            failed: c.failed.load(Relaxed),
            dropped: c.dropped.load(Relaxed),
            suppressed: c.suppressed.load(Relaxed),
            skipped: c.skipped.load(Relaxed),
            write_ahead: c.write_ahead.load(Relaxed),
            write_ahead_failed: c.write_ahead_failed.load(Relaxed),
            dropped_queue_full: c.dropped_by(Dropped::QueueFull),
            dropped_queue_bytes: c.dropped_by(Dropped::QueueBytes),
            dropped_not_running: c.dropped_by(Dropped::NotRunning),
            failed_sink_error: c.failed_by(Failed::SinkError),
            failed_panicked: c.failed_by(Failed::Panicked),
            queued_bytes: c.queued_bytes.load(Relaxed),
            peak_queued_bytes: c.peak_queued_bytes.load(Relaxed),
            identity_ignored: c.identity.ignored.load(Relaxed),
            identity_conflicts: c.identity.conflicts.load(Relaxed),
        }
    }

    /// Waits until every queued event was handed to the sink, then flushes
    /// the sink, all within `timeout`.
    pub(crate) async fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let c = &self.worker.counters;
        loop {
            let idle = self.worker.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            // A write-ahead in flight may still queue its event.
            let in_flight = c.write_ahead_in_flight.load(Relaxed);
            let handed = c.published.load(Relaxed) + c.failed.load(Relaxed);
            let queued = c.queued.load(Relaxed);
            if handed >= queued && in_flight == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return Err(SinkError::Timeout {
                    undelivered: queued.saturating_sub(handed) + in_flight,
                });
            }
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        self.worker.sink.flush(left).await
    }
}
