//! The publisher: a counted gate in front of librdkafka's producer.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use auditlog_core::AuditEvent;
use auditlog_seal::{ChainKey, SigningKey};
use auditlog_sink::{AuditSink, SinkError};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, PurgeConfig, ThreadedProducer};
use tokio::sync::Semaphore;

use crate::config::{KafkaConfig, MessageKey, Overflow};
use crate::error::{Error, Result};

mod accounting;
mod chain;
mod delivery;

use accounting::{Metrics, RateLimit, Shared};
use chain::{spawn_checkpoint_timer, start_chain, Chain};
use delivery::{ticket, Context};

pub use accounting::{metric, PublisherStats, ShutdownReport};

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
