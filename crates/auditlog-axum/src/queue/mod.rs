//! Off the request path: finished exchanges wait in a bounded queue for a
//! background task that turns them into events and publishes them; what
//! goes wrong there is counted, never seen by a request.

mod counters;
mod event_queue;
mod size;
mod worker;

pub use counters::metric;
pub(crate) use event_queue::EventQueue;
pub use event_queue::{DEFAULT_QUEUE_BYTES, DEFAULT_QUEUE_CAPACITY};
pub(crate) use size::{map_bytes, EVENT_OVERHEAD};
