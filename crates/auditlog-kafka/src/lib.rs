//! Sealed audit events to Kafka: a bounded publisher that never makes the
//! caller wait for the broker and accounts for every event.
//!
//! Depend on this crate in the service (or binary) that publishes to Kafka;
//! it links librdkafka. Libraries and middleware should depend on
//! `auditlog-sink` instead and take any [`AuditSink`]: [`KafkaPublisher`] is
//! one.
//!
//! - [`KafkaPublisher::publish`](AuditSink::publish) seals the event (hash,
//!   and signature with a key) and queues it for librdkafka; at most
//!   [`KafkaConfig::capacity`] events wait for delivery, and the
//!   [`Overflow`] policy decides what happens beyond that.
//! - Every event is counted once: `dropped`, or `accepted` then `delivered`
//!   or `failed` ([`KafkaPublisher::stats`], and the [`metric`] names).
//! - [`KafkaPublisher::shutdown`] waits for delivery up to a deadline and
//!   says what did not make it; a publisher dropped without it flushes for
//!   a bounded time and logs, at error level, what it lost.
//!
//! Settings, environment variables and failure modes: `docs/operations.md`.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use auditlog_core::AuditEvent;
//! use auditlog_kafka::{KafkaConfig, KafkaPublisher, Overflow};
//! use auditlog_sink::AuditSink;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Or `auditlog_kafka::setup()`, from AUDITLOG_KAFKA_BROKERS and friends.
//! let publisher = KafkaPublisher::new(
//!     KafkaConfig::new("localhost:9092")
//!         .topic("audit-logs")
//!         .capacity(10_000)
//!         .overflow(Overflow::DropNewest)
//!         .set("client.id", "orders"),
//! )?;
//! publisher.check(Duration::from_secs(5))?; // brokers reachable, topic exists
//!
//! let event = AuditEvent::builder().tenant_id("acme").action_name("order.create").build();
//! publisher.publish(event).await?; // queued; delivery happens in the background
//!
//! let report = publisher.shutdown(Duration::from_secs(10));
//! assert!(report.is_complete(), "{report}");
//! # Ok(()) }
//! ```
//!
//! In tests and demos, [`mock::EmbeddedKafka`] runs a Kafka cluster in-process.
//!
//! # Chains
//!
//! With [`KafkaConfig::chain`], the publisher seals its events into one
//! chain (numbered, each linked to the one before under the chain key, see
//! `auditlog_seal::chain`) in the order it sends them, and sends a signed
//! checkpoint every N events, every T seconds and at shutdown. Sealing and
//! sending happen under one lock and every message is keyed by the chain id,
//! so the chain sits in one partition in the order it was sealed;
//! `auditlog verify --chain` then finds a deleted, reordered or cut-off
//! event.
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `ssl` | no | TLS (`security.protocol=ssl`, `sasl_ssl`) and SASL/SCRAM and OAUTHBEARER; links the system OpenSSL (`libssl-dev`) |
//! | `sasl` | no | SASL/GSSAPI (Kerberos) through Cyrus SASL (`libsasl2-dev`); implies `ssl` |
//!
//! SASL/PLAIN over plaintext needs no feature.

mod config;
mod envelope;
mod error;
mod line_producer;
mod lock;
pub mod mock;
mod publisher;
mod reader;
mod reports;
mod spool;
mod topic;

pub use auditlog_sink::{AuditSink, SinkError};
pub use config::{
    env, ChainConfig, KafkaConfig, KeyFn, MessageKey, Overflow, DEFAULT_CAPACITY,
    DEFAULT_CAPACITY_BYTES, DEFAULT_TOPIC,
};
pub use error::{ClientError, Error, ParseSettingError, Result};
pub use line_producer::{LineError, LineProducer, SealedLine};
pub use publisher::{metric, KafkaPublisher, PublisherStats, ShutdownReport};
pub use reader::{ReadEvent, StartAt, TopicReader, Unverified};
pub use spool::{CorruptRecord, Fsync, MovedAside, Recovery, SpoolConfig, SpoolFull, SpoolStats};

/// One call from the environment to a running publisher, like the Python
/// library's `setup_auditlog`: reads [`env`](mod@env) (`AUDITLOG_KAFKA_BROKERS`,
/// `AUDITLOG_KAFKA_TOPIC`, `AUDITLOG_SIGNING_KEY`, ...) and creates the
/// publisher. Does not contact the brokers; call
/// [`KafkaPublisher::check`] to fail fast.
pub fn setup() -> Result<KafkaPublisher> {
    KafkaPublisher::new(KafkaConfig::from_env()?)
}
