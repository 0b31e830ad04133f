//! The publisher's side of the durable spool: what goes in, and the feeder
//! that sends what waits in it (recovered at start, spilled, retried).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use auditlog_core::AuditEvent;
use auditlog_sink::SinkError;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::BaseRecord;

use super::dropped::Dropped;
use super::ticket;
use super::{Headers, Inner, Placed};
use crate::lock::lock;
use crate::spool::{AppendError, Fsync, Recovery, Spool, SpoolConfig, SpoolFull, SpoolRecord};

/// Room kept free in the spool before an event is sealed: a chained event
/// must not take a number and then find no room.
const ROOM_RESERVE: u64 = 64 * 1024;
/// The feeder looks at the spool at least this often.
const FEED_POLL: Duration = Duration::from_millis(10);
/// After a failed delivery, retries wait this long: no hot loop while the
/// broker refuses.
const RETRY_BACKOFF: Duration = Duration::from_secs(1);
/// Records the feeder sends per pass.
const FEED_BATCH: usize = 512;

/// A message sent around the spool whose delivery failed.
type Respill = (Option<Vec<u8>>, Vec<u8>);

/// The spool and how the publisher uses it; shared with the delivery
/// callbacks and the feeder.
pub(crate) struct SpoolLink {
    pub(super) spool: Spool,
    pub(super) write_ahead: bool,
    pub(super) fsync_always: bool,
    pub(super) when_full: SpoolFull,
    max_bytes: u64,
    pub(super) recovery: Recovery,
    respill: Mutex<Vec<Respill>>,
    last_failure: Mutex<Option<Instant>>,
    woken: Mutex<bool>,
    wake: Condvar,
    /// Set when the feeder stopped for lack of room (in the gate or in
    /// librdkafka's queue): the next delivery report wakes it.
    starved: AtomicBool,
    /// Cleared when shutdown has given up: nothing more is sent.
    pub(super) feeding: AtomicBool,
    pub(super) feeder: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for SpoolLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpoolLink")
            .field("dir", &self.spool.config().dir())
            .field("write_ahead", &self.write_ahead)
            .field("stats", &self.spool.stats())
            .finish_non_exhaustive()
    }
}

impl SpoolLink {
    pub(super) fn open(config: &SpoolConfig) -> std::io::Result<Self> {
        let (spool, recovery) = Spool::open(config)?;
        Ok(SpoolLink {
            spool,
            write_ahead: config.is_write_ahead(),
            fsync_always: config.fsync_policy() == Fsync::Always,
            when_full: config.full_policy(),
            max_bytes: config.max_bytes_limit(),
            recovery,
            respill: Mutex::new(Vec::new()),
            last_failure: Mutex::new(None),
            woken: Mutex::new(false),
            wake: Condvar::new(),
            starved: AtomicBool::new(false),
            feeding: AtomicBool::new(true),
            feeder: Mutex::new(None),
        })
    }

    /// Whether an event (of any usual size) fits now.
    pub(super) fn has_room(&self) -> bool {
        self.spool.stats().bytes + ROOM_RESERVE <= self.max_bytes
    }

    pub(super) fn wake(&self) {
        *lock(&self.woken) = true;
        self.wake.notify_one();
    }

    fn wait(&self, timeout: Duration) {
        let woken = lock(&self.woken);
        let (mut woken, _) = self
            .wake
            .wait_timeout_while(woken, timeout, |woken| !*woken)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *woken = false;
    }

    /// The feeder stopped for lack of room; a delivery report wakes it.
    fn starve(&self) {
        self.starved.store(true, Relaxed);
    }

    /// A delivery report came: room for what waits, if the feeder waited.
    pub(super) fn progress(&self) {
        if self.starved.swap(false, Relaxed) {
            self.wake();
        }
    }

    pub(super) fn respill(&self, key: Option<Vec<u8>>, payload: Vec<u8>) {
        lock(&self.respill).push((key, payload));
    }

    pub(super) fn delivery_failed(&self) {
        *lock(&self.last_failure) = Some(Instant::now());
        self.wake();
    }

    fn backing_off(&self) -> bool {
        lock(&self.last_failure).is_some_and(|at| at.elapsed() < RETRY_BACKOFF)
    }
}

/// Sends what waits in the spool while the queue has room, until shutdown
/// stops it or the publisher is gone.
pub(super) fn spawn_feeder(inner: Weak<Inner>, link: Arc<SpoolLink>) -> std::io::Result<()> {
    let handle = std::thread::Builder::new()
        .name("auditlog-spool-feeder".into())
        .spawn({
            let link = link.clone();
            move || loop {
                link.wait(FEED_POLL);
                if !link.feeding.load(Relaxed) {
                    return;
                }
                let Some(inner) = inner.upgrade() else { return };
                inner.feed(&link);
            }
        })?;
    *lock(&link.feeder) = Some(handle);
    Ok(())
}

/// Why an event did not go in.
pub(super) enum Refused {
    /// The spool is full now: the caller may wait and offer it again.
    NoRoom(Box<AuditEvent>),
    Failed(SinkError),
}

impl Inner {
    /// Places an event sealed in `json` while the order lock is held: into
    /// the spool (write-ahead, durable, or behind a backlog) and, when the
    /// queue has room and nothing waits before it, to librdkafka at once.
    pub(super) fn place(
        &self,
        link: &SpoolLink,
        headers: Headers<'_>,
        json: &[u8],
        key: Option<&[u8]>,
        durable: bool,
    ) -> Result<Placed, SinkError> {
        let shared = &*self.shared;
        let bytes = json.len() as u64;
        let direct = !link.spool.has_unsent()
            && shared
                .gate
                .try_acquire()
                .map(tokio::sync::SemaphorePermit::forget)
                .is_ok()
            && (shared.bytes.try_take(bytes) || {
                shared.gate.add_permits(1);
                false
            });
        if direct && !link.write_ahead && !durable {
            shared.count_accepted();
            self.send(headers, json, key, ticket::GATED)?;
            return Ok(Placed::Sent);
        }
        match link.spool.append(key, json, direct) {
            Ok(seq) => {
                shared.count_accepted();
                shared.count_spooled();
                if !direct {
                    link.wake();
                } else if let Err(error) = self.send(headers, json, key, ticket::spooled(seq)) {
                    // Refused outright by librdkafka (counted by `send`):
                    // sending it again would not help.
                    link.spool.release(seq);
                    return Err(error);
                }
                Ok(Placed::Spooled(seq))
            }
            // Better sent without the spool than not at all.
            Err(error) if direct && !durable => {
                shared.count_accepted();
                shared.count_unspooled(&error);
                self.send(headers, json, key, ticket::GATED)?;
                Ok(Placed::Sent)
            }
            Err(error) => {
                if direct {
                    shared.gate.add_permits(1);
                    shared.bytes.give_back(bytes);
                }
                let (refusal, reason) = match error {
                    AppendError::Full => (SinkError::Full { store: "spool" }, Dropped::SpoolFull),
                    AppendError::Io(e) => (SinkError::io_in("audit spool", e), Dropped::SpoolError),
                };
                shared.record_drop(reason);
                Err(refusal)
            }
        }
    }

    /// The spool is full and the policy's wait (if any) is over.
    pub(super) fn spool_full(
        &self,
        link: &SpoolLink,
        event: AuditEvent,
        durable: bool,
    ) -> Result<Placed, SinkError> {
        if link.when_full == SpoolFull::DropNewest && !durable {
            // Sent from memory if the queue has room and nothing waits.
            if let Some(placed) = self.produce_around_spool(link, event)? {
                return Ok(placed);
            }
        }
        self.shared.record_drop(Dropped::SpoolFull);
        Err(SinkError::Full { store: "spool" })
    }

    /// Publishes `event` around the spool (not durable), if it can go now.
    fn produce_around_spool(
        &self,
        link: &SpoolLink,
        mut event: AuditEvent,
    ) -> Result<Option<Placed>, SinkError> {
        let shared = &*self.shared;
        let mut order = lock(&self.order);
        if link.spool.has_unsent() || !shared.bytes.has_room() {
            return Ok(None);
        }
        let Ok(permit) = shared.gate.try_acquire() else {
            return Ok(None);
        };
        permit.forget();
        let mut json = Vec::with_capacity(2048);
        let key = match self.seal(&mut order, &mut event, &mut json) {
            Ok(key) => key,
            Err(error) => {
                shared.gate.add_permits(1);
                return Err(error);
            }
        };
        shared.bytes.take(json.len() as u64);
        shared.count_accepted();
        shared.count_unspooled(&"the spool is full");
        let sent = self.send(Headers::of(&event), &json, key.as_deref(), ticket::GATED);
        Ok(sent.ok().map(|()| Placed::Sent))
    }

    /// Sends `record` if librdkafka has room; else hands it back to the
    /// spool, whose feeder sends it on delivery progress.
    pub(super) fn send_or_spool(
        &self,
        link: &SpoolLink,
        record: BaseRecord<'_, [u8], [u8], usize>,
    ) -> Result<(), KafkaError> {
        let back = match self.producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => back,
            Err((error, _)) => return Err(error),
        };
        let shared = &*self.shared;
        shared.count_queue_full();
        let ticket = back.delivery_opaque;
        let payload = back.payload.map(<[u8]>::to_vec).unwrap_or_default();
        let key = back.key.map(<[u8]>::to_vec);
        if ticket::is_gated(ticket) {
            shared.gate.add_permits(1);
            shared.bytes.give_back(payload.len() as u64);
        }
        match ticket::seq(ticket) {
            // Sent around the spool: into it (the feeder writes it).
            0 => link.respill(key, payload),
            seq => link.spool.retry(SpoolRecord { seq, key, payload }),
        }
        link.starve();
        Ok(())
    }

    /// One pass of the feeder: failed messages into the spool, then what
    /// waits in it to librdkafka while the queue has room.
    fn feed(&self, link: &SpoolLink) {
        if link.backing_off() {
            return;
        }
        let _order = lock(&self.order);
        // Set again below if librdkafka refuses during this pass.
        link.starved.store(false, Relaxed);
        self.drain_respill(link);
        let shared = &*self.shared;
        while link.feeding.load(Relaxed) && link.spool.has_unsent() {
            let room = shared.gate.available_permits().min(FEED_BATCH);
            if room == 0 || !shared.bytes.has_room() {
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
                let fits = shared.bytes.try_take(bytes)
                    || (shared.bytes.held() == 0 && {
                        shared.bytes.take(bytes);
                        true
                    });
                if !fits || link.starved.load(Relaxed) {
                    if fits {
                        shared.bytes.give_back(bytes);
                    }
                    // Back in order; sent on delivery progress.
                    link.spool.retry(record);
                    records.for_each(|record| link.spool.retry(record));
                    link.starve();
                    return;
                }
                // Permits only grow while the order lock is held.
                if let Ok(permit) = shared.gate.try_acquire() {
                    permit.forget();
                }
                let event = std::str::from_utf8(&record.payload)
                    .ok()
                    .and_then(|json| AuditEvent::from_json(json).ok());
                let headers = event.as_ref().map(Headers::of).unwrap_or_default();
                let ticket = ticket::spooled(record.seq);
                let sent = self.send(headers, &record.payload, record.key.as_deref(), ticket);
                if sent.is_err() {
                    link.spool.release(record.seq);
                }
            }
        }
    }

    /// Writes failed messages that were sent around the spool into it.
    /// Call with the order lock held.
    pub(super) fn drain_respill(&self, link: &SpoolLink) {
        let failed = std::mem::take(&mut *lock(&link.respill));
        for (key, payload) in failed {
            match link.spool.append(key.as_deref(), &payload, false) {
                Ok(_) => self.shared.count_spooled(),
                Err(error) => self.shared.record_failure(
                    &format!("not delivered, and the spool refused it: {error}"),
                    None,
                ),
            }
        }
    }
}
