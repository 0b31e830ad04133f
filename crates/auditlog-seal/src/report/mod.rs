//! The verdict on a stream, reported the way CloudTrail's `validate-logs`
//! reports: valid, invalid (and which check), missing, reordered,
//! duplicated, truncated, unchained, unauthenticated. Written as text
//! ([`Display`](std::fmt::Display)) or as JSON ([`StreamReport::to_json`]).

mod failure;
mod json;
mod text;

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use crate::unmet::Unmet;

pub use failure::LineFailure;

/// The verdict on a stream, as [`StreamVerifier::finish`](crate::StreamVerifier::finish)
/// returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamReport {
    /// Lines fed.
    pub lines: u64,
    /// Lines that passed every check (duplicates included).
    pub valid: u64,
    /// What became of each chain, by chain id.
    pub chains: BTreeMap<String, ChainReport>,
    /// Lines that failed a check, in line order.
    pub invalid: Vec<InvalidLine>,
    /// Lines of sealed events that are in no chain: nothing says where they
    /// belong or whether others are missing.
    pub unchained: Vec<u64>,
    /// Lines with members that no hash or link covers.
    pub unauthenticated: Vec<Unauthenticated>,
    /// Requirements of a strict chain check the stream did not meet.
    pub unmet: Vec<Unmet>,
}

impl StreamReport {
    /// True when nothing is wrong. Duplicates alone keep a stream clean.
    pub fn is_clean(&self) -> bool {
        self.invalid.is_empty()
            && self.unchained.is_empty()
            && self.unauthenticated.is_empty()
            && self.unmet.is_empty()
            && self.chains.values().all(ChainReport::is_clean)
    }
}

/// What became of one chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChainReport {
    /// Distinct positions held by an authentic link.
    pub events: u64,
    /// The lowest position seen.
    pub first: Option<u64>,
    /// The highest position seen.
    pub last: Option<u64>,
    /// Read from the middle: a checkpoint vouches for the events before
    /// `first` (its head is the `prev` of `first`), or `first` is 1.
    pub anchored: bool,
    /// Positions below the highest that no authentic event holds.
    pub missing: Vec<RangeInclusive<u64>>,
    /// Positions past the last event that a checkpoint says existed: the
    /// tail was cut off.
    pub truncated: Option<RangeInclusive<u64>>,
    /// Positions that arrived out of order (the fewest events that, moved,
    /// would put the stream in order).
    pub reordered: Vec<Reordered>,
    /// Positions that arrived more than once: at-least-once delivery, not
    /// tampering.
    pub duplicated: Vec<Duplicated>,
    /// Valid checkpoints seen.
    pub checkpoints: u64,
    /// The greatest length a valid checkpoint vouches for.
    pub checkpointed: Option<u64>,
}

impl ChainReport {
    fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.truncated.is_none() && self.reordered.is_empty()
    }

    fn missing_count(&self) -> u64 {
        self.missing.iter().map(|r| r.end() - r.start() + 1).sum()
    }
}

/// A position that arrived out of order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reordered {
    /// The position in the chain.
    pub seq: u64,
    /// The line of its first copy.
    pub line: u64,
}

/// A position that arrived more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duplicated {
    /// The position in the chain.
    pub seq: u64,
    /// How many copies came beyond the first.
    pub extra: u64,
}

/// A line with members that no hash or link covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unauthenticated {
    /// 1-based line number, as fed.
    pub line: u64,
    /// Paths of the uncovered members (`security.signature`, `extra`).
    pub fields: Vec<String>,
}

/// A line that failed a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidLine {
    /// 1-based line number, as fed.
    pub line: u64,
    /// The chain the line claims (only authenticated when the failure is
    /// about content).
    pub chain: Option<String>,
    /// The position the line claims, as `chain`.
    pub seq: Option<u64>,
    /// Which check it failed.
    pub failure: LineFailure,
}
