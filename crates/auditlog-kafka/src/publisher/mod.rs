//! The publisher: a counted gate in front of librdkafka's producer.
//!
//! Dependencies run one way, from the handle down:
//!
//! - `kafka_publisher`: [`KafkaPublisher`], the handle, over `pipeline`;
//! - `pipeline`: an event's path (admission, sealing, spool or librdkafka)
//!   and shutdown, over `sender`, `feeder`, `sealing` and `chain`;
//! - `feeder`: sends what waits in the spool, over `sender`;
//! - `sender`: hands messages to librdkafka (parking them when its queue
//!   is full), over `ledger`, `delivery` and the crate's `reports` (the
//!   producer and the thread serving its delivery reports);
//! - `delivery`: librdkafka's callbacks, which settle the `ledger`;
//! - `ledger`: what every event is counted in and what it holds, over
//!   `counters`, `admission`, `parked` and `spool_link`;
//! - leaves: `counters`, `admission` (with `budget`), `parked`,
//!   `spool_link`, `stats`, `metric`, `rate_limit`, `dropped`, `ticket`.

mod admission;
mod budget;
mod chain;
mod counters;
mod delivery;
mod dropped;
mod feeder;
mod kafka_publisher;
mod ledger;
pub mod metric;
mod parked;
mod pipeline;
mod rate_limit;
mod sealing;
mod sender;
mod spool_link;
mod stats;
mod ticket;

#[cfg(test)]
mod tests;

pub use kafka_publisher::KafkaPublisher;
pub use stats::{PublisherStats, ShutdownReport};
