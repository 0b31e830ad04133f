//! [`KafkaPublisher`], the handle services hold: publishing (an
//! [`AuditSink`]), checks, counters and shutdown.

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use async_trait::async_trait;
use auditlog_core::AuditEvent;
use auditlog_seal::ChainKey;
use auditlog_sink::{AuditSink, SinkError};

use super::pipeline::{after, Pipeline, Placed};
use super::stats::{PublisherStats, ShutdownReport};
use crate::config::KafkaConfig;
use crate::error::Result;
use crate::lock::lock;
use crate::spool::{Recovery, SpoolStats};

/// Seals audit events and publishes them to a Kafka topic without ever
/// waiting for the broker. Cheap to clone; clones share one producer.
///
/// Every event handed to [`publish`](AuditSink::publish) ends up counted
/// exactly once: dropped (queue full, refused at once), or accepted and then
/// delivered or failed. See [`stats`](Self::stats).
#[derive(Clone)]
pub struct KafkaPublisher {
    pub(super) pipeline: Arc<Pipeline>,
}

impl fmt::Debug for KafkaPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaPublisher")
            .field("brokers", &self.pipeline.brokers)
            .field("topic", &self.topic())
            .field("overflow", &self.pipeline.overflow)
            .field("key", &self.pipeline.sealing.key)
            .field("signing_key", &self.pipeline.sealing.signing_key)
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
        Ok(KafkaPublisher {
            pipeline: Pipeline::start(config)?,
        })
    }

    /// Asks the brokers for the topic's metadata: a clear error when no broker
    /// answers within `timeout` or the topic does not exist. Blocks the
    /// calling thread (use `spawn_blocking` on a runtime).
    pub fn check(&self, timeout: Duration) -> Result<()> {
        self.pipeline.sender.check(&self.pipeline.brokers, timeout)
    }

    /// The counters now.
    pub fn stats(&self) -> PublisherStats {
        self.pipeline.ledger.stats()
    }

    /// The bootstrap brokers it was created with.
    pub fn brokers(&self) -> &str {
        &self.pipeline.brokers
    }

    /// The topic it publishes to.
    pub fn topic(&self) -> &str {
        &self.pipeline.sender.topic
    }

    /// The id of the chain events are sealed into, if any.
    pub fn chain_id(&self) -> Option<String> {
        let order = lock(&self.pipeline.order);
        Some(order.chain.as_ref()?.sealer.chain_id().to_owned())
    }

    /// What opening the spool found (undelivered records replayed, torn or
    /// corrupt ones skipped), if there is a spool.
    pub fn recovery(&self) -> Option<&Recovery> {
        Some(&self.pipeline.ledger.spool.as_ref()?.recovery)
    }

    /// The spool's counters now, if there is a spool.
    pub fn spool_stats(&self) -> Option<SpoolStats> {
        Some(self.pipeline.ledger.spool.as_ref()?.spool.stats())
    }

    /// Seals the chain's following events (and checkpoints) with `key`, a
    /// new key id; verifiers keep the old key (retired) in their keyring to
    /// verify what it sealed. `false` when the publisher has no chain.
    pub fn rotate_chain_key(&self, key: ChainKey) -> bool {
        let mut order = lock(&self.pipeline.order);
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
    pub fn try_publish(&self, mut event: AuditEvent) -> std::result::Result<(), SinkError> {
        let pipeline = &*self.pipeline;
        if pipeline.closed.load(Relaxed) {
            return Err(SinkError::Closed);
        }
        let admitted = now_or_never(pipeline.admit(&mut event, false, false))
            .expect("admitting without waiting for room completes at once");
        if let Some(seq) = self.to_sync(admitted?, false)? {
            let link = pipeline.ledger.spool.as_ref().expect("spooled, so a spool");
            link.spool.wait_synced(seq).map_err(spool_error)?;
        }
        Ok(())
    }

    /// Stops accepting events, sends a last checkpoint of the chain (if
    /// any), waits up to `timeout` for the ones in flight, purges what is
    /// left and says what happened. Blocks the calling thread (from async
    /// code: `spawn_blocking`). Later calls report again without waiting.
    pub fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        self.pipeline.shutdown(timeout)
    }

    /// Publishes `event` as [`publish`](AuditSink::publish) does, but
    /// borrows it instead of taking it: it is left sealed (its hash and
    /// signature set; in a chain, its link), and the caller may read the
    /// next event into its buffers (`AuditEvent::parse_into`) rather than
    /// allocate a new one. Not boxed, unlike the trait's method: for loops
    /// that publish many events, such as `auditlog publish`.
    pub async fn publish_borrowed(
        &self,
        event: &mut AuditEvent,
    ) -> std::result::Result<(), SinkError> {
        if self.pipeline.closed.load(Relaxed) {
            return Err(SinkError::Closed);
        }
        self.publish_placed(event, false).await
    }

    /// Admits and places `event`, then waits for its fsync when it must be
    /// durable (or the spool syncs every record).
    async fn publish_placed(
        &self,
        event: &mut AuditEvent,
        durable: bool,
    ) -> std::result::Result<(), SinkError> {
        let placed = self.pipeline.admit(event, durable, true).await?;
        if let Some(seq) = self.to_sync(placed, durable)? {
            let link = self
                .pipeline
                .ledger
                .spool
                .as_ref()
                .expect("spooled, so a spool");
            link.spool.synced(seq).await.map_err(spool_error)?;
        }
        Ok(())
    }

    /// The spool record to wait for before returning, if any.
    fn to_sync(
        &self,
        placed: Placed,
        durable: bool,
    ) -> std::result::Result<Option<u64>, SinkError> {
        let fsync_always = self
            .pipeline
            .ledger
            .spool
            .as_ref()
            .is_some_and(|link| link.fsync_always);
        match placed {
            Placed::Spooled(seq) if durable || fsync_always => Ok(Some(seq)),
            Placed::Spooled(_) => Ok(None),
            Placed::Sent if durable => Err(SinkError::NotDurable),
            Placed::Sent => Ok(None),
        }
    }
}

#[async_trait]
impl AuditSink for KafkaPublisher {
    /// Seals the event and queues it. Never waits for the broker; with
    /// [`Overflow::Wait`](crate::Overflow::Wait) it waits at most that
    /// long for room. With a spool, the event is written to it first
    /// (write-ahead) and a full queue spills into it; with `Fsync::Always`
    /// this returns once it is fsynced.
    async fn publish(&self, mut event: AuditEvent) -> std::result::Result<(), SinkError> {
        KafkaPublisher::publish_borrowed(self, &mut event).await
    }

    /// [`KafkaPublisher::publish_borrowed`]: the event is left sealed.
    async fn publish_borrowed(&self, event: &mut AuditEvent) -> std::result::Result<(), SinkError> {
        KafkaPublisher::publish_borrowed(self, event).await
    }

    /// Waits until nothing is in flight (with a spool: nothing waits in it
    /// either) or `timeout` passes.
    async fn flush(&self, timeout: Duration) -> std::result::Result<(), SinkError> {
        let sender = self.pipeline.sender.clone();
        let deadline = after(timeout);
        let undelivered = tokio::task::spawn_blocking(move || sender.flush_until(deadline))
            .await
            .map_err(SinkError::io)?;
        match undelivered {
            0 => Ok(()),
            undelivered => Err(SinkError::Timeout { undelivered }),
        }
    }

    /// With a spool: returns once the event is written to it and fsynced
    /// (whatever the fsync policy). Without one: refuses with
    /// [`SinkError::NotDurable`].
    async fn publish_durable(&self, mut event: AuditEvent) -> std::result::Result<(), SinkError> {
        if self.pipeline.ledger.spool.is_none() {
            return Err(SinkError::NotDurable);
        }
        if self.pipeline.closed.load(Relaxed) {
            return Err(SinkError::Closed);
        }
        self.publish_placed(&mut event, true).await
    }
}

fn spool_error(error: std::io::Error) -> SinkError {
    SinkError::io_in("audit spool", error)
}

/// Polls `future` once: its output if it completed.
fn now_or_never<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}
