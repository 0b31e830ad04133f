//! Verification: which check failed, never what was expected.

use std::cell::RefCell;
use std::fmt;

use auditlog_core::{AuditEvent, ParseError};

use crate::constant_time::same_bytes;
use crate::key::SigningKey;
use crate::seal::{compute_hash, computed_hash, ComputedHash};
use crate::wire::decode_hex_into;

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
///
/// This checks an event already in memory. A line received as text must go
/// through [`verify_json`], which also makes sure the text says what the
/// hash covers.
pub fn verify(event: &AuditEvent, key: Option<&SigningKey>) -> Result<(), VerifyError> {
    verify_hash(event, None, key)
}

/// As [`verify`], with the hash of the event's canonical text when the
/// caller computed it already (`None`: compute it here).
pub(crate) fn verify_hash(
    event: &AuditEvent,
    computed: Option<&[u8]>,
    key: Option<&SigningKey>,
) -> Result<(), VerifyError> {
    let security = event.security.as_ref();
    let claimed_hash = security
        .and_then(|s| s.hash.as_deref())
        .filter(|h| !h.is_empty())
        .ok_or(VerifyError::MissingHash)?;
    let owned;
    let hash = match computed {
        Some(hash) => hash,
        None => {
            owned = compute_hash(event);
            owned.as_bytes()
        }
    };
    if !same_bytes(hash, claimed_hash.as_bytes()) {
        return Err(VerifyError::HashMismatch);
    }
    if let Some(key) = key {
        let claimed = security
            .and_then(|s| s.signature.as_deref())
            .filter(|s| !s.is_empty())
            .ok_or(VerifyError::MissingSignature)?;
        // A tag of any other length or spelling is a mismatch too.
        let mut tag = [0; 32];
        if !decode_hex_into(claimed, &mut tag)
            || !crate::mac::hmac_matches(key.pad_states(), hash, &tag)
        {
            return Err(VerifyError::SignatureMismatch);
        }
    }
    Ok(())
}

/// How closely received text must match the published form of the event it
/// holds: the canonical JSON with the `security` block, as both this crate
/// and the Python library write it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Strictness {
    /// The bytes are exactly the published form. Nothing is left to
    /// interpretation: no spacing, key order, escape or number spelling
    /// that one reader could take differently from another, no member that
    /// the hash does not cover. Use it for what publishers wrote.
    #[default]
    Strict,
    /// Any JSON text that reads as the published form: other spacing, key
    /// order, escapes (`ensure_ascii=False`) or number spelling, as a relay
    /// that re-encodes JSON writes it. Still refused: duplicate keys, number
    /// tokens readers could read differently (see `auditlog_core::parse_value`),
    /// and members the hash does not cover, whether the model does not know
    /// them or the canonical form prunes them (`null`, `""`, `[]`, `{}`).
    Lenient,
}

/// An event that verified.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Verified {
    /// The event, as read from the text that verified.
    pub event: AuditEvent,
}

/// Why a JSON event did not verify.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum VerifyJsonError {
    /// Not an event.
    Parse(ParseError),
    /// An event whose seal does not hold.
    Seal(VerifyError),
    /// Strict: the text is not the event's published form; `offset` is the
    /// first byte where it differs.
    NotPublishedForm {
        /// The first byte where the text differs.
        offset: usize,
    },
    /// Lenient: members that no hash covers (unknown to the model, or pruned
    /// from the canonical form), by path.
    Unauthenticated {
        /// Paths of the uncovered members.
        fields: Vec<String>,
    },
}

impl fmt::Display for VerifyJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyJsonError::Parse(e) => e.fmt(f),
            VerifyJsonError::Seal(e) => e.fmt(f),
            VerifyJsonError::NotPublishedForm { offset } => write!(
                f,
                "not in published form: differs from byte {offset} (a relay that re-encodes JSON needs --lenient)"
            ),
            VerifyJsonError::Unauthenticated { fields } => {
                f.write_str("members no hash covers: ")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&auditlog_core::printable(field))?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for VerifyJsonError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            VerifyJsonError::Parse(e) => Some(e),
            VerifyJsonError::Seal(e) => Some(e),
            _ => None,
        }
    }
}

/// Parses and verifies a published event, strictly: the text must be
/// exactly the event's published form ([`Strictness::Strict`]).
///
/// With `key` `None` only the hash is checked. Anyone can recompute a hash,
/// so that says the event was not damaged, not who made it: authenticate
/// with the key wherever one is to be had.
///
/// The chain members of `security` (`chain`, `seq`, `prev`, `kid`, `link`,
/// `length`, `head`) are read, not checked: their `link` is checked by
/// [`StreamVerifier`](crate::StreamVerifier), which needs the whole stream.
pub fn verify_json(text: &str, key: Option<&SigningKey>) -> Result<Verified, VerifyJsonError> {
    verify_json_as(text, key, Strictness::Strict)
}

/// Parses and verifies a published event with the given [`Strictness`].
pub fn verify_json_as(
    text: &str,
    key: Option<&SigningKey>,
    strictness: Strictness,
) -> Result<Verified, VerifyJsonError> {
    let mut event = AuditEvent::default();
    verify_json_into(&mut event, text, key, strictness)?;
    Ok(Verified { event })
}

/// As [`verify_json_as`], reading `text` into `event` (replacing it), for
/// loops over many lines: the previous line's event lends its buffers, as
/// [`AuditEvent::parse_into`] describes. On success `event` is the event
/// that verified; on failure it holds nothing to rely on.
pub fn verify_json_into(
    event: &mut AuditEvent,
    text: &str,
    key: Option<&SigningKey>,
    strictness: Strictness,
) -> Result<(), VerifyJsonError> {
    let hash = read_published_into(event, text, strictness)?;
    let hash = hash.as_ref().map(|hash| &hash.hex[..]);
    verify_hash(event, hash, key).map_err(VerifyJsonError::Seal)
}

/// Parses `text` and checks that it says exactly what its published form
/// says, as `strictness` asks; the seal is not checked here. Strict reading
/// also returns the hash of the canonical text, made from the same
/// serialization that the text was compared with.
/// The text is read into `event`, reusing its buffers.
fn read_published_into(
    event: &mut AuditEvent,
    text: &str,
    strictness: Strictness,
) -> Result<Option<ComputedHash>, VerifyJsonError> {
    event.parse_into(text).map_err(VerifyJsonError::Parse)?;
    match strictness {
        Strictness::Strict => match published_form_hash(text, event) {
            Ok(hash) => Ok(Some(hash)),
            Err(offset) => Err(VerifyJsonError::NotPublishedForm { offset }),
        },
        Strictness::Lenient => {
            let fields = crate::published::uncovered_members(text, event);
            if !fields.is_empty() {
                return Err(VerifyJsonError::Unauthenticated { fields });
            }
            Ok(None)
        }
    }
}

/// The longest line whose buffers a thread keeps for its next line: past
/// it they are let go, or a topic writer could pin that much memory in
/// every thread that ever checked a line.
pub(crate) const KEPT_LINE_MAX: usize = 64 << 10;

thread_local! {
    /// Canonical text and published form scratch space, reused across lines.
    static SCRATCH: RefCell<(Vec<u8>, Vec<u8>)> =
        RefCell::new((Vec::with_capacity(2048), Vec::with_capacity(2048)));
}

/// The hash of `event`'s canonical text when `text` is exactly its published
/// form; otherwise the first byte at which they differ. The event is
/// serialized once for both.
pub(crate) fn published_form_hash(text: &str, event: &AuditEvent) -> Result<ComputedHash, usize> {
    SCRATCH.with(|scratch| {
        let (canonical, published) = &mut *scratch.borrow_mut();
        published.clear();
        event.write_canonical_and_published(canonical, published);
        let result = if text.as_bytes() == &published[..] {
            Ok(computed_hash(canonical))
        } else {
            let common = (text.bytes().zip(published.iter()))
                .position(|(a, &b)| a != b)
                .unwrap_or(text.len().min(published.len()));
            Err(common)
        };
        for buffer in [canonical, published] {
            if buffer.capacity() > KEPT_LINE_MAX {
                *buffer = Vec::with_capacity(2048);
            }
        }
        result
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
    fn a_huge_line_leaves_no_huge_scratch_in_its_thread() {
        let scratch = || SCRATCH.with_borrow(|(a, b)| a.capacity().max(b.capacity()));
        let mut event = sealed(None);
        event.tenantid = Some("t".repeat(4 * KEPT_LINE_MAX));
        let text = crate::seal_to_json(&mut event, None);
        assert!(published_form_hash(&text, &event).is_ok());
        assert!(scratch() <= KEPT_LINE_MAX, "{} bytes kept", scratch());
        // A line within the limit keeps its buffers for the next.
        let mut small = sealed(None);
        let text = crate::seal_to_json(&mut small, None);
        assert!(published_form_hash(&text, &small).is_ok());
        assert!(scratch() >= text.len(), "{} bytes kept", scratch());
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
    fn unknown_members_fail_in_both_modes() {
        let key = SigningKey::new("k").unwrap();
        let published = sealed(Some(&key)).published_json();
        let tampered = published.replacen('{', r#"{"approved":true,"#, 1);
        assert_eq!(
            verify_json(&tampered, Some(&key)),
            Err(VerifyJsonError::NotPublishedForm { offset: 3 })
        );
        assert_eq!(
            verify_json_as(&tampered, Some(&key), Strictness::Lenient),
            Err(VerifyJsonError::Unauthenticated {
                fields: vec!["approved".into()]
            })
        );
        assert!(verify_json(&published, Some(&key)).is_ok());
        assert!(verify_json_as(&published, Some(&key), Strictness::Lenient).is_ok());
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
