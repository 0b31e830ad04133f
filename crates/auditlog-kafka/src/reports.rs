//! librdkafka's producer, with a thread of ours serving its delivery
//! reports: the publisher's and the relay's (`LineProducer`).
//!
//! `rdkafka`'s `ThreadedProducer` polls in periods of 100 ms, and its
//! `poll` asks librdkafka to wait for the time left rounded down to whole
//! milliseconds: every period ended with up to a millisecond of polling
//! with no wait at all. An idle service paid 84 ms of CPU every 10 s on
//! that thread (`perf stat --per-thread`); this one pays almost nothing.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::producer::{BaseProducer, ProducerContext};
use rdkafka::ClientConfig;

use crate::error::{Error, Result};

/// A wait of `millis` to hand to `rdkafka`'s `poll` or `flush`: 20 µs more,
/// so that the wait librdkafka is asked for, rounded down to milliseconds,
/// still covers it and an idle period is not spun on. Only the first wait:
/// after a report the time left is rounded down again, and up to a
/// millisecond is still spun on, as before.
pub(crate) const fn wait_of(millis: u64) -> Duration {
    Duration::from_micros(millis * 1000 + 20)
}

/// One period of polling, the `ThreadedProducer`'s; also how long dropping
/// the producer may wait for the thread.
const POLL_PERIOD: Duration = wait_of(100);

/// The producer and the thread that polls it until it is dropped.
pub(crate) struct ReportedProducer<C: ProducerContext + 'static> {
    producer: Arc<BaseProducer<C>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl<C: ProducerContext + 'static> ReportedProducer<C> {
    pub(crate) fn new(client: &ClientConfig, callbacks: C) -> Result<Self> {
        let producer: Arc<BaseProducer<C>> = Arc::new(
            client
                .create_with_context(callbacks)
                .map_err(Error::client)?,
        );
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("auditlog-reports".into())
            .spawn({
                let (producer, stop) = (producer.clone(), stop.clone());
                move || serve_reports(&producer, &stop)
            })
            .map_err(|source| Error::Spawn {
                thread: "auditlog-reports",
                source,
            })?;
        Ok(ReportedProducer {
            producer,
            stop,
            thread: Some(thread),
        })
    }
}

/// Polls `producer` until `stop`. A panicking callback (a bug, or the
/// user's metrics recorder or tracing subscriber) costs the reports of its
/// batch, whose events stay counted in flight (abandoned at shutdown, or
/// kept by the spool); ending the thread would leave every later event
/// unsettled and, once the gate is full, every publish dropped.
fn serve_reports<C: ProducerContext>(producer: &BaseProducer<C>, stop: &AtomicBool) {
    while !stop.load(Relaxed) {
        let polled = catch_unwind(AssertUnwindSafe(|| producer.poll(POLL_PERIOD)));
        if polled.is_err() {
            tracing::error!(
                target: "auditlog_kafka",
                "a delivery report callback panicked: the reports of its batch are lost, those events stay counted in flight"
            );
        }
    }
}

impl<C: ProducerContext + 'static> std::ops::Deref for ReportedProducer<C> {
    type Target = BaseProducer<C>;

    fn deref(&self) -> &Self::Target {
        &self.producer
    }
}

impl<C: ProducerContext + 'static> Drop for ReportedProducer<C> {
    /// Stops the thread after its current period; the reports still due
    /// are served by whoever flushes (shutdown flushes before it drops).
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(thread) = self.thread.take() {
            // It catches callbacks' panics: it ends with `stop`.
            let _ = thread.join();
        }
    }
}
