//! Messages librdkafka refused for lack of queue space (`QueueFull`),
//! waiting for delivery progress on a thread of their own.
//!
//! The gate keeps librdkafka's queue (sized at twice the capacity) from
//! filling, unless its own limits (`queue.buffering.max.messages`,
//! `queue.buffering.max.kbytes`) are set lower. A refused message is
//! already accepted, and sealed into the chain if there is one, so it is
//! neither dropped nor spun on: it is parked here, in order, and later
//! messages queue behind it. The publisher returns at once; the parking
//! thread (started on the first refusal) sends them when a delivery report
//! says librdkafka made room — never holding the chain lock, never on a
//! runtime's worker. A message still parked after `message.timeout.ms`
//! fails, counted, as it would have in librdkafka's queue.
//!
//! With a spool the spool is that backlog: refused records go back to it
//! and its feeder sends them on delivery progress.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::BaseRecord;

use super::{ticket, Inner};
use crate::lock::lock;

/// After a refusal with no delivery report since, look again after this
/// long: librdkafka frees a message a moment after its report.
const RECHECK: Duration = Duration::from_millis(10);
/// How often an idle parking thread checks that its publisher still lives.
const IDLE: Duration = Duration::from_secs(1);

/// One refused message, owned.
#[derive(Debug)]
pub(super) struct Message {
    pub(super) json: Vec<u8>,
    pub(super) key: Option<Vec<u8>>,
    pub(super) headers: Option<OwnedHeaders>,
    pub(super) ticket: usize,
    /// When it fails if still here.
    pub(super) deadline: Instant,
}

/// The parked messages, in order.
#[derive(Debug, Default)]
pub(crate) struct Parked {
    queue: Mutex<VecDeque<Message>>,
    /// `queue`'s length, readable without the lock.
    len: AtomicUsize,
    /// Signalled by delivery reports while messages are parked.
    progress: Condvar,
    started: AtomicBool,
}

impl Parked {
    pub(super) fn is_empty(&self) -> bool {
        self.len.load(Relaxed) == 0
    }

    /// A delivery report came: librdkafka has (or soon has) room.
    pub(super) fn progress(&self) {
        if !self.is_empty() {
            self.progress.notify_one();
        }
    }

    /// Takes every parked message out (at shutdown's deadline).
    pub(super) fn take_all(&self) -> Vec<Message> {
        let mut queue = lock(&self.queue);
        self.len.store(0, Relaxed);
        queue.drain(..).collect()
    }
}

impl Inner {
    /// Sends `record` now if nothing is parked and librdkafka takes it, else
    /// parks it behind the others. `Err` only for errors other than a full
    /// queue (the record is dropped then).
    pub(super) fn send_or_park(
        &self,
        record: BaseRecord<'_, [u8], [u8], usize>,
    ) -> Result<(), KafkaError> {
        let parked = &self.shared.parked;
        let mut record = record;
        if parked.is_empty() {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                }
                Err((error, _)) => return Err(error),
            }
        }
        let mut queue = lock(&parked.queue);
        // The parking thread may have emptied it meanwhile: try once more,
        // under the lock, so nothing overtakes what is parked.
        if queue.is_empty() {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                }
                Err((error, _)) => return Err(error),
            }
        }
        self.shared.count_queue_full();
        queue.push_back(Message {
            json: record.payload.map(<[u8]>::to_vec).unwrap_or_default(),
            key: record.key.map(<[u8]>::to_vec),
            headers: record.headers.take(),
            ticket: record.delivery_opaque,
            deadline: Instant::now() + self.message_timeout,
        });
        parked.len.store(queue.len(), Relaxed);
        drop(queue);
        if !parked.started.swap(true, Relaxed) {
            self.start_parking_thread();
        }
        parked.progress.notify_one();
        Ok(())
    }

    fn start_parking_thread(&self) {
        let weak: Weak<Inner> = self.myself.clone();
        let shared = self.shared.clone();
        let spawned = std::thread::Builder::new()
            .name("auditlog-queue-full".into())
            .spawn(move || loop {
                let Some(inner) = weak.upgrade() else { return };
                inner.send_parked();
                // Not holding the publisher while waiting: it may be dropped.
                drop(inner);
                let parked = &shared.parked;
                let queue = lock(&parked.queue);
                // Decided under the lock: a message parked since is not
                // left waiting for the idle period.
                let wait = if queue.is_empty() { IDLE } else { RECHECK };
                let _ = parked
                    .progress
                    .wait_timeout(queue, wait)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            });
        if let Err(error) = spawned {
            // Parked messages then go out at shutdown's flush, or fail there.
            self.shared.parked.started.store(false, Relaxed);
            tracing::error!(target: "auditlog_kafka", "cannot start the thread that sends messages librdkafka refused for lack of room: {error}");
        }
    }

    /// Sends parked messages in order until librdkafka refuses again;
    /// fails those past their deadline.
    pub(super) fn send_parked(&self) {
        let parked = &self.shared.parked;
        let mut queue = lock(&parked.queue);
        let now = Instant::now();
        while let Some(mut message) = queue.pop_front() {
            if now >= message.deadline {
                self.fail_parked(
                    message,
                    &"librdkafka's queue stayed full for message.timeout.ms",
                );
                continue;
            }
            let mut record = BaseRecord::with_opaque_to(&self.topic, message.ticket)
                .payload(message.json.as_slice());
            record.headers = message.headers.take();
            if let Some(key) = &message.key {
                record = record.key(key.as_slice());
            }
            match self.producer.send(record) {
                Ok(()) => {}
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), mut back)) => {
                    message.headers = back.headers.take();
                    drop(back);
                    queue.push_front(message);
                    break;
                }
                Err((error, _)) => self.fail_parked(message, &error),
            }
        }
        parked.len.store(queue.len(), Relaxed);
    }

    /// Counts a parked message failed and gives back what it held.
    pub(super) fn fail_parked(&self, message: Message, why: &dyn std::fmt::Display) {
        let shared = &*self.shared;
        shared.record_failure(why, None);
        if ticket::is_gated(message.ticket) {
            shared.gate.add_permits(1);
            shared.bytes.give_back(message.json.len() as u64);
        }
        shared.in_flight_gauge();
    }
}
