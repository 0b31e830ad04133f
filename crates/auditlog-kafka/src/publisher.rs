//! The publisher: a counted gate in front of librdkafka's producer.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use auditlog_core::AuditEvent;
use auditlog_seal::{ChainKey, ChainSealer, SigningKey};
use auditlog_sink::{AuditSink, SinkError};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{
    BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig, ThreadedProducer,
};
use rdkafka::ClientContext;
use tokio::sync::Semaphore;

use crate::config::{ChainConfig, KafkaConfig, MessageKey, Overflow};
use crate::error::{Error, Result};

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
    /// Counter: events refused because the queue was full.
    pub const DROPPED: &str = "auditlog_kafka_events_dropped_total";
    /// Gauge: events accepted and not yet delivered or failed.
    pub const IN_FLIGHT: &str = "auditlog_kafka_events_in_flight";
}

/// A snapshot of the publisher's counters. Always
/// `accepted == delivered + failed + in_flight`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublisherStats {
    pub accepted: u64,
    pub delivered: u64,
    pub failed: u64,
    pub dropped: u64,
    pub in_flight: u64,
    /// Chain checkpoints sent (also counted in `accepted`).
    pub checkpoints: u64,
}

/// What [`KafkaPublisher::shutdown`] achieved.
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
}

impl ShutdownReport {
    /// Accepted events that did not reach the broker.
    pub fn undelivered(&self) -> u64 {
        self.failed + self.abandoned
    }

    /// Everything accepted was delivered and nothing was dropped.
    pub fn is_complete(&self) -> bool {
        self.undelivered() == 0 && self.dropped == 0
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} accepted, {} delivered, {} failed, {} abandoned at shutdown, {} dropped (queue full)",
            self.accepted, self.delivered, self.failed, self.abandoned, self.dropped
        )
    }
}

/// At most one warning per interval; the rest are counted into the next.
#[derive(Debug)]
struct RateLimit {
    last: Option<Instant>,
    suppressed: u64,
}

const WARN_INTERVAL: Duration = Duration::from_secs(1);

impl RateLimit {
    /// `Some(suppressed since the last warning)` when a warning may go out.
    fn allow(&mut self) -> Option<u64> {
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
struct Metrics {
    accepted: metrics::Counter,
    delivered: metrics::Counter,
    failed: metrics::Counter,
    dropped: metrics::Counter,
    in_flight: metrics::Gauge,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    fn new(topic: &str) -> Self {
        let label = || [("topic", topic.to_owned())];
        Metrics {
            accepted: metrics::counter!(metric::ACCEPTED, &label()),
            delivered: metrics::counter!(metric::DELIVERED, &label()),
            failed: metrics::counter!(metric::FAILED, &label()),
            dropped: metrics::counter!(metric::DROPPED, &label()),
            in_flight: metrics::gauge!(metric::IN_FLIGHT, &label()),
        }
    }
}

/// Counters and the gate, shared with librdkafka's callback thread.
#[derive(Debug)]
struct Shared {
    topic: String,
    metrics: Metrics,
    accepted: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    checkpoints: AtomicU64,
    /// One permit per free place in the queue.
    gate: Semaphore,
    failure_warnings: Mutex<RateLimit>,
    client_warnings: Mutex<RateLimit>,
    last_client_error: Mutex<Option<String>>,
}

impl Shared {
    fn stats(&self) -> PublisherStats {
        // Read the outcomes before `accepted` so in_flight never goes negative.
        let delivered = self.delivered.load(Relaxed);
        let failed = self.failed.load(Relaxed);
        let dropped = self.dropped.load(Relaxed);
        let accepted = self.accepted.load(Relaxed);
        PublisherStats {
            accepted,
            delivered,
            failed,
            dropped,
            in_flight: accepted.saturating_sub(delivered + failed),
            checkpoints: self.checkpoints.load(Relaxed),
        }
    }

    fn in_flight_gauge(&self) {
        let stats = self.stats();
        self.metrics.in_flight.set(stats.in_flight as f64);
    }

    fn record_failure(&self, error: &dyn fmt::Display, event_id: Option<&str>) {
        let failed = self.failed.fetch_add(1, Relaxed) + 1;
        self.metrics.failed.increment(1);
        if let Some(suppressed) = self.failure_warnings.lock().unwrap().allow() {
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

    fn record_drop(&self) {
        let dropped = self.dropped.fetch_add(1, Relaxed) + 1;
        self.metrics.dropped.increment(1);
        if let Some(suppressed) = self.failure_warnings.lock().unwrap().allow() {
            tracing::warn!(
                target: "auditlog_kafka",
                topic = %self.topic,
                dropped_total = dropped,
                suppressed,
                "audit queue full: event dropped"
            );
        }
    }
}

/// librdkafka's callbacks: delivery reports and client errors.
#[derive(Debug, Clone)]
struct Context(Arc<Shared>);

impl ClientContext for Context {
    fn error(&self, error: KafkaError, reason: &str) {
        *self.0.last_client_error.lock().unwrap() = Some(reason.to_owned());
        if let Some(suppressed) = self.0.client_warnings.lock().unwrap().allow() {
            tracing::warn!(target: "auditlog_kafka", topic = %self.0.topic, suppressed, "Kafka client error: {error}: {reason}");
        }
    }
}

/// What a message carries to its delivery report (a `usize`, which
/// librdkafka stores without allocating): bit 0 says the message holds a
/// place in the gate, given back on its report (checkpoints take none:
/// they must not be refused).
mod ticket {
    pub(super) const GATED: usize = 1;
    pub(super) const UNGATED: usize = 0;

    pub(super) fn is_gated(ticket: usize) -> bool {
        ticket & GATED == GATED
    }
}

impl ProducerContext for Context {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, ticket: usize) {
        match result {
            Ok(_) => {
                self.0.delivered.fetch_add(1, Relaxed);
                self.0.metrics.delivered.increment(1);
            }
            Err((error, message)) => {
                use rdkafka::Message;
                let id = message
                    .headers()
                    .and_then(|h| {
                        use rdkafka::message::Headers;
                        h.iter().find(|h| h.key == "ce_id").and_then(|h| h.value)
                    })
                    .and_then(|v| std::str::from_utf8(v).ok());
                self.0.record_failure(error, id);
            }
        }
        if ticket::is_gated(ticket) {
            self.0.gate.add_permits(1);
        }
        self.0.in_flight_gauge();
    }
}

struct Inner {
    producer: ThreadedProducer<Context>,
    shared: Arc<Shared>,
    topic: String,
    brokers: String,
    key: MessageKey,
    signing_key: Option<SigningKey>,
    overflow: Overflow,
    drop_flush_timeout: Duration,
    closed: AtomicBool,
    /// Sealing into a chain happens in publishing order, under this lock.
    chain: Option<Mutex<Chain>>,
}

/// The chain being sealed and what its last checkpoint covered.
#[derive(Debug)]
struct Chain {
    sealer: ChainSealer,
    checkpointed: u64,
}

/// Seals audit events and publishes them to a Kafka topic without ever
/// waiting for the broker. Cheap to clone; clones share one producer.
///
/// Every event handed to [`publish`](AuditSink::publish) ends up counted
/// exactly once: dropped (queue full, refused at once), or accepted and then
/// delivered or failed. See [`stats`](Self::stats).
#[derive(Clone)]
pub struct KafkaPublisher {
    inner: Arc<Inner>,
}

impl fmt::Debug for KafkaPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaPublisher")
            .field("brokers", &self.inner.brokers)
            .field("topic", &self.inner.topic)
            .field("overflow", &self.inner.overflow)
            .field("key", &self.inner.key)
            .field("signing_key", &self.inner.signing_key)
            .field("chain", &self.chain_id())
            .field("stats", &self.stats())
            .finish()
    }
}

impl KafkaPublisher {
    /// Creates the producer. Does not contact the brokers (see
    /// [`check`](Self::check)); fails only on a configuration librdkafka
    /// refuses or settings that contradict each other.
    pub fn new(config: KafkaConfig) -> Result<Self> {
        config.validate()?;
        let shared = Arc::new(Shared {
            topic: config.topic.clone(),
            metrics: Metrics::new(&config.topic),
            accepted: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            checkpoints: AtomicU64::new(0),
            gate: Semaphore::new(config.capacity.min(Semaphore::MAX_PERMITS)),
            failure_warnings: Mutex::new(RateLimit {
                last: None,
                suppressed: 0,
            }),
            client_warnings: Mutex::new(RateLimit {
                last: None,
                suppressed: 0,
            }),
            last_client_error: Mutex::new(None),
        });
        let producer: ThreadedProducer<Context> = config
            .client_config()
            .create_with_context(Context(shared.clone()))
            .map_err(|e| Error::Client(e.to_string()))?;
        let chain = config.chain.as_ref().map(start_chain).transpose()?;
        let tick = config.chain.as_ref().and_then(|c| c.every);
        let inner = Arc::new(Inner {
            producer,
            shared,
            topic: config.topic,
            brokers: config.brokers,
            key: config.key,
            signing_key: config.signing_key,
            overflow: config.overflow,
            drop_flush_timeout: config.drop_flush_timeout,
            closed: AtomicBool::new(false),
            chain: chain.map(Mutex::new),
        });
        if let Some(every) = tick {
            spawn_checkpoint_timer(Arc::downgrade(&inner), every);
        }
        Ok(KafkaPublisher { inner })
    }

    /// Asks the brokers for the topic's metadata: a clear error when no broker
    /// answers within `timeout` or the topic does not exist. Blocks the
    /// calling thread (use `spawn_blocking` on a runtime).
    pub fn check(&self, timeout: Duration) -> Result<()> {
        let inner = &self.inner;
        let metadata = inner
            .producer
            .client()
            .fetch_metadata(Some(&inner.topic), timeout)
            .map_err(|e| Error::Unreachable {
                brokers: inner.brokers.clone(),
                reason: match inner.shared.last_client_error.lock().unwrap().clone() {
                    Some(last) => format!("{e} ({last})"),
                    None => e.to_string(),
                },
            })?;
        let known = metadata
            .topics()
            .iter()
            .any(|t| t.name() == inner.topic && t.error().is_none() && !t.partitions().is_empty());
        if known {
            Ok(())
        } else {
            Err(Error::UnknownTopic {
                topic: inner.topic.clone(),
            })
        }
    }

    /// The counters now.
    pub fn stats(&self) -> PublisherStats {
        self.inner.shared.stats()
    }

    pub fn topic(&self) -> &str {
        &self.inner.topic
    }

    /// The id of the chain events are sealed into, if any.
    pub fn chain_id(&self) -> Option<String> {
        let chain = self.inner.chain.as_ref()?;
        Some(chain.lock().unwrap().sealer.chain_id().to_owned())
    }

    /// Seals the chain's following events (and checkpoints) with `key`, a
    /// new key id; verifiers keep the old key (retired) in their keyring to
    /// verify what it sealed. `false` when the publisher has no chain.
    pub fn rotate_chain_key(&self, key: ChainKey) -> bool {
        let Some(chain) = &self.inner.chain else {
            return false;
        };
        chain.lock().unwrap().sealer.rotate(key);
        true
    }

    /// Accepts `event` if there is room now, never waiting, whatever the
    /// overflow policy: for code without an async runtime.
    pub fn try_publish(&self, event: AuditEvent) -> std::result::Result<(), SinkError> {
        if self.inner.closed.load(Relaxed) {
            return Err(SinkError::Closed);
        }
        match self.inner.shared.gate.try_acquire() {
            Ok(permit) => permit.forget(),
            Err(_) => {
                self.inner.shared.record_drop();
                return Err(SinkError::QueueFull);
            }
        }
        self.inner.produce(event)
    }

    /// Stops accepting events, sends a last checkpoint of the chain (if
    /// any), waits up to `timeout` for the ones in flight, purges what is
    /// left and says what happened. Blocks the calling thread (from async
    /// code: `spawn_blocking`). Later calls report again without waiting.
    pub fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        self.inner.shutdown(timeout)
    }
}

fn start_chain(config: &ChainConfig) -> Result<Chain> {
    let id = config.id.clone().unwrap_or_else(ChainSealer::new_chain_id);
    let mut sealer = ChainSealer::new(id, config.key.clone())
        .map_err(|e| Error::config("chain", e.to_string()))?;
    if let Some(events) = config.every_events {
        sealer = sealer.checkpoint_every(events);
    }
    if let Some(every) = config.every {
        sealer = sealer.checkpoint_interval(every);
    }
    Ok(Chain {
        sealer,
        checkpointed: 0,
    })
}

/// Checkpoints on time, also when no events come: silence stays visible.
fn spawn_checkpoint_timer(inner: Weak<Inner>, every: Duration) {
    let tick = (every / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let spawned = std::thread::Builder::new()
        .name("auditlog-checkpoints".into())
        .spawn(move || loop {
            std::thread::sleep(tick);
            let Some(inner) = inner.upgrade() else { return };
            if inner.closed.load(Relaxed) {
                return;
            }
            if let Some(chain) = &inner.chain {
                let mut chain = chain.lock().unwrap();
                if chain.sealer.checkpoint_due() {
                    inner.send_checkpoint(&mut chain);
                }
            }
        });
    if let Err(error) = spawned {
        tracing::error!(target: "auditlog_kafka", "no checkpoint timer (checkpoints by count and at shutdown only): {error}");
    }
}

thread_local! {
    /// The published JSON, reused: librdkafka copies the payload.
    static PAYLOAD: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(2048));
}

impl Inner {
    /// Seals and hands the event to librdkafka; a place in the gate is held.
    fn produce(&self, mut event: AuditEvent) -> std::result::Result<(), SinkError> {
        PAYLOAD.with_borrow_mut(|json| {
            json.clear();
            let Some(chain) = &self.chain else {
                auditlog_seal::seal_into(&mut event, self.signing_key.as_ref(), json);
                let key = self.key.key_of(&event);
                return self.send(&event, json, key.as_deref(), ticket::GATED);
            };
            // Sealed and sent under one lock: the chain's order is the
            // partition's order.
            let mut chain = chain.lock().unwrap();
            chain.sealer.seal_into(&mut event, json);
            let sent = self.send(
                &event,
                json,
                Some(chain.sealer.chain_id().as_bytes()),
                ticket::GATED,
            );
            if chain.sealer.checkpoint_due() {
                self.send_checkpoint(&mut chain);
            }
            sent
        })
    }

    /// Seals a checkpoint of the chain as it is and sends it without
    /// taking a place in the gate.
    fn send_checkpoint(&self, chain: &mut Chain) {
        let checkpoint = chain.sealer.checkpoint();
        chain.checkpointed = chain.sealer.length();
        let json = checkpoint.published_json();
        self.shared.checkpoints.fetch_add(1, Relaxed);
        let key = chain.sealer.chain_id().as_bytes();
        // A failure is counted and logged by `send`.
        let _ = self.send(&checkpoint, json.as_bytes(), Some(key), ticket::UNGATED);
    }

    fn send(
        &self,
        event: &AuditEvent,
        json: &[u8],
        key: Option<&[u8]>,
        ticket: usize,
    ) -> std::result::Result<(), SinkError> {
        let shared = &*self.shared;
        let mut headers = OwnedHeaders::new_with_capacity(5).insert(Header {
            key: "content-type",
            value: Some("application/json"),
        });
        for (name, value) in [
            ("ce_id", &event.id),
            ("ce_specversion", &event.specversion),
            ("ce_time", &event.timestamp),
            ("ce_tenantid", &event.tenantid),
        ] {
            if let Some(value) = value {
                headers = headers.insert(Header {
                    key: name,
                    value: Some(value.as_str()),
                });
            }
        }
        let mut record = BaseRecord::with_opaque_to(&self.topic, ticket)
            .payload(json)
            .headers(headers);
        if let Some(key) = key {
            record = record.key(key);
        }
        shared.accepted.fetch_add(1, Relaxed);
        shared.metrics.accepted.increment(1);
        loop {
            match self.producer.send(record) {
                Ok(()) => {
                    shared.in_flight_gauge();
                    return Ok(());
                }
                // Only in the moment between a delivery report and
                // librdkafka freeing the message (its queue is twice ours).
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::yield_now();
                }
                Err((error, _)) => {
                    shared.record_failure(&error, event.id.as_deref());
                    if ticket::is_gated(ticket) {
                        shared.gate.add_permits(1);
                    }
                    shared.in_flight_gauge();
                    return Err(SinkError::Io(error.to_string()));
                }
            }
        }
    }

    fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        let already_closed = self.closed.swap(true, Relaxed);
        if let (false, Some(chain)) = (already_closed, &self.chain) {
            let mut chain = chain.lock().unwrap();
            if chain.sealer.length() > chain.checkpointed {
                self.send_checkpoint(&mut chain);
            }
        }
        let _ = self.producer.flush(timeout);
        let at_deadline = self.shared.stats();
        if at_deadline.in_flight > 0 {
            self.producer
                .purge(PurgeConfig::default().queue().inflight());
            // Serves the purged messages' reports.
            let _ = self.producer.flush(Duration::from_millis(500));
        }
        ShutdownReport {
            accepted: at_deadline.accepted,
            delivered: at_deadline.delivered,
            failed: at_deadline.failed,
            abandoned: at_deadline.in_flight,
            dropped: at_deadline.dropped,
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.closed.load(Relaxed) {
            return;
        }
        let report = self.shutdown(self.drop_flush_timeout);
        if report.undelivered() > 0 || report.dropped > 0 {
            tracing::error!(
                target: "auditlog_kafka",
                topic = %self.topic,
                accepted = report.accepted,
                delivered = report.delivered,
                failed = report.failed,
                abandoned = report.abandoned,
                dropped = report.dropped,
                "audit publisher dropped without shutdown: {} audit events NOT delivered",
                report.undelivered() + report.dropped
            );
            if !tracing::dispatcher::has_been_set() {
                eprintln!(
                    "auditlog-kafka: publisher for topic {} dropped without shutdown: {} audit events NOT delivered ({report})",
                    self.topic,
                    report.undelivered() + report.dropped
                );
            }
        }
    }
}

#[async_trait]
impl AuditSink for KafkaPublisher {
    /// Seals the event and queues it. Never waits for the broker; with
    /// [`Overflow::Wait`] it waits at most that long for room.
    async fn publish(&self, event: AuditEvent) -> std::result::Result<(), SinkError> {
        let inner = &*self.inner;
        if inner.closed.load(Relaxed) {
            return Err(SinkError::Closed);
        }
        let permit = match inner.overflow {
            Overflow::DropNewest => inner.shared.gate.try_acquire().ok(),
            Overflow::Wait(limit) => match inner.shared.gate.try_acquire() {
                Ok(permit) => Some(permit),
                Err(_) => tokio::time::timeout(limit, inner.shared.gate.acquire())
                    .await
                    .ok()
                    .and_then(|acquired| acquired.ok()),
            },
        };
        match permit {
            Some(permit) => permit.forget(),
            None => {
                inner.shared.record_drop();
                return Err(SinkError::QueueFull);
            }
        }
        inner.produce(event)
    }

    /// Waits (on a blocking thread) until nothing is in flight or `timeout`
    /// passes.
    async fn flush(&self, timeout: Duration) -> std::result::Result<(), SinkError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let flushed = this.inner.producer.flush(timeout);
            let in_flight = this.stats().in_flight;
            match (flushed, in_flight) {
                (Ok(()), 0) => Ok(()),
                _ => Err(SinkError::Timeout {
                    undelivered: in_flight,
                }),
            }
        })
        .await
        .map_err(|e| SinkError::Io(e.to_string()))?
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
        };
        assert_eq!(report.undelivered(), 3);
        assert!(!report.is_complete());
        let clean = ShutdownReport {
            accepted: 3,
            delivered: 3,
            ..ShutdownReport::default()
        };
        assert!(clean.is_complete());
        let dropped = ShutdownReport {
            dropped: 1,
            ..clean
        };
        assert!(!dropped.is_complete());
    }
}
