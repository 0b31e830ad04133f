//! How audit events are handed off: the [`AuditSink`] trait and the sinks that
//! need no broker (JSON lines to a file or stdout, in memory).
//!
//! Depend on this crate to publish events without linking librdkafka; the
//! Kafka publisher in `auditlog-kafka` and the middleware in `auditlog-axum`
//! both speak [`AuditSink`].
//!
//! - [`JsonLinesSink`]: sealed events as JSON lines to a file, stdout or any
//!   writer (what `auditlog verify` reads).
//! - [`MemorySink`]: sealed events kept in memory, for tests.
//! - [`FanOut`]: several sinks at once (Kafka and a local file).
//!
//! Files the sink opens by path are created `0600` and never through a
//! symbolic link ([`owner_only`]).
//!
//! For write-ahead auditing, [`AuditSink::publish_durable`] returns only
//! once the event is durable: [`JsonLinesSink`] over a file it opened
//! fdatasyncs it, [`FanOut`] is durable through its durable sinks, and
//! [`MemorySink`] refuses (memory is not durable).
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use auditlog_core::AuditEvent;
//! use auditlog_sink::{AuditSink, MemorySink};
//!
//! # tokio_test_block_on(async {
//! let sink = MemorySink::new(None);
//! sink.publish(AuditEvent::builder().tenant_id("acme").build()).await?;
//! sink.flush(Duration::from_secs(1)).await?;
//! let events = sink.take();
//! assert!(events[0].security.is_some()); // sealed on the way in
//! # Ok::<(), auditlog_sink::SinkError>(()) }).unwrap();
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | (none) | | the crate has no optional parts |

mod fanout;
mod json_lines;
mod memory;
mod output;
pub mod owner_only;
mod rotating;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use auditlog_core::AuditEvent;

pub use fanout::FanOut;
pub use json_lines::JsonLinesSink;
pub use memory::MemorySink;
pub use rotating::RotatingFile;

/// Where audit events go. Implementations seal each event (hash, optional
/// signature) before it leaves the process.
///
/// `publish` must not wait on a network round trip: it accepts the event (or
/// refuses it at once, or within the wait the user configured for a full
/// queue) and delivery happens in the background. Every accepted event is
/// later either delivered or reported as failed, never silently dropped.
#[async_trait]
pub trait AuditSink: Send + Sync + 'static {
    /// Accepts one event for delivery.
    async fn publish(&self, event: AuditEvent) -> Result<(), SinkError>;

    /// Waits until everything accepted so far is delivered or reported, or
    /// the timeout passes; says what is still outstanding.
    async fn flush(&self, timeout: Duration) -> Result<(), SinkError>;

    /// Accepts one event and returns only once it is durably recorded (on
    /// local disk and fsynced, or acknowledged by the broker): for
    /// write-ahead auditing, where nothing may happen unrecorded. Slower than
    /// [`publish`](Self::publish) by an fsync or a round trip.
    ///
    /// Sinks that cannot promise durability refuse with
    /// [`SinkError::NotDurable`] (the default), without accepting the event.
    async fn publish_durable(&self, event: AuditEvent) -> Result<(), SinkError> {
        drop(event);
        Err(SinkError::NotDurable)
    }
}

/// Why a sink refused or could not deliver an event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SinkError {
    /// The queue is full and the overflow policy refused the event (counted).
    QueueFull,
    /// The sink is shut down and accepts nothing more.
    Closed,
    /// `flush` ran out of time with this many events still undelivered.
    Timeout { undelivered: u64 },
    /// Writing or delivering failed; the message says why.
    Io(String),
    /// [`AuditSink::publish_durable`] on a sink that cannot make an event
    /// durable before returning; the event was not accepted.
    NotDurable,
    /// The durable spool is at its size bound and its policy refused the
    /// event (counted).
    SpoolFull,
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkError::QueueFull => {
                f.write_str("audit queue full: event refused by the overflow policy")
            }
            SinkError::Closed => f.write_str("audit sink is closed"),
            SinkError::Timeout { undelivered } => {
                write!(f, "timed out with {undelivered} audit events undelivered")
            }
            SinkError::Io(message) => write!(f, "audit sink failed: {message}"),
            SinkError::NotDurable => f.write_str(
                "audit sink cannot record events durably (write-ahead needs a spool or a file)",
            ),
            SinkError::SpoolFull => {
                f.write_str("audit spool full: event refused by the spool's policy")
            }
        }
    }
}

impl std::error::Error for SinkError {}

#[async_trait]
impl<S: AuditSink + ?Sized> AuditSink for std::sync::Arc<S> {
    async fn publish(&self, event: AuditEvent) -> Result<(), SinkError> {
        (**self).publish(event).await
    }

    async fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        (**self).flush(timeout).await
    }

    async fn publish_durable(&self, event: AuditEvent) -> Result<(), SinkError> {
        (**self).publish_durable(event).await
    }
}
