//! What the publisher reports: its counters, and what shutdown achieved.

use std::fmt;

/// A snapshot of the publisher's counters. Always
/// `accepted + recovered == delivered + failed + in_flight`, and `dropped`
/// is the sum of the `dropped_*` counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublisherStats {
    /// Taken in by `publish`: each is delivered, failed, or in flight.
    pub accepted: u64,
    /// Acknowledged by the broker.
    pub delivered: u64,
    /// Accepted and will never be delivered (timed out, rejected by the
    /// broker, purged at shutdown).
    pub failed: u64,
    /// Refused: `publish` returned an error and the event was not sent.
    pub dropped: u64,
    /// Of `dropped`: the capacity in events was reached.
    pub dropped_queue_full: u64,
    /// Of `dropped`: the capacity in bytes was reached.
    pub dropped_queue_bytes: u64,
    /// Of `dropped`: the spool was full (after its policy's wait).
    pub dropped_spool_full: u64,
    /// Of `dropped`: writing to the spool failed.
    pub dropped_spool_error: u64,
    /// Of `dropped`: the [`MessageKey`](crate::MessageKey) function panicked.
    pub dropped_key_panicked: u64,
    /// Bytes of sealed JSON accepted and not yet delivered or failed.
    pub in_flight_bytes: u64,
    /// Messages librdkafka refused for lack of queue space; they waited
    /// for delivery progress (not dropped).
    pub queue_full_waits: u64,
    /// Accepted (or recovered) and not yet delivered or failed.
    pub in_flight: u64,
    /// Chain checkpoints sent (also counted in `accepted`).
    pub checkpoints: u64,
    /// Found undelivered in the spool at start (accepted by an earlier run).
    pub recovered: u64,
    /// Written to the spool.
    pub spooled: u64,
    /// Delivery attempts that failed and were queued again from the spool.
    pub retried: u64,
    /// Sent without the spool because it was full or failing.
    pub unspooled: u64,
}

/// What [`KafkaPublisher::shutdown`](crate::KafkaPublisher::shutdown) achieved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Taken in by `publish` while running.
    pub accepted: u64,
    /// Acknowledged by the broker before the deadline.
    pub delivered: u64,
    /// Failed before the deadline (their errors were logged).
    pub failed: u64,
    /// Still in flight at the deadline, then purged: not delivered.
    pub abandoned: u64,
    /// Refused by the overflow policy while running.
    pub dropped: u64,
    /// Found in the spool at start (accepted by an earlier run).
    pub recovered: u64,
    /// Not delivered by the deadline but kept in the spool: sent when a
    /// publisher next opens it. Not lost, not delivered either.
    pub kept: u64,
}

impl ShutdownReport {
    /// Accepted events that did not reach the broker.
    pub fn undelivered(&self) -> u64 {
        self.failed + self.abandoned
    }

    /// Everything accepted was delivered, nothing was dropped and nothing
    /// waits in the spool.
    pub fn is_complete(&self) -> bool {
        self.undelivered() == 0 && self.dropped == 0 && self.kept == 0
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} accepted", self.accepted)?;
        if self.recovered > 0 {
            write!(f, ", {} recovered from the spool", self.recovered)?;
        }
        write!(
            f,
            ", {} delivered, {} failed, {} abandoned at shutdown, {} dropped",
            self.delivered, self.failed, self.abandoned, self.dropped
        )?;
        if self.kept > 0 {
            write!(f, ", {} kept in the spool for the next start", self.kept)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_report_counts_what_did_not_arrive() {
        let report = ShutdownReport {
            accepted: 10,
            delivered: 7,
            failed: 2,
            abandoned: 1,
            dropped: 0,
            ..ShutdownReport::default()
        };
        assert_eq!(report.undelivered(), 3);
        assert!(!report.is_complete());
        let clean = ShutdownReport {
            accepted: 3,
            delivered: 3,
            ..ShutdownReport::default()
        };
        assert!(clean.is_complete());
        let kept = ShutdownReport { kept: 1, ..clean };
        assert!(!kept.is_complete(), "kept in the spool is not delivered");
        assert_eq!(kept.undelivered(), 0, "nor lost");
        let dropped = ShutdownReport {
            dropped: 1,
            ..clean
        };
        assert!(!dropped.is_complete());
    }
}
