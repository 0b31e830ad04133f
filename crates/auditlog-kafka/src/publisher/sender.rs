//! Handing messages to librdkafka. A refusal for lack of room in its queue
//! is not an error: the message waits for delivery progress, parked (see
//! `parked`) or back in the spool.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use auditlog_sink::SinkError;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, Producer, PurgeConfig};

use super::delivery::Callbacks;
use super::ledger::Ledger;
use super::parked::Message;
use super::spool_link::SpoolLink;
use super::ticket;
use crate::envelope::Envelope;
use crate::error::Result;
use crate::lock::lock;
use crate::reports::{wait_of, ReportedProducer};
use crate::spool::SpoolRecord;
use crate::topic::check_topic;

/// librdkafka's producer for one topic, with the ledger its callbacks
/// settle.
pub(super) struct Sender {
    producer: ReportedProducer<Callbacks>,
    pub(super) topic: String,
    pub(super) ledger: Arc<Ledger>,
    /// How long a message refused for lack of room waits for it.
    message_timeout: Duration,
    /// For the parking thread, started on the first refusal.
    myself: Weak<Sender>,
}

/// A message as librdkafka takes it; the `usize` is its ticket.
type Record<'a> = BaseRecord<'a, [u8], [u8], usize>;

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl Sender {
    pub(super) fn new(
        client: &rdkafka::ClientConfig,
        topic: String,
        ledger: Arc<Ledger>,
        message_timeout: Duration,
    ) -> Result<Arc<Self>> {
        let producer = ReportedProducer::new(client, Callbacks(ledger.clone()))?;
        Ok(Arc::new_cyclic(|myself| Sender {
            producer,
            topic,
            ledger,
            message_timeout,
            myself: myself.clone(),
        }))
    }

    /// Asks the brokers for the topic's metadata: an error when none
    /// answers within `timeout` or the topic does not exist.
    pub(super) fn check(&self, brokers: &str, timeout: Duration) -> Result<()> {
        check_topic(
            self.producer.client(),
            &self.topic,
            timeout,
            brokers,
            || lock(&self.ledger.last_client_error).clone(),
        )
    }

    /// Hands one message to librdkafka. The event was counted accepted by
    /// the caller; a refusal is counted failed here.
    pub(super) fn send(
        &self,
        envelope: Envelope<'_>,
        json: &[u8],
        key: Option<&[u8]>,
        ticket: usize,
    ) -> std::result::Result<(), SinkError> {
        let ledger = &*self.ledger;
        let mut record = BaseRecord::with_opaque_to(&self.topic, ticket)
            .payload(json)
            .headers(envelope.headers());
        if let Some(key) = key {
            record = record.key(key);
        }
        let sent = match &ledger.spool {
            None => self.send_or_park(record),
            Some(link) => self.send_or_spool(link, record),
        };
        match sent {
            Ok(()) => {
                ledger.in_flight_gauge();
                Ok(())
            }
            Err(error) => {
                ledger.fail(ticket, json.len() as u64, &error, envelope.id);
                Err(SinkError::io(error))
            }
        }
    }

    /// Sends `record` now if nothing is parked and librdkafka takes it, else
    /// parks it behind the others. `Err` only for errors other than a full
    /// queue (the record is dropped then).
    fn send_or_park(&self, mut record: Record<'_>) -> std::result::Result<(), KafkaError> {
        let parked = &self.ledger.parked;
        if parked.is_empty() {
            match self.try_send(record)? {
                None => return Ok(()),
                Some(back) => record = back,
            }
        }
        let mut queue = parked.lock();
        // The parking thread may have emptied it meanwhile: try once more,
        // under the lock, so nothing overtakes what is parked.
        if queue.is_empty() {
            match self.try_send(record)? {
                None => return Ok(()),
                Some(back) => record = back,
            }
        }
        self.ledger.counters.count_queue_full();
        queue.push_back(Message {
            json: record.payload.map(<[u8]>::to_vec).unwrap_or_default(),
            key: record.key.map(<[u8]>::to_vec),
            headers: record.headers.take(),
            ticket: record.delivery_opaque,
            deadline: Instant::now() + self.message_timeout,
        });
        drop(queue);
        if !parked
            .started
            .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            self.start_parking_thread();
        }
        parked.wake();
        Ok(())
    }

    /// Sends `record`; hands it back if librdkafka's queue is full.
    fn try_send<'r>(
        &self,
        record: Record<'r>,
    ) -> std::result::Result<Option<Record<'r>>, KafkaError> {
        match self.producer.send(record) {
            Ok(()) => Ok(None),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                Ok(Some(back))
            }
            Err((error, _)) => Err(error),
        }
    }

    fn start_parking_thread(&self) {
        let weak = self.myself.clone();
        let spawned = std::thread::Builder::new()
            .name("auditlog-queue-full".into())
            .spawn(move || loop {
                let Some(sender) = weak.upgrade() else { return };
                sender.send_parked();
                let ledger = sender.ledger.clone();
                // Not holding the producer while waiting: it may be dropped.
                drop(sender);
                ledger.parked.wait_for_progress();
            });
        if let Err(error) = spawned {
            // Parked messages then go out at shutdown's flush, or fail there.
            self.ledger
                .parked
                .started
                .store(false, std::sync::atomic::Ordering::Relaxed);
            tracing::error!(target: "auditlog_kafka", "cannot start the thread that sends messages librdkafka refused for lack of room: {error}");
        }
    }

    /// Sends parked messages in order until librdkafka refuses again;
    /// fails those past their deadline.
    pub(super) fn send_parked(&self) {
        let mut queue = self.ledger.parked.lock();
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
            match self.try_send(record) {
                Ok(None) => {}
                Ok(Some(mut back)) => {
                    message.headers = back.headers.take();
                    drop(back);
                    queue.push_front(message);
                    break;
                }
                Err(error) => self.fail_parked(message, &error),
            }
        }
    }

    /// Counts a parked message failed and gives back what it held.
    pub(super) fn fail_parked(&self, message: Message, why: &dyn std::fmt::Display) {
        self.ledger
            .fail(message.ticket, message.json.len() as u64, why, None);
    }

    /// Sends `record` if librdkafka has room; else hands it back to the
    /// spool, whose feeder sends it on delivery progress.
    fn send_or_spool(
        &self,
        link: &SpoolLink,
        record: Record<'_>,
    ) -> std::result::Result<(), KafkaError> {
        let Some(back) = self.try_send(record)? else {
            return Ok(());
        };
        let ledger = &*self.ledger;
        ledger.counters.count_queue_full();
        let ticket = back.delivery_opaque;
        let payload = back.payload.map(<[u8]>::to_vec).unwrap_or_default();
        let key = back.key.map(<[u8]>::to_vec);
        ledger.admission.release(ticket, payload.len() as u64);
        match ticket::seq(ticket) {
            // Sent around the spool: into it (the feeder writes it).
            0 => link.respill(key, payload),
            seq => link.spool.retry(SpoolRecord { seq, key, payload }),
        }
        link.starve();
        Ok(())
    }

    /// Sends what is parked and waits for delivery reports until nothing
    /// is in flight or `deadline`; what is still in flight then.
    pub(super) fn flush_until(&self, deadline: Instant) -> u64 {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            self.send_parked();
            let _ = self.producer.flush(left.min(wait_of(50)));
            let in_flight = self.ledger.stats().in_flight;
            if in_flight == 0 || left.is_zero() {
                return in_flight;
            }
        }
    }

    /// Purges what librdkafka still holds and serves the reports.
    pub(super) fn purge(&self) {
        self.producer
            .purge(PurgeConfig::default().queue().inflight());
        let _ = self.producer.flush(wait_of(500));
    }
}
