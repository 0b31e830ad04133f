//! Verification: which check failed, never what was expected.

use std::fmt;

use auditlog_core::{AuditEvent, ParseError};
use hmac::Mac;
use subtle::ConstantTimeEq;

use crate::{compute_hash, SigningKey};

/// Why an event did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// No `security.hash`: the event was never sealed.
    MissingHash,
    /// The content does not match its hash: it was changed after sealing.
    HashMismatch,
    /// A key was given but the event carries no signature.
    MissingSignature,
    /// The signature was not made with the given key over this hash.
    SignatureMismatch,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VerifyError::MissingHash => "no hash: the event is not sealed",
            VerifyError::HashMismatch => "hash mismatch: the content changed after sealing",
            VerifyError::MissingSignature => "no signature: the event is not signed",
            VerifyError::SignatureMismatch => {
                "signature mismatch: not signed with this key over this content"
            }
        })
    }
}

impl std::error::Error for VerifyError {}

/// Checks the hash and, when `key` is given, the signature, as the Python
/// library's `verify` does (same order, constant-time comparisons). With no
/// key the signature is not checked.
pub fn verify(event: &AuditEvent, key: Option<&SigningKey>) -> Result<(), VerifyError> {
    let security = event.security.as_ref();
    let claimed_hash = security
        .and_then(|s| s.hash.as_deref())
        .filter(|h| !h.is_empty())
        .ok_or(VerifyError::MissingHash)?;
    let hash = compute_hash(event);
    if !bool::from(hash.as_bytes().ct_eq(claimed_hash.as_bytes())) {
        return Err(VerifyError::HashMismatch);
    }
    if let Some(key) = key {
        let claimed = security
            .and_then(|s| s.signature.as_deref())
            .filter(|s| !s.is_empty())
            .ok_or(VerifyError::MissingSignature)?;
        let claimed = decode_hex(claimed).ok_or(VerifyError::SignatureMismatch)?;
        let mut mac = <hmac::SimpleHmac<sha2::Sha256> as Mac>::new_from_slice(key.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(hash.as_bytes());
        mac.verify_slice(&claimed)
            .map_err(|_| VerifyError::SignatureMismatch)?;
    }
    Ok(())
}

/// Lowercase hex only, as the wire format writes it.
pub(crate) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// An event that verified, with the members no hash covers.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub event: AuditEvent,
    /// Paths of members the v1 model does not know. The Python library drops
    /// them before hashing, so anyone could have added or changed them.
    pub unauthenticated_fields: Vec<String>,
}

/// Why a JSON event did not verify.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum VerifyJsonError {
    /// Not an event.
    Parse(ParseError),
    /// An event whose seal does not hold.
    Seal(VerifyError),
}

impl fmt::Display for VerifyJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyJsonError::Parse(e) => e.fmt(f),
            VerifyJsonError::Seal(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for VerifyJsonError {}

/// Parses and verifies a published event. Succeeds with the list of
/// unauthenticated members, which callers should treat as suspect.
///
/// The chain members of `security` (`chain`, `seq`, `prev`, `kid`, `link`,
/// `length`, `head`) are read, not checked: their `link` is checked by
/// [`StreamVerifier`](crate::StreamVerifier), which needs the whole stream.
pub fn verify_json(text: &str, key: Option<&SigningKey>) -> Result<Verified, VerifyJsonError> {
    let parsed = AuditEvent::parse(text).map_err(VerifyJsonError::Parse)?;
    verify(&parsed.event, key).map_err(VerifyJsonError::Seal)?;
    Ok(Verified {
        event: parsed.event,
        unauthenticated_fields: parsed.unknown_fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{seal, sign};

    fn sealed(key: Option<&SigningKey>) -> AuditEvent {
        let mut event = AuditEvent::builder()
            .tenant_id("t")
            .action_name("a")
            .build();
        seal(&mut event, key);
        event
    }

    #[test]
    fn each_failed_check_is_named() {
        let key = SigningKey::new("k").unwrap();
        let other = SigningKey::new("other").unwrap();

        assert_eq!(
            verify(&AuditEvent::default(), None),
            Err(VerifyError::MissingHash)
        );

        let mut changed = sealed(Some(&key));
        changed.action.as_mut().unwrap().name = Some("b".into());
        assert_eq!(verify(&changed, Some(&key)), Err(VerifyError::HashMismatch));

        let unsigned = sealed(None);
        assert_eq!(verify(&unsigned, None), Ok(()));
        assert_eq!(
            verify(&unsigned, Some(&key)),
            Err(VerifyError::MissingSignature)
        );

        let signed = sealed(Some(&key));
        assert_eq!(verify(&signed, Some(&key)), Ok(()));
        assert_eq!(
            verify(&signed, Some(&other)),
            Err(VerifyError::SignatureMismatch)
        );
        // Without a key the signature is not checked, as in the Python library.
        assert_eq!(verify(&signed, None), Ok(()));
    }

    #[test]
    fn messages_never_reveal_the_expected_values() {
        let key = SigningKey::new("k").unwrap();
        let mut event = sealed(Some(&key));
        let hash = event.security.as_ref().unwrap().hash.clone().unwrap();
        let expected_signature = sign(&hash, &key);
        event.security.as_mut().unwrap().signature = Some("00".repeat(32));
        let message = verify(&event, Some(&key)).unwrap_err().to_string();
        assert!(!message.contains(&expected_signature) && !message.contains(&hash));
    }

    #[test]
    fn unknown_members_are_reported_as_unauthenticated() {
        let key = SigningKey::new("k").unwrap();
        let published = sealed(Some(&key)).published_json();
        let tampered = published.replacen('{', r#"{"approved":true,"#, 1);
        let verified = verify_json(&tampered, Some(&key)).unwrap();
        assert_eq!(verified.unauthenticated_fields, ["approved"]);
        assert_eq!(
            verify_json(&published, Some(&key))
                .unwrap()
                .unauthenticated_fields,
            Vec::<String>::new()
        );
    }

    #[test]
    fn uppercase_or_malformed_signatures_do_not_verify() {
        let key = SigningKey::new("k").unwrap();
        let mut event = sealed(Some(&key));
        let security = event.security.as_mut().unwrap();
        security.signature = security.signature.as_ref().map(|s| s.to_uppercase());
        assert_eq!(
            verify(&event, Some(&key)),
            Err(VerifyError::SignatureMismatch)
        );
    }
}
