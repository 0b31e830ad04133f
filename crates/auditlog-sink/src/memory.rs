//! Sealed events kept in memory: for tests and for looking at what a
//! service emitted.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use auditlog_core::AuditEvent;
use auditlog_seal::SigningKey;

use crate::{AuditSink, SinkError};

/// Keeps every event, sealed, in publish order. Clones share the events, so
/// keep one clone to look at what the others received.
///
/// Bounded: once `capacity` events are held, further ones are refused with
/// [`SinkError::QueueFull`] until [`take`](Self::take) empties it.
#[derive(Debug, Clone)]
pub struct MemorySink {
    events: Arc<Mutex<Vec<AuditEvent>>>,
    key: Option<SigningKey>,
    capacity: usize,
}

impl Default for MemorySink {
    fn default() -> Self {
        MemorySink::new(None)
    }
}

impl MemorySink {
    /// Holds up to 1,000,000 events.
    pub fn new(key: Option<SigningKey>) -> Self {
        Self::with_capacity(1_000_000, key)
    }

    /// Holds up to `capacity` events.
    pub fn with_capacity(capacity: usize, key: Option<SigningKey>) -> Self {
        MemorySink {
            events: Arc::default(),
            key,
            capacity,
        }
    }

    /// A copy of the events held, oldest first.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.lock().clone()
    }

    /// Removes and returns the events held.
    pub fn take(&self) -> Vec<AuditEvent> {
        std::mem::take(&mut *self.lock())
    }

    /// How many events it holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when it holds no event.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<AuditEvent>> {
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl AuditSink for MemorySink {
    async fn publish(&self, mut event: AuditEvent) -> Result<(), SinkError> {
        auditlog_seal::seal(&mut event, self.key.as_ref());
        let mut events = self.lock();
        if events.len() >= self.capacity {
            return Err(SinkError::QueueFull);
        }
        events.push(event);
        Ok(())
    }

    /// Seals the event in place and keeps a copy: the caller's event is
    /// left sealed, so a caller that refills it (the axum layer) is tested
    /// on that path by every test that reads a `MemorySink`.
    async fn publish_borrowed(&self, event: &mut AuditEvent) -> Result<(), SinkError> {
        auditlog_seal::seal(event, self.key.as_ref());
        let mut events = self.lock();
        if events.len() >= self.capacity {
            return Err(SinkError::QueueFull);
        }
        events.push(event.clone());
        Ok(())
    }

    async fn flush(&self, _timeout: Duration) -> Result<(), SinkError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_sealed_events_in_order_up_to_its_capacity() {
        let key = SigningKey::new("k").unwrap();
        let sink = MemorySink::with_capacity(2, Some(key.clone()));
        let view = sink.clone();
        for tenant in ["a", "b"] {
            sink.publish(AuditEvent::builder().tenant_id(tenant).build())
                .await
                .unwrap();
        }
        assert_eq!(
            sink.publish(AuditEvent::builder().build()).await,
            Err(SinkError::QueueFull)
        );
        let events = view.take();
        let tenants: Vec<_> = events.iter().map(|e| e.tenantid.as_deref()).collect();
        assert_eq!(tenants, [Some("a"), Some("b")]);
        for event in &events {
            auditlog_seal::verify(event, Some(&key)).unwrap();
        }
        assert!(view.is_empty());
        sink.publish(AuditEvent::builder().build()).await.unwrap();
        assert_eq!(view.len(), 1);
    }

    #[tokio::test]
    async fn memory_is_not_durable() {
        let sink = MemorySink::default();
        assert_eq!(
            sink.publish_durable(AuditEvent::builder().build()).await,
            Err(SinkError::NotDurable)
        );
        assert!(sink.is_empty(), "refused without keeping the event");
    }
}
