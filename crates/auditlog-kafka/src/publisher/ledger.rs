//! What the publisher shares with librdkafka's callback thread: the
//! counters, the gate, the parked messages and the spool. Every event is
//! accounted for here once, and what it held is given back here once.

use std::fmt;
use std::sync::{Arc, Mutex};

use super::admission::Admission;
use super::counters::Counters;
use super::parked::Parked;
use super::rate_limit::RateLimit;
use super::spool_link::SpoolLink;
use super::stats::PublisherStats;

/// Counters, gate, parked messages and spool of one publisher.
#[derive(Debug)]
pub(super) struct Ledger {
    pub(super) topic: String,
    pub(super) counters: Counters,
    pub(super) admission: Admission,
    /// Messages librdkafka refused for lack of room (no spool).
    pub(super) parked: Parked,
    /// The durable spool, when configured.
    pub(super) spool: Option<Arc<SpoolLink>>,
    /// librdkafka's last client error, to explain a failed `check`.
    pub(super) last_client_error: Mutex<Option<String>>,
    pub(super) client_warnings: Mutex<RateLimit>,
}

impl Ledger {
    pub(super) fn new(
        topic: &str,
        capacity: usize,
        capacity_bytes: u64,
        spool: Option<Arc<SpoolLink>>,
    ) -> Self {
        let counters = Counters::new(topic);
        if let Some(link) = &spool {
            counters.recovered.add(link.recovery.records);
        }
        Ledger {
            topic: topic.to_owned(),
            counters,
            admission: Admission::new(capacity, capacity_bytes),
            parked: Parked::default(),
            spool,
            last_client_error: Mutex::new(None),
            client_warnings: Mutex::new(RateLimit::default()),
        }
    }

    /// The counters now.
    pub(super) fn stats(&self) -> PublisherStats {
        self.counters.snapshot(self.admission.bytes.held())
    }

    /// Updates the in-flight gauges.
    pub(super) fn in_flight_gauge(&self) {
        self.counters.set_gauges(&self.stats());
    }

    /// A message of `bytes` sent with `ticket` that will never be
    /// delivered: counted failed, and what it held given back.
    pub(super) fn fail(
        &self,
        ticket: usize,
        bytes: u64,
        why: &dyn fmt::Display,
        event_id: Option<&str>,
    ) {
        self.counters.count_failed(why, event_id);
        self.admission.release(ticket, bytes);
        self.in_flight_gauge();
    }
}
