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
//!   [`Keyring`] and reports ([`StreamReport`]) what is missing, reordered, duplicated,
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
mod constant_time;
mod error;
#[doc = include_str!("../../../docs/integrity.md")]
pub mod integrity {}
mod key;
pub mod keyring;
mod mac;
mod published;
mod report;
mod seal;
mod stream;
mod unmet;
mod verify;
mod wire;

pub use chain::ChainSealer;
pub use error::{ChainError, KeyError};
pub use key::{SigningKey, DEFAULT_KEY_ENV};
pub use keyring::{Algorithm, ChainKey, Keyring};
pub use report::{
    ChainReport, Duplicated, InvalidLine, LineFailure, Reordered, StreamReport, Unauthenticated,
};
pub use seal::{compute_hash, seal, seal_into, seal_to_json, sign};
pub use stream::{CheckedLine, LineChecker, StreamVerifier};
pub use unmet::Unmet;
pub use verify::{
    verify, verify_json, verify_json_as, verify_json_into, Strictness, Verified, VerifyError,
    VerifyJsonError,
};
