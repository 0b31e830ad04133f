//! What a strict chain check asks beyond a clean report: every chain
//! complete from seq 1 to a checkpoint, and the chains expected present.

use std::fmt;

use auditlog_core::printable;

/// A requirement of [`StreamVerifier::strict_chains`](crate::StreamVerifier::strict_chains)
/// or [`expect_chain`](crate::StreamVerifier::expect_chain) that the stream
/// did not meet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unmet {
    /// No chained event at all: an empty or emptied stream proves nothing.
    NoEvents,
    /// A chain that was expected is not in the stream.
    ChainAbsent {
        /// The chain id.
        chain: String,
    },
    /// A chain with no valid checkpoint: a cut-off tail would go unnoticed.
    NoCheckpoint {
        /// The chain id.
        chain: String,
    },
    /// Events past the chain's last checkpoint, which nothing vouches for
    /// (a tail cut after them would go unnoticed).
    Uncheckpointed {
        /// The chain id.
        chain: String,
        /// The first position after the last checkpoint.
        from: u64,
        /// The last position seen.
        to: u64,
    },
    /// The chain does not start at seq 1 (read without `from_the_middle`).
    NotAnchored {
        /// The chain id.
        chain: String,
        /// The first position seen.
        first: u64,
    },
}

impl Unmet {
    /// A stable machine name of the requirement, for the JSON report.
    pub fn code(&self) -> &'static str {
        match self {
            Unmet::NoEvents => "no-events",
            Unmet::ChainAbsent { .. } => "chain-absent",
            Unmet::NoCheckpoint { .. } => "no-checkpoint",
            Unmet::Uncheckpointed { .. } => "uncheckpointed",
            Unmet::NotAnchored { .. } => "not-anchored",
        }
    }

    /// The chain it is about, if any.
    pub fn chain(&self) -> Option<&str> {
        match self {
            Unmet::NoEvents => None,
            Unmet::ChainAbsent { chain }
            | Unmet::NoCheckpoint { chain }
            | Unmet::Uncheckpointed { chain, .. }
            | Unmet::NotAnchored { chain, .. } => Some(chain),
        }
    }
}

impl fmt::Display for Unmet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unmet::NoEvents => f.write_str("no chained event in the stream"),
            Unmet::ChainAbsent { chain } => {
                write!(f, "chain {} is not in the stream", printable(chain))
            }
            Unmet::NoCheckpoint { chain } => write!(
                f,
                "chain {} has no checkpoint: a cut-off tail would go unnoticed",
                printable(chain)
            ),
            Unmet::Uncheckpointed { chain, from, to } => write!(
                f,
                "chain {}: seq {from}-{to} come after the last checkpoint",
                printable(chain)
            ),
            Unmet::NotAnchored { chain, first } => {
                write!(f, "chain {} starts at seq {first}, not 1", printable(chain))
            }
        }
    }
}
