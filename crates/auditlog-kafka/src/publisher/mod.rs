//! The publisher: a counted gate in front of librdkafka's producer.

use std::borrow::Cow;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use auditlog_core::AuditEvent;
use auditlog_seal::{ChainKey, SigningKey};
use auditlog_sink::{AuditSink, SinkError};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, PurgeConfig, ThreadedProducer};
use tokio::sync::Semaphore;

use crate::config::{KafkaConfig, MessageKey, Overflow};
use crate::error::{Error, Result};
use crate::lock::lock;

mod accounting;
mod budget;
mod chain;
mod delivery;
mod dropped;
mod parked;
mod spooling;
mod ticket;

use accounting::{Metrics, RateLimit, Shared};
use budget::ByteGate;
use chain::{spawn_checkpoint_timer, start_chain, Chain};
use delivery::Context;
use dropped::Dropped;
use spooling::{Refused, SpoolLink};

use crate::spool::{Recovery, SpoolFull, SpoolStats};

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
    /// Whether events go through `order` (with a chain or a spool).
    ordered: bool,
    order: Mutex<Order>,
    /// How long a message refused for lack of room waits for it.
    message_timeout: Duration,
    /// For threads started later (the one sending parked messages).
    myself: Weak<Inner>,
}

/// Why an event without a spool was not handed to librdkafka.
enum Gated {
    /// Its bytes do not fit now; it needs this many.
    NoBytes(Box<AuditEvent>, u64),
    Failed(SinkError),
}

/// What must happen in publishing order, under one lock: sealing into the
/// chain, and choosing between the spool and librdkafka.
#[derive(Debug, Default)]
struct Order {
    chain: Option<Chain>,
}

/// Where an accepted event went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placed {
    /// To librdkafka only.
    Sent,
    /// Into the spool as this record (and maybe to librdkafka too).
    Spooled(u64),
}

/// The envelope fields a message carries as headers.
#[derive(Debug, Clone, Copy, Default)]
struct Headers<'a> {
    id: Option<&'a str>,
    specversion: Option<&'a str>,
    time: Option<&'a str>,
    tenant: Option<&'a str>,
}

impl<'a> Headers<'a> {
    fn of(event: &'a AuditEvent) -> Self {
        Headers {
            id: event.id.as_deref(),
            specversion: event.specversion.as_deref(),
            time: event.timestamp.as_deref(),
            tenant: event.tenantid.as_deref(),
        }
    }
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
        let spool = match &config.spool {
            Some(spool) => Some(Arc::new(SpoolLink::open(spool).map_err(|e| {
                Error::config("spool", format!("{}: {e}", spool.dir().display()))
            })?)),
            None => None,
        };
        let recovered = spool.as_ref().map_or(0, |link| link.recovery.records);
        let shared = Arc::new(Shared {
            topic: config.topic.clone(),
            metrics: Metrics::new(&config.topic),
            accepted: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            dropped_by: Default::default(),
            queue_full: AtomicU64::new(0),
            checkpoints: AtomicU64::new(0),
            recovered: AtomicU64::new(recovered),
            spooled: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            unspooled: AtomicU64::new(0),
            gate: Semaphore::new(config.capacity.min(Semaphore::MAX_PERMITS)),
            bytes: ByteGate::new(config.capacity_bytes as u64),
            parked: Default::default(),
            failure_warnings: Mutex::new(RateLimit {
                last: None,
                suppressed: 0,
            }),
            client_warnings: Mutex::new(RateLimit {
                last: None,
                suppressed: 0,
            }),
            last_client_error: Mutex::new(None),
            spool: spool.clone(),
        });
        shared.metrics.recovered.increment(recovered);
        let producer: ThreadedProducer<Context> = config
            .client_config()
            .create_with_context(Context(shared.clone()))
            .map_err(|e| Error::Client(e.to_string()))?;
        let chain = config.chain.as_ref().map(start_chain).transpose()?;
        let tick = config.chain.as_ref().and_then(|c| c.every);
        let message_timeout = config.message_timeout();
        let inner = Arc::new_cyclic(|myself| Inner {
            producer,
            shared,
            topic: config.topic,
            brokers: config.brokers,
            key: config.key,
            signing_key: config.signing_key,
            overflow: config.overflow,
            drop_flush_timeout: config.drop_flush_timeout,
            closed: AtomicBool::new(false),
            ordered: chain.is_some() || spool.is_some(),
            order: Mutex::new(Order { chain }),
            message_timeout,
            myself: myself.clone(),
        });
        if let Some(link) = spool {
            spooling::spawn_feeder(Arc::downgrade(&inner), link.clone())
                .map_err(|e| Error::Client(format!("cannot start the spool feeder: {e}")))?;
            link.wake();
        }
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
                reason: match lock(&inner.shared.last_client_error).clone() {
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
        let order = lock(&self.inner.order);
        Some(order.chain.as_ref()?.sealer.chain_id().to_owned())
    }

    /// What opening the spool found (undelivered records replayed, torn or
    /// corrupt ones skipped), if there is a spool.
    pub fn recovery(&self) -> Option<&Recovery> {
        Some(&self.inner.shared.spool.as_ref()?.recovery)
    }

    /// The spool's counters now, if there is a spool.
    pub fn spool_stats(&self) -> Option<SpoolStats> {
        Some(self.inner.shared.spool.as_ref()?.spool.stats())
    }

    /// Seals the chain's following events (and checkpoints) with `key`, a
    /// new key id; verifiers keep the old key (retired) in their keyring to
    /// verify what it sealed. `false` when the publisher has no chain.
    pub fn rotate_chain_key(&self, key: ChainKey) -> bool {
        let mut order = lock(&self.inner.order);
        let Some(chain) = order.chain.as_mut() else {
            return false;
        };
        chain.sealer.rotate(key);
        true
    }

    /// Accepts `event` if there is room now, never waiting for room,
    /// whatever the overflow policy: for code without an async runtime.
    /// With a spool and `Fsync::Always` it blocks until the event is
    /// fsynced.
    pub fn try_publish(&self, event: AuditEvent) -> std::result::Result<(), SinkError> {
        let inner = &*self.inner;
        if inner.closed.load(Relaxed) {
            return Err(SinkError::Closed);
        }
        if let Some(link) = &inner.shared.spool {
            let placed = match inner.produce_spooled(link, event, false) {
                Ok(placed) => placed,
                Err(Refused::Failed(error)) => return Err(error),
                Err(Refused::NoRoom(event)) => inner.spool_full(link, *event, false)?,
            };
            if let (Placed::Spooled(seq), true) = (placed, link.fsync_always) {
                link.spool.wait_synced(seq).map_err(spool_error)?;
            }
            return Ok(());
        }
        match inner.shared.gate.try_acquire() {
            Ok(permit) => permit.forget(),
            Err(_) => {
                inner.shared.record_drop(Dropped::QueueFull);
                return Err(SinkError::QueueFull);
            }
        }
        match inner.produce(event) {
            Ok(()) => Ok(()),
            Err(Gated::Failed(error)) => Err(error),
            Err(Gated::NoBytes(..)) => {
                inner.shared.record_drop(Dropped::QueueBytes);
                Err(SinkError::QueueFull)
            }
        }
    }

    /// Stops accepting events, sends a last checkpoint of the chain (if
    /// any), waits up to `timeout` for the ones in flight, purges what is
    /// left and says what happened. Blocks the calling thread (from async
    /// code: `spawn_blocking`). Later calls report again without waiting.
    pub fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        self.inner.shutdown(timeout)
    }
}

/// `timeout` from now; `Duration::MAX` means as good as never.
fn after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

fn spool_error(error: std::io::Error) -> SinkError {
    SinkError::io_in("audit spool", error)
}

thread_local! {
    /// The published JSON, reused: librdkafka copies the payload.
    static PAYLOAD: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(2048));
}

impl Inner {
    /// Seals and hands the event to librdkafka; a place in the gate is
    /// held, and given back if the event does not go. No spool.
    fn produce(&self, mut event: AuditEvent) -> std::result::Result<(), Gated> {
        let shared = &*self.shared;
        let refuse = |refusal: Gated| {
            shared.gate.add_permits(1);
            Err(refusal)
        };
        PAYLOAD.with_borrow_mut(|json| {
            json.clear();
            if !self.ordered {
                auditlog_seal::seal_into(&mut event, self.signing_key.as_ref(), json);
                let Some(key) = self.key_of(&event) else {
                    return refuse(Gated::Failed(self.key_panicked()));
                };
                // Sealed alone: its exact size decides.
                let bytes = json.len() as u64;
                if !shared.bytes.try_take(bytes) {
                    drop(key);
                    return refuse(Gated::NoBytes(Box::new(event), bytes));
                }
                shared.count_accepted();
                let sent = self.send(Headers::of(&event), json, key.as_deref(), ticket::GATED);
                return sent.map_err(Gated::Failed);
            }
            // Sealed and sent under one lock: the chain's order is the
            // partition's order.
            let mut order = lock(&self.order);
            // Refused before it takes a number in the chain.
            if !shared.bytes.has_room() {
                return refuse(Gated::NoBytes(Box::new(event), 1));
            }
            let key = match self.seal(&mut order, &mut event, json) {
                Ok(key) => key,
                Err(error) => return refuse(Gated::Failed(error)),
            };
            shared.bytes.take(json.len() as u64);
            shared.count_accepted();
            let sent = self.send(Headers::of(&event), json, key.as_deref(), ticket::GATED);
            drop(key);
            self.checkpoint_if_due(&mut order);
            sent.map_err(Gated::Failed)
        })
    }

    /// Seals and places the event through the spool, in order.
    fn produce_spooled(
        &self,
        link: &SpoolLink,
        mut event: AuditEvent,
        durable: bool,
    ) -> std::result::Result<Placed, Refused> {
        PAYLOAD.with_borrow_mut(|json| {
            json.clear();
            let mut order = lock(&self.order);
            // Before sealing: a chained event must not take a number it
            // cannot keep.
            if !link.has_room() {
                return Err(Refused::NoRoom(Box::new(event)));
            }
            let key = self
                .seal(&mut order, &mut event, json)
                .map_err(Refused::Failed)?;
            let placed = self
                .place(link, Headers::of(&event), json, key.as_deref(), durable)
                .map_err(Refused::Failed);
            drop(key);
            self.checkpoint_if_due(&mut order);
            placed
        })
    }

    /// Seals `event` into `json` (into the chain, if there is one) and says
    /// its message key; refused (counted) if the key function panicked.
    fn seal<'o>(
        &self,
        order: &'o mut Order,
        event: &mut AuditEvent,
        json: &mut Vec<u8>,
    ) -> std::result::Result<Option<Cow<'o, [u8]>>, SinkError> {
        match order.chain.as_mut() {
            Some(chain) => {
                chain.sealer.seal_into(event, json);
                Ok(Some(Cow::Borrowed(chain.sealer.chain_id().as_bytes())))
            }
            None => {
                auditlog_seal::seal_into(event, self.signing_key.as_ref(), json);
                match self.key_of(event) {
                    Some(key) => Ok(key.map(|key| Cow::Owned(key.into_owned()))),
                    None => Err(self.key_panicked()),
                }
            }
        }
    }

    /// The message key, or `None` if the key function panicked: a bug in
    /// it costs that event (counted), not the lock it runs under.
    fn key_of<'e>(&self, event: &'e AuditEvent) -> Option<Option<Cow<'e, [u8]>>> {
        catch_unwind(AssertUnwindSafe(|| self.key.key_of(event))).ok()
    }

    /// Counts an event refused because its key function panicked.
    fn key_panicked(&self) -> SinkError {
        self.shared.record_drop(Dropped::KeyPanicked);
        SinkError::io("the message key function panicked: audit event dropped")
    }

    fn checkpoint_if_due(&self, order: &mut Order) {
        if let Some(chain) = order.chain.as_mut() {
            if chain.sealer.checkpoint_due() {
                self.checkpoint(chain);
            }
        }
    }

    /// Seals a checkpoint of the chain as it is and sends it: in order with
    /// the spool's backlog when there is a spool, else at once without
    /// taking a place in the gate. Call with the order lock held.
    fn checkpoint(&self, chain: &mut Chain) {
        let checkpoint = chain.sealer.checkpoint();
        chain.checkpointed = chain.sealer.length();
        let json = checkpoint.published_json();
        self.shared.checkpoints.fetch_add(1, Relaxed);
        let key = Some(chain.sealer.chain_id().as_bytes());
        let headers = Headers::of(&checkpoint);
        // A failure is counted and logged where it happens.
        match &self.shared.spool {
            Some(link) => {
                let _ = self.place(link, headers, json.as_bytes(), key, false);
            }
            None => {
                self.shared.count_accepted();
                let _ = self.send(headers, json.as_bytes(), key, ticket::UNGATED);
            }
        }
    }

    /// Hands one message to librdkafka. The event was counted accepted by
    /// the caller; a refusal is counted failed here.
    fn send(
        &self,
        envelope: Headers<'_>,
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
            ("ce_id", envelope.id),
            ("ce_specversion", envelope.specversion),
            ("ce_time", envelope.time),
            ("ce_tenantid", envelope.tenant),
        ] {
            if let Some(value) = value {
                headers = headers.insert(Header {
                    key: name,
                    value: Some(value),
                });
            }
        }
        let mut record = BaseRecord::with_opaque_to(&self.topic, ticket)
            .payload(json)
            .headers(headers);
        if let Some(key) = key {
            record = record.key(key);
        }
        // librdkafka refusing for lack of room is not an error: the message
        // waits for delivery progress (parked, or back in the spool).
        let sent = match &shared.spool {
            None => self.send_or_park(record),
            Some(link) => self.send_or_spool(link, record),
        };
        match sent {
            Ok(()) => {
                shared.in_flight_gauge();
                Ok(())
            }
            Err(error) => {
                shared.record_failure(&error, envelope.id);
                if ticket::is_gated(ticket) {
                    shared.gate.add_permits(1);
                    shared.bytes.give_back(json.len() as u64);
                }
                shared.in_flight_gauge();
                Err(SinkError::io(error))
            }
        }
    }

    fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        let deadline = after(timeout);
        let already_closed = self.closed.swap(true, Relaxed);
        if !already_closed {
            let mut order = lock(&self.order);
            if let Some(chain) = order.chain.as_mut() {
                if chain.sealer.length() > chain.checkpointed {
                    self.checkpoint(chain);
                }
            }
        }
        // Until everything is delivered (the spool's backlog included) or
        // the deadline.
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            self.send_parked();
            let _ = self.producer.flush(left.min(Duration::from_millis(50)));
            if self.shared.stats().in_flight == 0 || left.is_zero() {
                break;
            }
        }
        let Some(link) = &self.shared.spool else {
            let at_deadline = self.shared.stats();
            if at_deadline.in_flight > 0 {
                for message in self.shared.parked.take_all() {
                    self.fail_parked(
                        message,
                        &"still waiting for room in librdkafka's queue at shutdown",
                    );
                }
                self.purge();
            }
            return ShutdownReport {
                accepted: at_deadline.accepted,
                delivered: at_deadline.delivered,
                failed: at_deadline.failed,
                abandoned: at_deadline.in_flight,
                dropped: at_deadline.dropped,
                recovered: 0,
                kept: 0,
            };
        };
        link.feeding.store(false, Relaxed);
        link.wake();
        let feeder = lock(&link.feeder).take();
        if let Some(feeder) = feeder {
            // Not when the feeder itself drops the last publisher.
            if feeder.thread().id() != std::thread::current().id() {
                let _ = feeder.join();
            }
        }
        if self.shared.stats().in_flight > 0 {
            // Purged messages go back to the spool (see the delivery
            // callback): kept, not lost.
            self.purge();
            let _order = lock(&self.order);
            self.drain_respill(link);
        }
        let stats = self.shared.stats();
        let kept = link.spool.stats().outstanding;
        ShutdownReport {
            accepted: stats.accepted,
            delivered: stats.delivered,
            failed: stats.failed,
            abandoned: stats.in_flight.saturating_sub(kept),
            dropped: stats.dropped,
            recovered: stats.recovered,
            kept,
        }
    }

    /// Purges what librdkafka still holds and serves the reports.
    fn purge(&self) {
        self.producer
            .purge(PurgeConfig::default().queue().inflight());
        let _ = self.producer.flush(Duration::from_millis(500));
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
        if report.kept > 0 {
            tracing::warn!(
                target: "auditlog_kafka",
                topic = %self.topic,
                kept = report.kept,
                "audit publisher dropped without shutdown: {} audit events kept in the spool, sent when it is next opened",
                report.kept
            );
        }
    }
}

impl KafkaPublisher {
    /// Through the spool: waits for room as its policy says, then for the
    /// fsync when the event must be durable before returning.
    async fn publish_spooled(
        &self,
        link: &SpoolLink,
        mut event: AuditEvent,
        durable: bool,
    ) -> std::result::Result<(), SinkError> {
        let inner = &*self.inner;
        let wait_until = match link.when_full {
            SpoolFull::Wait(limit) => Some(after(limit)),
            _ => None,
        };
        let placed = loop {
            match inner.produce_spooled(link, event, durable) {
                Ok(placed) => break placed,
                Err(Refused::Failed(error)) => return Err(error),
                Err(Refused::NoRoom(back)) if wait_until.is_some_and(|t| Instant::now() < t) => {
                    event = *back;
                    // Room comes back when a whole segment is delivered.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(Refused::NoRoom(back)) => break inner.spool_full(link, *back, durable)?,
            }
        };
        match placed {
            Placed::Spooled(seq) if durable || link.fsync_always => {
                link.spool.synced(seq).await.map_err(spool_error)
            }
            Placed::Spooled(_) => Ok(()),
            Placed::Sent if durable => Err(SinkError::NotDurable),
            Placed::Sent => Ok(()),
        }
    }
}

#[async_trait]
impl AuditSink for KafkaPublisher {
    /// Seals the event and queues it. Never waits for the broker; with
    /// [`Overflow::Wait`] it waits at most that long for room. With a spool,
    /// the event is written to it first (write-ahead) and a full queue
    /// spills into it; with `Fsync::Always` this returns once it is fsynced.
    async fn publish(&self, event: AuditEvent) -> std::result::Result<(), SinkError> {
        let inner = &*self.inner;
        if inner.closed.load(Relaxed) {
            return Err(SinkError::Closed);
        }
        if let Some(link) = inner.shared.spool.clone() {
            return self.publish_spooled(&link, event, false).await;
        }
        let shared = &*inner.shared;
        let deadline = match inner.overflow {
            Overflow::Wait(limit) => Some(tokio::time::Instant::from_std(after(limit))),
            _ => None,
        };
        let mut event = event;
        loop {
            let permit = match (shared.gate.try_acquire(), deadline) {
                (Ok(permit), _) => Some(permit),
                (Err(_), Some(deadline)) => {
                    tokio::time::timeout_at(deadline, shared.gate.acquire())
                        .await
                        .ok()
                        .and_then(|acquired| acquired.ok())
                }
                (Err(_), None) => None,
            };
            match permit {
                Some(permit) => permit.forget(),
                None => {
                    shared.record_drop(Dropped::QueueFull);
                    return Err(SinkError::QueueFull);
                }
            }
            match inner.produce(event) {
                Ok(()) => return Ok(()),
                Err(Gated::Failed(error)) => return Err(error),
                Err(Gated::NoBytes(back, bytes)) => {
                    let room = match deadline {
                        // Woken when deliveries give bytes back.
                        Some(deadline) => shared.bytes.wait_for(bytes, deadline).await,
                        None => false,
                    };
                    if !room {
                        shared.record_drop(Dropped::QueueBytes);
                        return Err(SinkError::QueueFull);
                    }
                    event = *back;
                }
            }
        }
    }

    /// Waits until nothing is in flight (with a spool: nothing waits in it
    /// either) or `timeout` passes.
    async fn flush(&self, timeout: Duration) -> std::result::Result<(), SinkError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let deadline = after(timeout);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let _ = this
                    .inner
                    .producer
                    .flush(left.min(Duration::from_millis(50)));
                let in_flight = this.stats().in_flight;
                if in_flight == 0 {
                    return Ok(());
                }
                if left.is_zero() {
                    return Err(SinkError::Timeout {
                        undelivered: in_flight,
                    });
                }
            }
        })
        .await
        .map_err(SinkError::io)?
    }

    /// With a spool: returns once the event is written to it and fsynced
    /// (whatever the fsync policy). Without one: refuses with
    /// [`SinkError::NotDurable`].
    async fn publish_durable(&self, event: AuditEvent) -> std::result::Result<(), SinkError> {
        let inner = &*self.inner;
        let Some(link) = inner.shared.spool.clone() else {
            return Err(SinkError::NotDurable);
        };
        if inner.closed.load(Relaxed) {
            return Err(SinkError::Closed);
        }
        self.publish_spooled(&link, event, true).await
    }
}

#[cfg(test)]
mod tests;
