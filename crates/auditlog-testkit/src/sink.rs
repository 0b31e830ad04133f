//! An in-memory sink for tests that checks what it was handed the way an
//! auditor would: every event read back must verify.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use auditlog_core::AuditEvent;
use auditlog_seal::SigningKey;
use auditlog_sink::{AuditSink, SinkError};

use crate::wait::PATIENCE;

/// Seals each event as a real sink does and keeps its published JSON; reads
/// them back verified against their hash (and signature, with a key), so a
/// test sees what a consumer of the topic would see.
///
/// Clones share the events: keep one to look at what the others received.
/// Unlike `auditlog_sink::MemorySink`, which keeps events as values, this
/// keeps the published text, so a test also catches an event that seals to
/// JSON that does not verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyingSink {
    published: Arc<Mutex<Vec<String>>>,
    key: Option<SigningKey>,
}

impl VerifyingSink {
    /// Signs with `key`, or only hashes without one.
    pub fn new(key: Option<SigningKey>) -> Self {
        VerifyingSink {
            published: Arc::default(),
            key,
        }
    }

    /// The signing key tests share (`test-signing-key`).
    pub fn test_key() -> SigningKey {
        SigningKey::new("test-signing-key").expect("a non-empty key")
    }

    /// The key events are signed and verified with.
    pub fn key(&self) -> Option<&SigningKey> {
        self.key.as_ref()
    }

    /// Every event so far, in publish order, each verified.
    ///
    /// # Panics
    ///
    /// When an event does not verify, with the reason and its JSON.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.lock()
            .iter()
            .map(|json| {
                auditlog_seal::verify_json(json, self.key.as_ref())
                    .unwrap_or_else(|e| panic!("{e}: {json}"))
                    .event
            })
            .collect()
    }

    /// Every event so far as the JSON line it was published as.
    pub fn published(&self) -> Vec<String> {
        self.lock().clone()
    }

    /// How many events were published.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True before the first event.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits (up to [`PATIENCE`]) until `count` events arrived, then returns
    /// them verified; for events emitted after the response, such as when
    /// the server notices that a client went away.
    pub async fn wait_for(&self, count: usize) -> Vec<AuditEvent> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.len() < count && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.events()
    }

    // A test that panicked while publishing must not hide the events of the
    // others behind a poisoned lock.
    fn lock(&self) -> MutexGuard<'_, Vec<String>> {
        self.published
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl AuditSink for VerifyingSink {
    async fn publish(&self, mut event: AuditEvent) -> Result<(), SinkError> {
        let json = auditlog_seal::seal_to_json(&mut event, self.key.as_ref());
        self.lock().push(json);
        Ok(())
    }

    async fn flush(&self, _timeout: Duration) -> Result<(), SinkError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use auditlog_core::AuditEvent;
    use auditlog_sink::AuditSink;

    use super::VerifyingSink;

    #[tokio::test]
    async fn events_come_back_verified_and_clones_share_them() {
        let sink = VerifyingSink::new(Some(VerifyingSink::test_key()));
        let clone = sink.clone();
        clone
            .publish(AuditEvent::builder().tenant_id("t-1").build())
            .await
            .unwrap();
        assert_eq!(sink.len(), 1);
        assert!(sink.published()[0].contains("\"signature\""));
        assert_eq!(sink.events()[0].tenantid.as_deref(), Some("t-1"));
    }

    #[tokio::test]
    #[should_panic(expected = "signature")]
    async fn an_event_that_does_not_verify_fails_the_test() {
        let signed = VerifyingSink::new(Some(VerifyingSink::test_key()));
        signed.publish(AuditEvent::default()).await.unwrap();
        let other_key = auditlog_seal::SigningKey::new("another key").unwrap();
        let wrong = VerifyingSink {
            key: Some(other_key),
            ..signed
        };
        wrong.events();
    }
}
