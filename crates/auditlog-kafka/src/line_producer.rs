//! Publishing lines sealed elsewhere (recorded in a database by
//! `auditlog-sql`), byte for byte, and saying which the brokers acknowledged.
//!
//! [`KafkaPublisher`](crate::KafkaPublisher) seals what it sends; a relay
//! must not: the line in the table is the one its chain and signature cover.
//! The message conventions are the publisher's: the line as payload, the
//! headers `content-type` and `ce_id`, `ce_specversion`, `ce_time`,
//! `ce_tenantid` read from the line itself (so they cannot disagree with it),
//! and a key the caller gives (a chain's id keeps the chain in one partition).

use std::time::Duration;

use auditlog_core::AuditEvent;
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;
use tokio::sync::oneshot;

use crate::envelope::Envelope;
use crate::error::{ClientError, Result};
use crate::reports::ReportedProducer;
use crate::topic::check_topic;

/// A producer of pre-sealed lines for one topic, with the publisher's
/// delivery guarantees: `enable.idempotence=true`, `acks=all`.
pub struct LineProducer {
    producer: ReportedProducer<LineReports>,
    brokers: String,
    topic: String,
}

/// One line to publish and its message key.
#[derive(Debug, Clone, Copy)]
pub struct SealedLine<'a> {
    /// The published line, sent as it is.
    pub line: &'a str,
    /// The message key (e.g. the chain id), or none.
    pub key: Option<&'a [u8]>,
}

/// Why one line was not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LineError {
    /// The line is not an event (it was sealed by nothing we know).
    NotAnEvent(String),
    /// librdkafka refused it or the brokers did not acknowledge it.
    Kafka(ClientError),
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineError::NotAnEvent(why) => write!(f, "the line is not an event: {why}"),
            LineError::Kafka(error) => write!(f, "not acknowledged: {error}"),
        }
    }
}

impl std::error::Error for LineError {}

impl std::fmt::Debug for LineProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineProducer")
            .field("brokers", &self.brokers)
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl LineProducer {
    /// A producer to `topic` on `brokers`; `properties` (librdkafka's) are
    /// applied after the defaults. Does not contact the brokers: see
    /// [`check`](Self::check).
    pub fn new(brokers: &str, topic: &str, properties: &[(String, String)]) -> Result<Self> {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", "lz4")
            .set("linger.ms", "5")
            // A batch that cannot be delivered fails in bounded time and is
            // retried by the caller, rather than holding its rows for long.
            .set("message.timeout.ms", "30000");
        for (key, value) in properties {
            config.set(key, value);
        }
        let producer = ReportedProducer::new(&config, LineReports)?;
        Ok(LineProducer {
            producer,
            brokers: brokers.to_owned(),
            topic: topic.to_owned(),
        })
    }

    /// The topic written to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Asks the brokers for the topic: an error when none answers within
    /// `timeout` or the topic does not exist.
    pub fn check(&self, timeout: Duration) -> Result<()> {
        check_topic(
            self.producer.client(),
            &self.topic,
            timeout,
            &self.brokers,
            || None,
        )
    }

    /// Sends every line, in order, and waits for each to be acknowledged or
    /// to fail: one result per line, in the same order. Lines of one key
    /// keep their order on the partition (idempotent producer).
    pub async fn send_all(
        &self,
        lines: &[SealedLine<'_>],
    ) -> Vec<std::result::Result<(), LineError>> {
        let mut pending = Vec::with_capacity(lines.len());
        for sealed in lines {
            pending.push(self.enqueue(sealed).await);
        }
        let mut results = Vec::with_capacity(lines.len());
        for waiting in pending {
            results.push(match waiting {
                Ok(acked) => match acked.await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(error)) => Err(LineError::Kafka(ClientError::new(error))),
                    // The report never came: not acknowledged.
                    Err(_dropped) => Err(LineError::Kafka(ClientError::new(KafkaError::Canceled))),
                },
                Err(error) => Err(error),
            });
        }
        results
    }

    /// Hands one line to librdkafka, waiting for room in its queue.
    async fn enqueue(
        &self,
        sealed: &SealedLine<'_>,
    ) -> std::result::Result<oneshot::Receiver<Acked>, LineError> {
        let event = AuditEvent::parse(sealed.line)
            .map_err(|e| LineError::NotAnEvent(e.to_string()))?
            .event;
        let (report, acked) = oneshot::channel();
        let mut report = Box::new(report);
        loop {
            let mut record: BaseRecord<'_, [u8], [u8], _> =
                BaseRecord::with_opaque_to(&self.topic, report)
                    .payload(sealed.line.as_bytes())
                    .headers(Envelope::of(&event).headers());
            if let Some(key) = sealed.key {
                record = record.key(key);
            }
            match self.producer.send(record) {
                Ok(()) => return Ok(acked),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    report = back.delivery_opaque;
                    // Deliveries make room; the batch is bounded anyway.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((error, _)) => return Err(LineError::Kafka(ClientError::new(error))),
            }
        }
    }

    /// Waits up to `timeout` for what is in flight (before dropping it).
    pub fn flush(&self, timeout: Duration) {
        let _ = self.producer.flush(timeout);
    }
}

/// A line's acknowledgement by the brokers, or why there is none.
type Acked = std::result::Result<(), KafkaError>;

/// Delivery reports, each handed to the line waiting for it (on the
/// thread of [`ReportedProducer`], which polls without spinning: rdkafka's
/// `FutureProducer` spun up to a millisecond in every 100 ms while idle).
struct LineReports;

impl ClientContext for LineReports {}

impl ProducerContext for LineReports {
    type DeliveryOpaque = Box<oneshot::Sender<Acked>>;

    fn delivery(&self, result: &DeliveryResult<'_>, report: Self::DeliveryOpaque) {
        let acked = match result {
            Ok(_) => Ok(()),
            Err((error, _)) => Err(error.clone()),
        };
        // The caller may have stopped waiting (its future dropped): nothing to tell.
        let _ = report.send(acked);
    }
}
