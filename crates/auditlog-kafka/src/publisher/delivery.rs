//! librdkafka's callbacks: delivery reports and client errors.

use std::sync::Arc;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::ClientContext;

use super::ledger::Ledger;
use super::ticket;
use crate::lock::lock;
use crate::spool::SpoolRecord;

/// librdkafka's callbacks, on the thread polling it (`reports`): each
/// delivery report settles one message in the ledger.
#[derive(Debug, Clone)]
pub(super) struct Callbacks(pub(super) Arc<Ledger>);

impl ClientContext for Callbacks {
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

impl ProducerContext for Callbacks {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, ticket: usize) {
        let ledger = &*self.0;
        let seq = ticket::seq(ticket);
        match (result, &ledger.spool) {
            (Ok(_), spool) => {
                ledger.counters.delivered.increment();
                if let (Some(link), 1..) = (spool, seq) {
                    link.spool.release(seq);
                }
            }
            (Err((error, message)), Some(link)) if !is_permanent(error) => {
                let key = message.key().map(<[u8]>::to_vec);
                let payload = message.payload().unwrap_or_default().to_vec();
                ledger.counters.count_retry(error);
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
                ledger.counters.count_failed(error, id);
                if let (Some(link), 1..) = (spool, seq) {
                    link.spool.release(seq);
                }
            }
        }
        let (Ok(message) | Err((_, message))) = result;
        ledger
            .admission
            .release(ticket, message.payload_len() as u64);
        // Room in librdkafka's queue: what waits for it may go.
        ledger.parked.progress();
        if let Some(link) = &ledger.spool {
            link.progress();
        }
        ledger.in_flight_gauge();
    }
}
