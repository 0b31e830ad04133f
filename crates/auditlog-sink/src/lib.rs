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

mod error;
mod fanout;
mod json_lines;
mod memory;
mod output;
pub mod owner_only;
mod rotating;

use std::time::Duration;

use async_trait::async_trait;
use auditlog_core::AuditEvent;

pub use error::SinkError;
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

    /// Accepts one event as [`publish`](Self::publish) does, but borrows
    /// it: a caller that publishes many events (the axum layer's background
    /// task) fills the next one into the same event and its strings'
    /// buffers instead of allocating and moving a new one each time.
    ///
    /// On return the event is left as the sink leaves it, sealed or emptied;
    /// the caller must not publish it again as it is. The default takes the
    /// event (leaving an empty one) and calls `publish`: a sink that seals in
    /// place or copies what it keeps overrides it.
    async fn publish_borrowed(&self, event: &mut AuditEvent) -> Result<(), SinkError> {
        self.publish(std::mem::take(event)).await
    }

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

#[async_trait]
impl<S: AuditSink + ?Sized> AuditSink for std::sync::Arc<S> {
    async fn publish(&self, event: AuditEvent) -> Result<(), SinkError> {
        (**self).publish(event).await
    }

    async fn publish_borrowed(&self, event: &mut AuditEvent) -> Result<(), SinkError> {
        (**self).publish_borrowed(event).await
    }

    async fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        (**self).flush(timeout).await
    }

    async fn publish_durable(&self, event: AuditEvent) -> Result<(), SinkError> {
        (**self).publish_durable(event).await
    }
}
