//! Which check a line failed, with a stable machine name for each.

use std::fmt;

use auditlog_core::printable;

use crate::verify::VerifyError;

/// Which check a line failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LineFailure {
    /// Not an event.
    Parse(String),
    /// Strict reading: the line is not the event's published form; `offset`
    /// is the first byte where it differs.
    NotPublishedForm {
        /// The first byte where the line differs.
        offset: usize,
    },
    /// The v1 seal: content hash or HMAC signature.
    Seal(VerifyError),
    /// A chain member is missing (its wire name, e.g. `security.link`).
    MissingField(&'static str),
    /// A chain member is there but malformed.
    Malformed(&'static str),
    /// `security.kid` names no key of the keyring.
    UnknownKey,
    /// `link` does not authenticate the chain fields under the named key:
    /// the chain id, position, previous hash or hash was changed, or another
    /// key made it.
    Link,
    /// Another authentic event has the same position with other content: the
    /// key holder sealed two histories (or reused a chain id).
    Conflict,
    /// `prev` is not the hash of the event before: the key holder sealed two
    /// histories (or reused a chain id).
    Fork,
    /// A checkpoint's `head` is not the hash of the event at its `length`,
    /// or not that of another checkpoint of the same length.
    CheckpointMismatch,
    /// Sealed with an older key of the keyring after a newer one was in use.
    KeyRollback {
        /// The newer key that was in use before.
        newer: String,
    },
}

impl LineFailure {
    /// A stable machine name of the check, for the JSON report.
    pub fn code(&self) -> &'static str {
        match self {
            LineFailure::Parse(_) => "parse",
            LineFailure::NotPublishedForm { .. } => "not-published-form",
            LineFailure::Seal(VerifyError::MissingHash) => "missing-hash",
            LineFailure::Seal(VerifyError::HashMismatch) => "hash-mismatch",
            LineFailure::Seal(VerifyError::MissingSignature) => "missing-signature",
            LineFailure::Seal(VerifyError::SignatureMismatch) => "signature-mismatch",
            LineFailure::MissingField(_) => "missing-field",
            LineFailure::Malformed(_) => "malformed",
            LineFailure::UnknownKey => "unknown-key",
            LineFailure::Link => "link-mismatch",
            LineFailure::Conflict => "conflict",
            LineFailure::Fork => "fork",
            LineFailure::CheckpointMismatch => "checkpoint-mismatch",
            LineFailure::KeyRollback { .. } => "key-rollback",
        }
    }
}

impl fmt::Display for LineFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineFailure::Parse(message) => write!(f, "not an event: {}", printable(message)),
            LineFailure::NotPublishedForm { offset } => write!(
                f,
                "not in published form: differs from byte {offset} (a relay that re-encodes JSON needs --lenient)"
            ),
            LineFailure::Seal(e) => e.fmt(f),
            LineFailure::MissingField(name) => write!(f, "no {name}: not a complete chain link"),
            LineFailure::Malformed(name) => write!(f, "malformed {name}"),
            LineFailure::UnknownKey => f.write_str("security.kid names no key of the keyring"),
            LineFailure::Link => f.write_str(
                "link mismatch: chain id, position, previous hash or hash changed after sealing, or another key made it",
            ),
            LineFailure::Conflict => f.write_str(
                "conflict: another authentic event holds this position (two histories under one key)",
            ),
            LineFailure::Fork => f.write_str(
                "fork: prev is not the hash of the event before (two histories under one key)",
            ),
            LineFailure::CheckpointMismatch => {
                f.write_str("checkpoint head is not the hash of the event at its length (two histories under one key)")
            }
            LineFailure::KeyRollback { newer } => {
                write!(
                    f,
                    "sealed with an older key after key {} was in use",
                    printable(newer)
                )
            }
        }
    }
}
