//! Key ids, keyrings and rotation: which key made a chain link, HMAC-SHA256
//! or Ed25519.
//!
//! A [`ChainKey`] seals; a [`Keyring`] verifies. Every link names its key
//! (`security.kid`) and the keyring, not the event, says what kind of key that
//! is, so an event cannot talk the verifier into another algorithm (the JWT
//! `alg` mistake). Keyring entries are listed oldest first: that order is the
//! rotation order, retired keys stay in the ring to verify old events, and a
//! chain that goes back to an older key after a newer one is reported.

mod chain_key;
mod file;

use std::fmt;

use zeroize::Zeroizing;

use crate::error::ChainError;
use crate::key::SigningKey;
use crate::wire::checked_id;

pub(crate) use chain_key::Verifier;
pub use chain_key::{Algorithm, ChainKey};
pub use file::decode_32;

/// The keys a verifier trusts, by id, oldest first.
///
/// ```
/// use auditlog_seal::{Keyring, SigningKey};
///
/// let ring = Keyring::from_json(r#"{"keys":[
///     {"kid":"2026-10","type":"hmac-sha256","secret":"old secret","retired":true},
///     {"kid":"2026-11","type":"hmac-sha256","secret":"new secret"},
///     {"kid":"ed-1","type":"ed25519","public":"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"}
/// ]}"#).unwrap();
/// assert_eq!(ring.len(), 3);
/// // Sealing uses the newest key that is not retired and has a secret.
/// assert_eq!(ring.active().unwrap().kid(), "2026-11");
/// ```
#[derive(Clone, Default)]
pub struct Keyring {
    entries: Vec<KeyEntry>,
    /// A single key that answers for every key id (`--key-env`, `--public-key`).
    any: Option<Verifier>,
}

#[derive(Clone)]
struct KeyEntry {
    kid: String,
    verifier: Verifier,
    signer: Option<ChainKey>,
    retired: bool,
}

impl Keyring {
    /// An empty keyring: nothing verifies.
    pub fn new() -> Self {
        Self::default()
    }

    /// One HMAC key that verifies links whatever key id they name.
    pub fn any_kid_hmac(key: SigningKey) -> Self {
        Keyring {
            entries: Vec::new(),
            any: Some(Verifier::Hmac(key)),
        }
    }

    /// One Ed25519 public key that verifies links whatever key id they name.
    pub fn any_kid_ed25519(public: &[u8; 32]) -> Result<Self, ChainError> {
        Ok(Keyring {
            entries: Vec::new(),
            any: Some(Verifier::Ed25519(public_key(public)?)),
        })
    }

    /// Adds a key that both seals and verifies (the newest so far).
    pub fn add(&mut self, key: ChainKey) -> Result<&mut Self, ChainError> {
        self.push(key.kid().to_owned(), key.verifier(), Some(key))
    }

    /// Adds an Ed25519 public key: it verifies, it cannot seal.
    pub fn add_public(
        &mut self,
        kid: impl Into<String>,
        public: &[u8; 32],
    ) -> Result<&mut Self, ChainError> {
        let kid = checked_id(kid.into(), "key id")?;
        self.push(kid, Verifier::Ed25519(public_key(public)?), None)
    }

    fn push(
        &mut self,
        kid: String,
        verifier: Verifier,
        signer: Option<ChainKey>,
    ) -> Result<&mut Self, ChainError> {
        if self.entries.iter().any(|e| e.kid == kid) {
            return Err(ChainError::Keyring {
                entry: self.entries.len() + 1,
                reason: format!("key id {kid:?} appears twice"),
            });
        }
        self.entries.push(KeyEntry {
            kid,
            verifier,
            signer,
            retired: false,
        });
        Ok(self)
    }

    /// Retires a key: it still verifies what it sealed, it no longer seals.
    /// False when no key has that id.
    pub fn retire(&mut self, kid: &str) -> bool {
        self.entries
            .iter_mut()
            .find(|e| e.kid == kid)
            .map(|e| e.retired = true)
            .is_some()
    }

    /// The key to seal with: the newest one that is not retired and has a secret.
    pub fn active(&self) -> Option<&ChainKey> {
        self.entries
            .iter()
            .rev()
            .filter(|e| !e.retired)
            .find_map(|e| e.signer.as_ref())
    }

    /// How many keys the ring names (a single any-id key counts as one).
    pub fn len(&self) -> usize {
        self.entries.len() + usize::from(self.any.is_some())
    }

    /// True when the ring names no key: nothing verifies.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The verifier for `kid` and its place in the rotation order.
    pub(crate) fn lookup(&self, kid: &str) -> Option<(usize, &Verifier)> {
        if let Some(any) = &self.any {
            return Some((0, any));
        }
        self.entries
            .iter()
            .enumerate()
            .find(|(_, e)| e.kid == kid)
            .map(|(rank, e)| (rank, &e.verifier))
    }

    /// The id of the key at rotation place `rank`.
    pub(crate) fn kid_at(&self, rank: usize) -> Option<&str> {
        self.entries.get(rank).map(|e| e.kid.as_str())
    }

    /// Reads a keyring file (see [`from_json`](Self::from_json)); its text is
    /// wiped from memory once parsed.
    pub fn from_file(path: &std::path::Path) -> Result<Keyring, ChainError> {
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|e| ChainError::Keyring {
                    entry: 0,
                    reason: format!("cannot read the file: {e}"),
                })?,
            );
        Self::from_json(&text)
    }

    /// Reads a keyring file:
    ///
    /// ```json
    /// {"keys": [
    ///   {"kid": "2026-10", "type": "hmac-sha256", "secret_env": "AUDITLOG_KEY_2026_10", "retired": true},
    ///   {"kid": "2026-11", "type": "hmac-sha256", "secret": "..."},
    ///   {"kid": "ed-1", "type": "ed25519", "seed": "<64 hex>"},
    ///   {"kid": "ed-0", "type": "ed25519", "public": "<64 hex>"}
    /// ]}
    /// ```
    ///
    /// Oldest key first. An HMAC key is the UTF-8 `secret` or the variable
    /// named by `secret_env` (as the v1 format keys HMAC). An Ed25519 key is
    /// the private `seed` (seals and verifies) or the `public` key (verifies
    /// only). A file that holds secrets should be readable by its owner only.
    pub fn from_json(text: &str) -> Result<Keyring, ChainError> {
        file::parse(text)
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for e in &self.entries {
            list.entry(&format_args!(
                "{}{}{}",
                e.kid,
                if e.signer.is_some() {
                    " (can seal)"
                } else {
                    ""
                },
                if e.retired { " (retired)" } else { "" }
            ));
        }
        if self.any.is_some() {
            list.entry(&format_args!("<any key id>"));
        }
        list.finish()
    }
}
fn public_key(bytes: &[u8; 32]) -> Result<ed25519_dalek::VerifyingKey, ChainError> {
    ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| ChainError::InvalidKey {
        reason: "not an Ed25519 public key",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::is_valid_id;

    const SEED: [u8; 32] = [7; 32];

    #[test]
    fn debug_shows_ids_never_secrets() {
        let hmac = ChainKey::hmac("k1", SigningKey::new("s3cr3t").unwrap()).unwrap();
        let ed = ChainKey::ed25519("k2", &SEED).unwrap();
        let mut ring = Keyring::new();
        ring.add(hmac.clone()).unwrap().add(ed.clone()).unwrap();
        let shown = format!("{hmac:?} {ed:?} {ring:?} {ring:#?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(!shown.contains("0707"), "{shown}");
        assert!(shown.contains("k1") && shown.contains("k2"), "{shown}");
    }

    #[test]
    fn ids_are_kept_to_a_safe_alphabet() {
        assert!(is_valid_id("orders-api/pod-7:2026-11-23T08:15:30Z"));
        for bad in ["", "a\nb", "a b", "é", &"x".repeat(129)] {
            assert!(!is_valid_id(bad), "{bad:?}");
            assert!(ChainKey::hmac(bad, SigningKey::new("k").unwrap()).is_err());
        }
    }

    #[test]
    fn tags_verify_only_the_message_and_key_they_were_made_for() {
        for key in [
            ChainKey::hmac("h", SigningKey::new("k").unwrap()).unwrap(),
            ChainKey::ed25519("e", &SEED).unwrap(),
        ] {
            let tag = key.authenticate(b"message");
            let verifier = key.verifier();
            assert!(verifier.check(b"message", &tag));
            assert!(!verifier.check(b"messagE", &tag));
            assert!(!verifier.check(b"message", &tag.to_uppercase()));
            assert!(!verifier.check(b"message", &tag[2..]));
            let other = match key.algorithm() {
                Algorithm::HmacSha256 => ChainKey::hmac("h", SigningKey::new("k2").unwrap()),
                _ => ChainKey::ed25519("e", &[8; 32]),
            }
            .unwrap();
            assert!(!other.verifier().check(b"message", &tag));
        }
    }

    #[test]
    fn keyring_files_name_the_entry_that_is_wrong() {
        let cases = [
            (r#"{"keys":[{"kid":"a","type":"hmac-sha256"}]}"#, "entry 1"),
            (
                r#"{"keys":[{"kid":"a","type":"rsa","secret":"x"}]}"#,
                "\"rsa\"",
            ),
            (
                r#"{"keys":[{"kid":"a","type":"ed25519","public":"00"}]}"#,
                "64 hex",
            ),
            (
                r#"{"keys":[{"kid":"a","type":"ed25519","secret":"x"}]}"#,
                "does not fit",
            ),
            (
                r#"{"keys":[{"kid":"a","type":"hmac-sha256","secret":"x","secret2":"y"}]}"#,
                "unknown member",
            ),
            (
                r#"{"keys":[{"kid":"a","type":"hmac-sha256","secret":"x"},{"kid":"a","type":"hmac-sha256","secret":"y"}]}"#,
                "entry 2: key id \"a\" appears twice",
            ),
            (
                r#"{"keys":[{"kid":"a b","type":"hmac-sha256","secret":"x"}]}"#,
                "key id",
            ),
            ("[]", "\"keys\""),
        ];
        for (text, expected) in cases {
            let message = Keyring::from_json(text).unwrap_err().to_string();
            assert!(message.contains(expected), "{text}: {message}");
            assert!(!message.contains("\"x\""), "{message}");
        }
    }

    #[test]
    fn retired_keys_verify_but_do_not_seal() {
        let ring = Keyring::from_json(
            r#"{"keys":[{"kid":"old","type":"hmac-sha256","secret":"1"},{"kid":"new","type":"hmac-sha256","secret":"2","retired":true}]}"#,
        )
        .unwrap();
        assert_eq!(ring.active().unwrap().kid(), "old");
        assert_eq!(ring.lookup("new").map(|(rank, _)| rank), Some(1));
        assert!(ring.lookup("other").is_none());
    }
}
