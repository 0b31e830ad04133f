//! librdkafka's callbacks: delivery reports and client errors.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::ClientContext;

use super::accounting::Shared;
use super::ticket;
use crate::lock::lock;
use crate::spool::SpoolRecord;

#[derive(Debug, Clone)]
pub(super) struct Context(pub(super) Arc<Shared>);

impl ClientContext for Context {
    fn error(&self, error: KafkaError, reason: &str) {
        *lock(&self.0.last_client_error) = Some(reason.to_owned());
        if let Some(suppressed) = lock(&self.0.client_warnings).allow() {
            tracing::warn!(target: "auditlog_kafka", topic = %self.0.topic, suppressed, "Kafka client error: {error}: {reason}");
        }
    }
}

/// Errors that sending again cannot cure: the event is reported failed
/// even when a spool could keep it.
fn is_permanent(error: &KafkaError) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        error.rdkafka_error_code(),
        Some(
            MessageSizeTooLarge
                | InvalidMessageSize
                | InvalidMessage
                | InvalidRecord
                | TopicAuthorizationFailed
                | ClusterAuthorizationFailed
                | InvalidRequiredAcks
        )
    )
}

impl ProducerContext for Context {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, ticket: usize) {
        let shared = &*self.0;
        let seq = ticket::seq(ticket);
        match (result, &shared.spool) {
            (Ok(_), spool) => {
                shared.delivered.fetch_add(1, Relaxed);
                shared.metrics.delivered.increment(1);
                if let (Some(link), 1..) = (spool, seq) {
                    link.spool.release(seq);
                }
            }
            (Err((error, message)), Some(link)) if !is_permanent(error) => {
                let key = message.key().map(<[u8]>::to_vec);
                let payload = message.payload().unwrap_or_default().to_vec();
                shared.count_retry(error);
                if seq > 0 {
                    link.spool.retry(SpoolRecord { seq, key, payload });
                } else {
                    // Sent around the spool (spill mode): into it now.
                    link.respill(key, payload);
                }
                link.delivery_failed();
            }
            (Err((error, message)), spool) => {
                let id = message
                    .headers()
                    .and_then(|h| h.iter().find(|h| h.key == "ce_id").and_then(|h| h.value))
                    .and_then(|v| std::str::from_utf8(v).ok());
                shared.record_failure(error, id);
                if let (Some(link), 1..) = (spool, seq) {
                    link.spool.release(seq);
                }
            }
        }
        if ticket::is_gated(ticket) {
            shared.gate.add_permits(1);
            let (Ok(message) | Err((_, message))) = result;
            shared.bytes.give_back(message.payload_len() as u64);
        }
        // Room in librdkafka's queue: what waits for it may go.
        shared.parked.progress();
        if let Some(link) = &shared.spool {
            link.progress();
        }
        shared.in_flight_gauge();
    }
}
