//! The signing key: never printed, wiped from memory when dropped.

use std::fmt;

use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::mac::{pad_states, PadStates};

/// An HMAC-SHA256 signing key: the UTF-8 bytes of the configured secret.
///
/// `Debug` shows no part of it and its bytes are zeroized on drop. An empty
/// secret means "unsigned" in the wire format, so it is refused here.
#[derive(Clone)]
pub struct SigningKey {
    /// The HMAC pad states, absorbed once: what signing uses.
    pads: Zeroizing<PadStates>,
}

impl SigningKey {
    /// A key from its secret, or `None` when the secret is empty.
    pub fn new(secret: impl Into<Vec<u8>>) -> Option<Self> {
        let bytes = Zeroizing::new(secret.into());
        (!bytes.is_empty()).then(|| SigningKey {
            pads: pad_states(&bytes),
        })
    }

    /// The key in environment variable `name`; `None` when unset or empty.
    /// A value that is not UTF-8 is refused, as the Python library could not
    /// read it either.
    pub fn from_env(name: &str) -> Result<Option<Self>, KeyError> {
        match std::env::var(name) {
            Ok(value) => Ok(Self::new(Zeroizing::new(value).as_bytes())),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(KeyError::NotUnicode {
                variable: name.to_owned(),
            }),
        }
    }

    pub(crate) fn pad_states(&self) -> &PadStates {
        &self.pads
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// The environment variable the signing key is read from unless told
/// otherwise, by the CLI, the Kafka publisher and the conformance suite alike.
pub const DEFAULT_KEY_ENV: &str = "AUDITLOG_SIGNING_KEY";

#[cfg(test)]
mod tests {
    use super::SigningKey;

    #[test]
    fn debug_never_shows_the_key() {
        let key = SigningKey::new("s3cr3t-value").unwrap();
        let shown = format!("{key:?} {key:#?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn empty_key_means_unsigned() {
        assert!(SigningKey::new("").is_none());
    }
}
