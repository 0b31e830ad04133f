//! The chain members of one line: which must be there, and which no check
//! covers.

use auditlog_core::Security;

use crate::keyring::Verifier;
use crate::report::LineFailure;
use crate::verify::VerifyError;
use crate::wire::{decode_hash, is_valid_id};

/// Members no check covers, beside those the model does not know: a
/// `signature` under an Ed25519 key (only an HMAC key checks it) and a `head`
/// on an event (only checkpoints have one, under their link).
pub(super) fn uncovered(
    security: &Security,
    verifier: &Verifier,
    mut unknown: Vec<String>,
) -> Vec<String> {
    if security.signature.is_some() && verifier.hmac_key().is_none() {
        unknown.push("security.signature".into());
    }
    if security.head.is_some() && security.seq.is_some() {
        unknown.push("security.head".into());
    }
    unknown
}

/// The chain members every link has, checked for presence and form.
pub(super) struct Common<'a> {
    pub(super) chain: &'a str,
    pub(super) kid: &'a str,
    pub(super) hash: &'a str,
    /// `hash` decoded.
    pub(super) hash_bytes: [u8; 32],
    pub(super) link: &'a str,
}

pub(super) fn common(security: &Security) -> Result<Common<'_>, LineFailure> {
    let chain = security
        .chain
        .as_deref()
        .ok_or(LineFailure::MissingField("security.chain"))?;
    if !is_valid_id(chain) {
        return Err(LineFailure::Malformed("security.chain"));
    }
    let kid = security
        .kid
        .as_deref()
        .ok_or(LineFailure::MissingField("security.kid"))?;
    if !is_valid_id(kid) {
        return Err(LineFailure::Malformed("security.kid"));
    }
    let hash = security.hash.as_deref().unwrap_or("");
    let hash_bytes = decode_hash(hash).ok_or(LineFailure::Seal(VerifyError::HashMismatch))?;
    let link = security
        .link
        .as_deref()
        .ok_or(LineFailure::MissingField("security.link"))?;
    Ok(Common {
        chain,
        kid,
        hash,
        hash_bytes,
        link,
    })
}
