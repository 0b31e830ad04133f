//! What a message carries to its delivery report (a `usize`, which
//! librdkafka stores without allocating): bit 0 says the message holds a
//! place in the gate, given back on its report (checkpoints sent without a
//! spool take none: they must not be refused); the rest is its spool
//! sequence number, 0 when it is not in the spool.

pub(super) const GATED: usize = 1;
pub(super) const UNGATED: usize = 0;

pub(super) fn is_gated(ticket: usize) -> bool {
    ticket & GATED == GATED
}

/// A gated message that is record `seq` of the spool.
pub(super) fn spooled(seq: u64) -> usize {
    // Spool sequence numbers stay far below 2^63.
    ((seq as usize) << 1) | GATED
}

pub(super) fn seq(ticket: usize) -> u64 {
    (ticket >> 1) as u64
}
