//! Names of the metrics the publisher records through the `metrics` facade,
//! each labelled `topic`. The handles are registered when the publisher is
//! created: install the recorder (exporter) first.

/// Counter: events accepted into the queue.
pub const ACCEPTED: &str = "auditlog_kafka_events_accepted_total";
/// Counter: events the broker acknowledged (`acks=all`).
pub const DELIVERED: &str = "auditlog_kafka_events_delivered_total";
/// Counter: accepted events that will never be delivered (timed out,
/// rejected by the broker, purged at shutdown).
pub const FAILED: &str = "auditlog_kafka_events_failed_total";
/// Counter: events refused, labelled `reason`: `queue_full` (the
/// capacity in events), `queue_bytes` (the capacity in bytes),
/// `spool_full`, `spool_error`, `key_panicked` (the message key
/// function panicked).
pub const DROPPED: &str = "auditlog_kafka_events_dropped_total";
/// Gauge: bytes of sealed JSON accepted and not yet delivered or failed
/// (checkpoints sent without a spool aside).
pub const IN_FLIGHT_BYTES: &str = "auditlog_kafka_bytes_in_flight";
/// Counter: messages librdkafka refused for lack of queue space, which
/// then waited for delivery progress (parked, or back in the spool).
pub const QUEUE_FULL: &str = "auditlog_kafka_librdkafka_queue_full_total";
/// Gauge: events accepted and not yet delivered or failed (with a
/// spool: also those waiting in it).
pub const IN_FLIGHT: &str = "auditlog_kafka_events_in_flight";
/// Counter: events written to the spool (write-ahead, or spilled when
/// the queue was full or a delivery failed).
pub const SPOOLED: &str = "auditlog_kafka_events_spooled_total";
/// Counter: events found undelivered in the spool at start, to be sent.
pub const RECOVERED: &str = "auditlog_kafka_events_recovered_total";
/// Counter: deliveries that failed and are tried again from the spool.
pub const RETRIED: &str = "auditlog_kafka_events_retried_total";
/// Counter: events sent without the spool because it was full or
/// failing (delivered if all goes well, but lost if the process dies).
pub const UNSPOOLED: &str = "auditlog_kafka_events_unspooled_total";
