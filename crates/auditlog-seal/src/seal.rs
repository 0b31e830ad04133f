//! One event: its content hash, its HMAC signature, and the `security` block
//! that carries them.

use std::cell::RefCell;

use auditlog_core::{AuditEvent, Security};
use sha2::{Digest, Sha256};

use crate::key::SigningKey;
use crate::wire::{hex32, lower_hex};

thread_local! {
    /// Canonical text scratch space, reused so sealing does not allocate it.
    static CANONICAL: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(2048));
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
    seal_with(event, out, |canonical| {
        let hash = hash_hex(canonical);
        let signature = key.map(|key| sign(&hash, key));
        Security {
            hash: Some(hash),
            signature,
            ..Security::default()
        }
    });
}

/// Seals `event` and returns its published form.
pub fn seal_to_json(event: &mut AuditEvent, key: Option<&SigningKey>) -> String {
    let mut out = Vec::with_capacity(1280);
    seal_into(event, key, &mut out);
    String::from_utf8(out).expect("published JSON is ASCII")
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

/// Lowercase hex HMAC-SHA256 of `hash` (its 64 ASCII characters) under `key`.
pub fn sign(hash: &str, key: &SigningKey) -> String {
    lower_hex(&crate::mac::hmac_sha256(key.pad_states(), hash.as_bytes()))
}

/// The SHA-256 of a canonical text as its bytes and as the 64 lowercase hex
/// digits a line carries, both on the stack: a verifier compares the digits
/// with the line's and, in a chain, keeps the bytes, without allocating the
/// digits or reading them back.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ComputedHash {
    pub(crate) bytes: [u8; 32],
    pub(crate) hex: [u8; 64],
}

/// The [`ComputedHash`] of canonical text.
pub(crate) fn computed_hash(canonical: &[u8]) -> ComputedHash {
    let bytes: [u8; 32] = Sha256::digest(canonical).into();
    ComputedHash {
        bytes,
        hex: hex32(&bytes),
    }
}

/// Lowercase hex SHA-256 of canonical text.
pub(crate) fn hash_hex(canonical: &[u8]) -> String {
    lower_hex(&Sha256::digest(canonical))
}

/// Writes the published form of `event` to `out` with the `security` block
/// `security` makes from its canonical text, serializing the event once.
pub(crate) fn seal_with(
    event: &mut AuditEvent,
    out: &mut Vec<u8>,
    security: impl FnOnce(&[u8]) -> Security,
) {
    CANONICAL.with(|scratch| event.seal_with(&mut scratch.borrow_mut(), out, security));
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
