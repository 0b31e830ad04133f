//! The background task: takes finished exchanges off the queue, turns them
//! into events and hands them to the sink.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use auditlog_core::AuditEvent;
use auditlog_sink::AuditSink;
use tokio::sync::{mpsc, Notify};

use super::counters::{Counters, Failed, Metrics};
use super::size::event_bytes;
use crate::event_slot::EventSlot;
use crate::record::Record;
use crate::unwind::CatchUnwind;

/// What the background task needs; it holds no sender, so it ends when the
/// last layer and service are gone.
pub(crate) struct Worker {
    pub(crate) sink: Arc<dyn AuditSink>,
    pub(crate) counters: Counters,
    pub(crate) metrics: Metrics,
    /// Woken whenever the queue may have emptied, for `flush`.
    pub(crate) idle: Notify,
}

/// What the background task publishes.
// Records are the common case: boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Work {
    /// A finished exchange, to be turned into its event.
    Record(Record),
    /// An event already finished (a failed write-ahead).
    Event(Box<AuditEvent>),
}

/// Work in the queue, with the bytes it holds of the queue's budget.
pub(crate) struct Queued {
    pub(crate) work: Work,
    pub(crate) bytes: u64,
}

impl Work {
    /// Roughly what it holds in memory: the event's strings and captures
    /// (raw; escaping happens later, in the sink).
    pub(crate) fn approx_bytes(&self) -> u64 {
        match self {
            Work::Record(record) => record.approx_bytes(),
            Work::Event(event) => event_bytes(event),
        }
    }
}

/// The most events the background task takes from the queue at once.
const PUBLISH_BATCH: usize = 256;

/// How long the background task lets events gather after a batch that did
/// not fill [`PUBLISH_BATCH`]. Meanwhile a request's send wakes nobody: under
/// load, one wake-up of the task (a futex call on each side when it runs on
/// another thread) per millisecond instead of one per event. An event waits
/// at most this long more for its sink.
const BATCH_LINGER: Duration = Duration::from_millis(1);

impl Worker {
    pub(crate) fn new(sink: Arc<dyn AuditSink>) -> Self {
        Worker {
            sink,
            counters: Counters::default(),
            metrics: Metrics::new(),
            idle: Notify::new(),
        }
    }

    /// Publishes what arrives until every sender is gone.
    pub(crate) async fn run(self: Arc<Self>, mut receiver: mpsc::Receiver<Queued>) {
        let mut batch = Vec::with_capacity(PUBLISH_BATCH);
        // Every record's event is made here and lent to the sink: it lives
        // in this task, not in a new box per event.
        let mut slot = EventSlot::default();
        let linger = timers_enabled();
        // Takes what is waiting in one go: fewer wake-ups under load.
        while receiver.recv_many(&mut batch, PUBLISH_BATCH).await > 0 {
            let full = batch.len() == PUBLISH_BATCH;
            for Queued { work, bytes } in batch.drain(..) {
                self.publish_one(work, &mut slot).await;
                // Held until the sink has it: the batch still holds it till then.
                self.counters.release_bytes(bytes, &self.metrics);
            }
            self.idle.notify_waiters();
            if linger && !full {
                tokio::time::sleep(BATCH_LINGER).await;
            }
        }
    }

    /// Finishes and publishes one event; a panic (in the hook or the sink)
    /// loses that event, counted, not the task.
    async fn publish_one(&self, work: Work, slot: &mut EventSlot) {
        match work {
            Work::Record(record) => {
                let filled = catch_unwind(AssertUnwindSafe(|| record.fill(slot)));
                if filled.is_ok() {
                    self.publish_borrowed(slot.event()).await;
                } else {
                    let failed = self.counters.count_failed(Failed::Panicked, &self.metrics);
                    tracing::warn!(target: "auditlog_axum", failed, "audit event lost: finishing it panicked");
                }
                // Whatever happened, nothing of this event is left for the next.
                slot.recycle();
            }
            Work::Event(mut event) => self.publish_borrowed(&mut event).await,
        }
    }

    /// Lends `event` to the sink (called on it directly, not through the
    /// `Arc`'s own boxed future) and counts what became of it.
    async fn publish_borrowed(&self, event: &mut AuditEvent) {
        let (counters, metrics) = (&self.counters, &self.metrics);
        let sink: &dyn AuditSink = &*self.sink;
        match CatchUnwind::new(sink.publish_borrowed(event)).await {
            Ok(Ok(())) => {
                counters.published.fetch_add(1, Relaxed);
                metrics.published.increment(1);
            }
            Ok(Err(error)) => {
                let failed = counters.count_failed(Failed::SinkError, metrics);
                tracing::warn!(target: "auditlog_axum", failed, %error, "audit event not published");
            }
            Err(()) => {
                let failed = counters.count_failed(Failed::Panicked, metrics);
                tracing::error!(target: "auditlog_axum", failed, "audit event lost: the sink's publish panicked");
            }
        }
    }
}

/// Whether the runtime running the task has its timer (`enable_time`);
/// without it the task publishes each event as it comes, without lingering.
fn timers_enabled() -> bool {
    // Tokio offers no query: making a timer without a timer driver panics
    // (once, printed by the panic hook). Never probed where a panic aborts.
    cfg!(panic = "unwind") && catch_unwind(|| drop(tokio::time::sleep(Duration::ZERO))).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use auditlog_sink::SinkError;

    #[derive(Debug)]
    struct Accept;

    #[async_trait::async_trait]
    impl AuditSink for Accept {
        async fn publish(&self, _: AuditEvent) -> Result<(), SinkError> {
            Ok(())
        }

        async fn flush(&self, _: std::time::Duration) -> Result<(), SinkError> {
            Ok(())
        }
    }

    #[test]
    fn a_runtime_without_timers_still_gets_every_event_published() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let worker = Arc::new(Worker::new(Arc::new(Accept)));
        let (sender, receiver) = mpsc::channel(8);
        for _ in 0..3 {
            let work = Work::Event(Box::default());
            sender.try_send(Queued { work, bytes: 0 }).ok().unwrap();
        }
        drop(sender);
        // Ends once the queue is drained and closed; a timer would panic here.
        runtime.block_on(worker.clone().run(receiver));
        assert_eq!(worker.counters.published.load(Relaxed), 3);
    }
}
