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
}
