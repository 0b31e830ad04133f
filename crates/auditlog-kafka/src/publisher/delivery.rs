//! librdkafka's callbacks: delivery reports and client errors.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::ClientContext;

use super::accounting::Shared;

/// librdkafka's callbacks: delivery reports and client errors.
#[derive(Debug, Clone)]
pub(super) struct Context(pub(super) Arc<Shared>);

impl ClientContext for Context {
    fn error(&self, error: KafkaError, reason: &str) {
        *self.0.last_client_error.lock().unwrap() = Some(reason.to_owned());
        if let Some(suppressed) = self.0.client_warnings.lock().unwrap().allow() {
            tracing::warn!(target: "auditlog_kafka", topic = %self.0.topic, suppressed, "Kafka client error: {error}: {reason}");
        }
    }
}

/// What a message carries to its delivery report (a `usize`, which
/// librdkafka stores without allocating): bit 0 says the message holds a
/// place in the gate, given back on its report (checkpoints take none:
/// they must not be refused).
pub(super) mod ticket {
    pub(crate) const GATED: usize = 1;
    pub(crate) const UNGATED: usize = 0;

    pub(crate) fn is_gated(ticket: usize) -> bool {
        ticket & GATED == GATED
    }
}

impl ProducerContext for Context {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, ticket: usize) {
        match result {
            Ok(_) => {
                self.0.delivered.fetch_add(1, Relaxed);
                self.0.metrics.delivered.increment(1);
            }
            Err((error, message)) => {
                use rdkafka::Message;
                let id = message
                    .headers()
                    .and_then(|h| {
                        use rdkafka::message::Headers;
                        h.iter().find(|h| h.key == "ce_id").and_then(|h| h.value)
                    })
                    .and_then(|v| std::str::from_utf8(v).ok());
                self.0.record_failure(error, id);
            }
        }
        if ticket::is_gated(ticket) {
            self.0.gate.add_permits(1);
        }
        self.0.in_flight_gauge();
    }
}
