//! The keys that seal chains and what verifies their tags.

use std::fmt;

use ed25519_dalek::Signer;
use sha2::{Digest, Sha256};

use crate::constant_time::same_bytes;
use crate::error::ChainError;
use crate::key::SigningKey;
use crate::wire::{checked_id, decode_hex_into, hex32};

/// A key that seals chains: its id and its secret (an HMAC key or an Ed25519
/// private key). `Debug` shows the id and algorithm only; secrets are wiped
/// on drop.
#[derive(Clone)]
pub struct ChainKey {
    kid: String,
    secret: Secret,
}

#[derive(Clone)]
enum Secret {
    Hmac(SigningKey),
    // Boxed: ed25519-dalek's key is large and zeroizes itself on drop.
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

impl ChainKey {
    /// An HMAC-SHA256 key. Events sealed with it also carry the per-event
    /// `signature` of the v1 format, so Python consumers verify them as before.
    pub fn hmac(kid: impl Into<String>, key: SigningKey) -> Result<Self, ChainError> {
        Ok(ChainKey {
            kid: checked_id(kid.into(), "key id")?,
            secret: Secret::Hmac(key),
        })
    }

    /// An Ed25519 key from its 32-byte private seed.
    pub fn ed25519(kid: impl Into<String>, seed: &[u8; 32]) -> Result<Self, ChainError> {
        Ok(ChainKey {
            kid: checked_id(kid.into(), "key id")?,
            secret: Secret::Ed25519(Box::new(ed25519_dalek::SigningKey::from_bytes(seed))),
        })
    }

    /// The key id written to `security.kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Whether it is an HMAC or an Ed25519 key.
    pub fn algorithm(&self) -> Algorithm {
        match self.secret {
            Secret::Hmac(_) => Algorithm::HmacSha256,
            Secret::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// The Ed25519 public key (what auditors are given), `None` for HMAC.
    pub fn public_key(&self) -> Option<[u8; 32]> {
        match &self.secret {
            Secret::Hmac(_) => None,
            Secret::Ed25519(key) => Some(key.verifying_key().to_bytes()),
        }
    }

    /// The HMAC key, which also makes the per-event `signature`.
    pub(crate) fn hmac_key(&self) -> Option<&SigningKey> {
        match &self.secret {
            Secret::Hmac(key) => Some(key),
            Secret::Ed25519(_) => None,
        }
    }

    /// The lowercase hex tag over `message`: HMAC-SHA256 or Ed25519.
    pub(crate) fn authenticate(&self, message: &[u8]) -> String {
        match &self.secret {
            Secret::Hmac(key) => {
                crate::wire::lower_hex(&crate::mac::hmac_sha256(key.pad_states(), message))
            }
            Secret::Ed25519(key) => hex::encode(key.sign(message).to_bytes()),
        }
    }

    /// What verifies the tags this key makes.
    pub(crate) fn verifier(&self) -> Verifier {
        match &self.secret {
            Secret::Hmac(key) => Verifier::Hmac(key.clone()),
            Secret::Ed25519(key) => Verifier::Ed25519(key.verifying_key()),
        }
    }
}

impl fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

/// The algorithm of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Algorithm {
    /// A shared secret: whoever verifies could also forge.
    HmacSha256,
    /// A key pair: the public key verifies and cannot sign.
    Ed25519,
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::Ed25519 => "ed25519",
        })
    }
}

/// What checks a tag: the shared secret, or the public key.
#[derive(Clone)]
pub(crate) enum Verifier {
    /// The shared secret.
    Hmac(SigningKey),
    /// The public key.
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl Verifier {
    /// True when `tag` (lowercase hex) authenticates `message`. HMAC tags are
    /// compared in constant time; Ed25519 uses strict verification (no
    /// malleable or small-order signatures).
    pub(crate) fn check(&self, message: &[u8], tag: &str) -> bool {
        // Decoded on the stack: the tag's length is the algorithm's.
        match self {
            Verifier::Hmac(key) => {
                let mut bytes = [0; 32];
                decode_hex_into(tag, &mut bytes)
                    && crate::mac::hmac_matches(key.pad_states(), message, &bytes)
            }
            Verifier::Ed25519(public) => {
                let mut bytes = [0; 64];
                if !decode_hex_into(tag, &mut bytes) {
                    return false;
                }
                let signature = ed25519_dalek::Signature::from_bytes(&bytes);
                public.verify_strict(message, &signature).is_ok()
            }
        }
    }

    /// As [`check`](Self::check), for a chain's link: when `tag`
    /// authenticates `message`, 32 bytes that tell it from any other
    /// authentic tag (its fingerprint, kept to tell a duplicate from a
    /// conflict). An HMAC tag is its own fingerprint: the tag made here is
    /// written as hex and compared with `tag`'s digits in constant time,
    /// which need not be read (any other length, case or digit differs). An
    /// Ed25519 tag (128 digits) is fingerprinted by the SHA-256 of its text.
    pub(crate) fn check_link(&self, message: &[u8], tag: &str) -> Option<[u8; 32]> {
        match self {
            Verifier::Hmac(key) => {
                let made = crate::mac::hmac_sha256(key.pad_states(), message);
                same_bytes(&hex32(&made), tag.as_bytes()).then_some(made)
            }
            Verifier::Ed25519(_) => self
                .check(message, tag)
                .then(|| Sha256::digest(tag.as_bytes()).into()),
        }
    }

    /// The HMAC key, which also checks the per-event `signature`.
    pub(crate) fn hmac_key(&self) -> Option<&SigningKey> {
        match self {
            Verifier::Hmac(key) => Some(key),
            Verifier::Ed25519(_) => None,
        }
    }
}
