//! Publishing to several sinks at once, each failing on its own.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auditlog_core::AuditEvent;

use crate::{AuditSink, SinkError};

/// Hands every event to each of its sinks (e.g. Kafka and a local file).
///
/// A sink that refuses an event does not stop the others: `publish` succeeds
/// when at least one sink accepted the event and fails only when all did,
/// and each sink's refusals are counted ([`FanOut::failures`]).
#[derive(Clone)]
pub struct FanOut {
    sinks: Arc<[Arc<dyn AuditSink>]>,
    failures: Arc<[AtomicU64]>,
}

impl fmt::Debug for FanOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FanOut")
            .field("sinks", &self.sinks.len())
            .field("failures", &self.failures())
            .finish()
    }
}

impl FanOut {
    /// Publishes to every sink of `sinks`, in that order.
    pub fn new(sinks: Vec<Arc<dyn AuditSink>>) -> Self {
        let failures = sinks.iter().map(|_| AtomicU64::new(0)).collect();
        FanOut {
            sinks: sinks.into(),
            failures,
        }
    }

    /// Events each sink refused, in the order the sinks were given.
    pub fn failures(&self) -> Vec<u64> {
        self.failures
            .iter()
            .map(|f| f.load(Ordering::Relaxed))
            .collect()
    }
}

#[async_trait]
impl AuditSink for FanOut {
    async fn publish(&self, event: AuditEvent) -> Result<(), SinkError> {
        let mut last_error = None;
        let mut accepted = false;
        for (i, sink) in self.sinks.iter().enumerate() {
            match sink.publish(event.clone()).await {
                Ok(()) => accepted = true,
                Err(e) => {
                    self.failures[i].fetch_add(1, Ordering::Relaxed);
                    last_error = Some(e);
                }
            }
        }
        match (accepted, last_error) {
            (true, _) | (false, None) => Ok(()),
            (false, Some(e)) => Err(e),
        }
    }

    /// Durable through the sinks able to be, see [`FanOut`].
    async fn publish_durable(&self, event: AuditEvent) -> Result<(), SinkError> {
        let mut first_error = None;
        let mut not_durable = Vec::new();
        for (i, sink) in self.sinks.iter().enumerate() {
            match sink.publish_durable(event.clone()).await {
                Ok(()) => {}
                Err(SinkError::NotDurable) => not_durable.push(i),
                Err(e) => {
                    self.failures[i].fetch_add(1, Ordering::Relaxed);
                    first_error.get_or_insert(e);
                }
            }
        }
        if not_durable.len() == self.sinks.len() {
            return Err(SinkError::NotDurable);
        }
        for i in not_durable {
            if self.sinks[i].publish(event.clone()).await.is_err() {
                self.failures[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Flushes every sink within the same timeout; reports the first failure
    /// after all have been tried.
    async fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        let mut first_error = None;
        for sink in self.sinks.iter() {
            if let Err(e) = sink.flush(timeout).await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Recording {
        events: Mutex<Vec<AuditEvent>>,
        refuse: bool,
    }

    #[async_trait]
    impl AuditSink for Recording {
        async fn publish(&self, event: AuditEvent) -> Result<(), SinkError> {
            if self.refuse {
                return Err(SinkError::QueueFull);
            }
            self.events.lock().unwrap().push(event);
            Ok(())
        }

        async fn flush(&self, _timeout: Duration) -> Result<(), SinkError> {
            if self.refuse {
                Err(SinkError::Closed)
            } else {
                Ok(())
            }
        }
    }

    #[tokio::test]
    async fn a_failing_sink_does_not_stop_the_others() {
        let good = Arc::new(Recording::default());
        let bad = Arc::new(Recording {
            refuse: true,
            ..Recording::default()
        });
        let fan = FanOut::new(vec![bad.clone(), good.clone()]);
        for _ in 0..3 {
            fan.publish(AuditEvent::builder().build()).await.unwrap();
        }
        assert_eq!(good.events.lock().unwrap().len(), 3);
        assert_eq!(fan.failures(), [3, 0]);
        assert_eq!(
            fan.flush(Duration::from_secs(1)).await,
            Err(SinkError::Closed)
        );
    }

    #[tokio::test]
    async fn refused_by_every_sink_is_an_error() {
        let bad = Arc::new(Recording {
            refuse: true,
            ..Recording::default()
        });
        let fan = FanOut::new(vec![bad.clone(), bad]);
        assert_eq!(
            fan.publish(AuditEvent::builder().build()).await,
            Err(SinkError::QueueFull)
        );
        assert_eq!(fan.failures(), [1, 1]);
    }

    /// Durable-capable, but its spool is full.
    struct FullSpool;

    #[async_trait]
    impl AuditSink for FullSpool {
        async fn publish(&self, _event: AuditEvent) -> Result<(), SinkError> {
            Err(SinkError::Full { store: "spool" })
        }

        async fn flush(&self, _timeout: Duration) -> Result<(), SinkError> {
            Ok(())
        }

        async fn publish_durable(&self, _event: AuditEvent) -> Result<(), SinkError> {
            Err(SinkError::Full { store: "spool" })
        }
    }

    fn tenant(tenant: &str) -> AuditEvent {
        AuditEvent::builder().tenant_id(tenant).build()
    }

    /// The tenants of the lines in `path`, each verified.
    fn tenants_in(path: &std::path::Path) -> Vec<String> {
        let text = std::fs::read_to_string(path).unwrap();
        text.lines()
            .map(|line| {
                let event = auditlog_seal::verify_json(line, None).unwrap().event;
                event.tenantid.unwrap()
            })
            .collect()
    }

    #[tokio::test]
    async fn durable_through_the_file_and_plainly_to_the_memory_sink() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let memory = crate::MemorySink::default();
        let fan = FanOut::new(vec![
            Arc::new(memory.clone()),
            Arc::new(crate::JsonLinesSink::append_to(&path, None).unwrap()),
        ]);
        fan.publish_durable(tenant("t-1")).await.unwrap();
        // In the file before any flush: written through and synced.
        assert_eq!(tenants_in(&path), ["t-1"]);
        assert_eq!(memory.len(), 1);
        assert_eq!(fan.failures(), [0, 0]);
    }

    #[tokio::test]
    async fn without_a_durable_sink_it_refuses_and_no_sink_keeps_the_event() {
        let memory = crate::MemorySink::default();
        let fan = FanOut::new(vec![
            Arc::new(memory.clone()),
            Arc::new(crate::JsonLinesSink::new(Vec::new(), None)),
        ]);
        assert_eq!(
            fan.publish_durable(tenant("t-1")).await,
            Err(SinkError::NotDurable)
        );
        assert!(memory.is_empty());
        assert_eq!(fan.failures(), [0, 0]);
    }

    #[tokio::test]
    async fn a_failing_durable_sink_fails_it_and_the_others_still_get_the_event() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let memory = crate::MemorySink::default();
        let fan = FanOut::new(vec![
            Arc::new(FullSpool),
            Arc::new(crate::JsonLinesSink::append_to(&path, None).unwrap()),
            Arc::new(memory.clone()),
        ]);
        assert_eq!(
            fan.publish_durable(tenant("t-1")).await,
            Err(SinkError::Full { store: "spool" })
        );
        assert_eq!(tenants_in(&path), ["t-1"]);
        assert_eq!(memory.len(), 1);
        assert_eq!(fan.failures(), [1, 0, 0]);
    }
}
