//! Errors of keys, chains and keyrings: leaf types every other module may
//! return without depending on one another.

use std::fmt;

/// Something about a chain, a key or a keyring is not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainError {
    /// A chain id or key id outside the allowed alphabet or length.
    InvalidId {
        /// Which id: `"chain id"` or `"key id"`.
        what: &'static str,
    },
    /// Key material that is not a key.
    InvalidKey {
        /// What is wrong with it (never the material itself).
        reason: &'static str,
    },
    /// A keyring file entry (1-based; 0 for the file as a whole) is wrong.
    Keyring {
        /// The 1-based entry, or 0 for the file as a whole.
        entry: usize,
        /// What is wrong with it (never a secret).
        reason: String,
    },
    /// Resuming needs the hash of the last event, and only then.
    InvalidResume,
    /// The checkpoint to resume after does not verify.
    InvalidCheckpoint {
        /// Which check it failed.
        reason: &'static str,
    },
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainError::InvalidId { what } => write!(
                f,
                "invalid {what}: use 1 to 128 of A-Z a-z 0-9 . _ : @ / + = -"
            ),
            ChainError::InvalidKey { reason } => write!(f, "invalid key: {reason}"),
            ChainError::Keyring { entry: 0, reason } => write!(f, "keyring: {reason}"),
            ChainError::Keyring { entry, reason } => {
                write!(f, "keyring entry {entry}: {reason}")
            }
            ChainError::InvalidCheckpoint { reason } => {
                write!(f, "cannot resume after this checkpoint: {reason}")
            }
            ChainError::InvalidResume => f.write_str(
                "resuming a chain needs the hash of its last event exactly when it has events",
            ),
        }
    }
}

impl std::error::Error for ChainError {}

/// A key could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The environment variable holds bytes that are not UTF-8.
    NotUnicode {
        /// The variable's name.
        variable: String,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::NotUnicode { variable } => {
                write!(f, "signing key in ${variable} is not valid UTF-8")
            }
        }
    }
}

impl std::error::Error for KeyError {}
