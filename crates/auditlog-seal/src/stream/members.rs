//! The chain members of one line: which must be there, and which no check
//! covers.

use auditlog_core::Security;

use crate::constant_time::same_bytes;
use crate::keyring::Verifier;
use crate::report::LineFailure;
use crate::seal::ComputedHash;
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

/// `computed` is the hash of the line's canonical text, when the line was
/// read strictly.
pub(super) fn common<'a>(
    security: &'a Security,
    computed: Option<&ComputedHash>,
) -> Result<Common<'a>, LineFailure> {
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
    // In nearly every line the hash is the one computed from its text,
    // whose bytes are at hand: the digits need not be read again. Else the
    // position is still the one the line claims.
    let hash_bytes = match computed.filter(|c| same_bytes(&c.hex, hash.as_bytes())) {
        Some(computed) => computed.bytes,
        None => decode_hash(hash).ok_or(LineFailure::Seal(VerifyError::HashMismatch))?,
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::computed_hash;

    fn security(hash: &str) -> Security {
        Security {
            chain: Some("c".into()),
            kid: Some("k".into()),
            hash: Some(hash.into()),
            link: Some("l".into()),
            ..Security::default()
        }
    }

    #[test]
    fn the_position_is_the_hash_the_line_claims_computed_or_not() {
        let computed = computed_hash(b"{}");
        let claimed = std::str::from_utf8(&computed.hex).unwrap();
        let matching = security(claimed);
        let from_computed = common(&matching, Some(&computed)).unwrap().hash_bytes;
        let read = common(&matching, None).unwrap().hash_bytes;
        assert_eq!(from_computed, computed.bytes);
        assert_eq!(read, computed.bytes);

        // A line whose content changed: its position is still what it claims.
        let other = computed_hash(b"{\"a\":1}");
        let changed = security(std::str::from_utf8(&other.hex).unwrap());
        let position = common(&changed, Some(&computed)).unwrap().hash_bytes;
        assert_eq!(position, other.bytes);

        // A claimed hash that is not 64 lowercase hex digits, whatever was
        // computed.
        let upper = claimed.to_uppercase();
        for bad in ["", &claimed[..63], upper.as_str()] {
            for computed in [None, Some(&computed)] {
                assert_eq!(
                    common(&security(bad), computed).err(),
                    Some(LineFailure::Seal(VerifyError::HashMismatch)),
                    "{bad:?}"
                );
            }
        }
    }
}
