//! Tamper evidence for audit events: the SHA-256 content hash and HMAC-SHA256
//! signature of the v1 wire format, and their verification; chains,
//! checkpoints, key rotation and Ed25519 for whole streams.
//!
//! Depend on this crate to seal or check events; it adds hashing and
//! signatures (sha2, hmac, ed25519-dalek) to `auditlog-core`.
//!
//! - One event: [`seal`], [`verify`], [`verify_json`] (the v1 format, as the
//!   Python library does it).
//! - A stream: [`ChainSealer`] numbers and links a publisher's events and
//!   writes checkpoints; [`StreamVerifier`] checks a received stream against a
//!   [`Keyring`] and reports what is missing, reordered, duplicated,
//!   truncated or invalid. See the [`chain`] module for the wire layout and
//!   [`integrity`] for the threat model.
//!
//! # Example
//!
//! ```
//! use auditlog_core::AuditEvent;
//! use auditlog_seal::{seal, verify, SigningKey, VerifyError};
//!
//! let key = SigningKey::new("k").unwrap();
//! let mut event = AuditEvent::builder().tenant_id("t-1").action_name("login").build();
//! seal(&mut event, Some(&key));
//! assert_eq!(verify(&event, Some(&key)), Ok(()));
//!
//! event.tenantid = Some("t-2".into());
//! assert_eq!(verify(&event, Some(&key)), Err(VerifyError::HashMismatch));
//! ```
//!
//! A failed check says which check failed, never the expected value.

pub mod chain;
#[doc = include_str!("../../../docs/integrity.md")]
pub mod integrity {}
mod key;
pub mod keyring;
mod mac;
mod published;
mod report;
mod unmet;
mod verify;

use std::cell::RefCell;
use std::fmt;

use auditlog_core::{AuditEvent, Security};
use sha2::{Digest, Sha256};

pub use chain::{ChainError, ChainSealer};
pub use key::SigningKey;
pub use keyring::{Algorithm, ChainKey, Keyring};
pub use report::{ChainReport, Failure, Invalid, Report, StreamVerifier};
pub use unmet::Unmet;
pub use verify::{
    verify, verify_json, verify_json_as, Strictness, Verified, VerifyError, VerifyJsonError,
};

/// A key could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The environment variable holds bytes that are not UTF-8.
    NotUnicode { variable: String },
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

thread_local! {
    /// Canonical text scratch space, reused so sealing does not allocate it.
    static CANONICAL: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(2048));
}

/// Lowercase hex SHA-256 of the event's canonical text (`security` excluded).
pub fn compute_hash(event: &AuditEvent) -> String {
    CANONICAL.with(|scratch| {
        let mut canonical = scratch.borrow_mut();
        canonical.clear();
        event.write_canonical(&mut canonical);
        hash_hex(&canonical)
    })
}

fn hash_hex(canonical: &[u8]) -> String {
    hex(&Sha256::digest(canonical))
}

/// Lowercase hex HMAC-SHA256 of `hash` (its 64 ASCII characters) under `key`.
pub fn sign(hash: &str, key: &SigningKey) -> String {
    hex(&mac(hash, key))
}

pub(crate) fn mac(hash: &str, key: &SigningKey) -> [u8; 32] {
    mac::hmac_sha256(key, hash.as_bytes())
}

fn security_for(canonical: &[u8], key: Option<&SigningKey>) -> Security {
    let hash = hash_hex(canonical);
    let signature = key.map(|key| sign(&hash, key));
    Security {
        hash: Some(hash),
        signature,
        ..Security::default()
    }
}

/// Sets `event.security` to the hash and, with a key, the signature.
pub fn seal(event: &mut AuditEvent, key: Option<&SigningKey>) {
    let hash = compute_hash(event);
    let signature = key.map(|key| sign(&hash, key));
    event.security = Some(Security {
        hash: Some(hash),
        signature,
        ..Security::default()
    });
}

/// Seals `event` and appends its published form (the JSON that goes on the
/// wire) to `out`, serializing the event only once.
pub fn seal_into(event: &mut AuditEvent, key: Option<&SigningKey>, out: &mut Vec<u8>) {
    CANONICAL.with(|scratch| {
        event.seal_with(&mut scratch.borrow_mut(), out, |canonical| {
            security_for(canonical, key)
        });
    });
}

/// Seals `event` and returns its published form.
pub fn seal_to_json(event: &mut AuditEvent, key: Option<&SigningKey>) -> String {
    let mut out = Vec::with_capacity(1280);
    seal_into(event, key, &mut out);
    String::from_utf8(out).expect("published JSON is ASCII")
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example_of_the_spec() {
        let input = r#"{"id":"x","action":{"name":"é","method":"GET"},"eventdata":{"requestpayload":{"b":[null,"",{}],"a":1e16,"c":1e-5,"d":123456789012345678901234,"e":"\u007f\ud83d\ude00","f":{"g":null}}}}"#;
        let event = AuditEvent::from_json(input).unwrap();
        let hash = compute_hash(&event);
        assert_eq!(
            hash,
            "af2941233dd3d2547e4108711020b74cf48de76557628c9dcdabcc3019b52c5f"
        );
        assert_eq!(
            sign(&hash, &SigningKey::new("k").unwrap()),
            "bb320fd218ced6792d4b111295732ee6810fdd8d0faff5fcfbfd62a5981f36b8"
        );
    }

    #[test]
    fn sealing_without_a_key_leaves_no_signature() {
        let mut event = AuditEvent::builder().build();
        let published = seal_to_json(&mut event, None);
        assert_eq!(published, event.published_json());
        let security = event.security.as_ref().unwrap();
        assert_eq!(security.signature, None);
        assert!(published.contains(&format!(
            r#""security":{{"hash":"{}"}}"#,
            security.hash.as_deref().unwrap()
        )));
    }
}
