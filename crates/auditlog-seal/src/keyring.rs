//! Key ids, keyrings and rotation: which key made a chain link, HMAC-SHA256
//! or Ed25519.
//!
//! A [`ChainKey`] seals; a [`Keyring`] verifies. Every link names its key
//! (`security.kid`) and the keyring, not the event, says what kind of key that
//! is, so an event cannot talk the verifier into another algorithm (the JWT
//! `alg` mistake). Keyring entries are listed oldest first: that order is the
//! rotation order, retired keys stay in the ring to verify old events, and a
//! chain that goes back to an older key after a newer one is reported.

use std::fmt;

use ed25519_dalek::Signer;
use zeroize::Zeroizing;

use crate::{hex, ChainError, SigningKey};

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
            Secret::Hmac(key) => hex(&hmac_bytes(key, message)),
            Secret::Ed25519(key) => hex(&key.sign(message).to_bytes()),
        }
    }

    fn verifier(&self) -> Verifier {
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

fn hmac_bytes(key: &SigningKey, message: &[u8]) -> [u8; 32] {
    crate::mac::hmac_sha256(key, message)
}

/// What checks a tag: the shared secret, or the public key.
#[derive(Clone)]
pub(crate) enum Verifier {
    Hmac(SigningKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl Verifier {
    /// True when `tag` (lowercase hex) authenticates `message`. HMAC tags are
    /// compared in constant time; Ed25519 uses strict verification (no
    /// malleable or small-order signatures).
    pub(crate) fn check(&self, message: &[u8], tag: &str) -> bool {
        let Some(tag) = crate::verify::decode_hex(tag) else {
            return false;
        };
        match self {
            Verifier::Hmac(key) => crate::mac::hmac_matches(key, message, &tag),
            Verifier::Ed25519(public) => {
                let Ok(bytes) = <[u8; 64]>::try_from(tag.as_slice()) else {
                    return false;
                };
                let signature = ed25519_dalek::Signature::from_bytes(&bytes);
                public.verify_strict(message, &signature).is_ok()
            }
        }
    }

    pub(crate) fn hmac_key(&self) -> Option<&SigningKey> {
        match self {
            Verifier::Hmac(key) => Some(key),
            Verifier::Ed25519(_) => None,
        }
    }
}

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
    entries: Vec<Entry>,
    /// A single key that answers for every key id (`--key-env`, `--public-key`).
    any: Option<Verifier>,
}

#[derive(Clone)]
struct Entry {
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
        self.push(key.kid.clone(), key.verifier(), Some(key))
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
        self.entries.push(Entry {
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
        use auditlog_core::Value;
        let err = |entry: usize, reason: String| ChainError::Keyring { entry, reason };
        // The parsed tree holds the secrets too: wiped when it goes.
        let document = Wiped(auditlog_core::parse_value(text).map_err(|e| err(0, e.to_string()))?);
        let Some(Value::Array(keys)) = document.0.as_object().and_then(|o| o.get("keys")) else {
            return Err(err(0, "expected an object with a \"keys\" array".into()));
        };
        let mut ring = Keyring::new();
        for (i, key) in keys.iter().enumerate() {
            let entry = i + 1;
            let Some(fields) = key.as_object() else {
                return Err(err(entry, "expected an object".into()));
            };
            for name in fields.keys() {
                if !matches!(
                    name.as_str(),
                    "kid" | "type" | "secret" | "secret_env" | "seed" | "public" | "retired"
                ) {
                    return Err(err(entry, format!("unknown member {name:?}")));
                }
            }
            let string = |name: &str| match fields.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(other) => Err(err(
                    entry,
                    format!("{name}: expected a string, found {}", other.type_name()),
                )),
            };
            let kid = string("kid")?.ok_or_else(|| err(entry, "no \"kid\"".into()))?;
            let retired = match fields.get("retired") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(other) => {
                    return Err(err(
                        entry,
                        format!("retired: expected a boolean, found {}", other.type_name()),
                    ))
                }
            };
            let in_entry = |e: ChainError| match e {
                ChainError::Keyring { .. } => e,
                other => err(entry, other.to_string()),
            };
            let material = [
                string("secret")?,
                string("secret_env")?,
                string("seed")?,
                string("public")?,
            ];
            if material.iter().flatten().count() != 1 {
                return Err(err(
                    entry,
                    "give exactly one of \"secret\", \"secret_env\", \"seed\", \"public\"".into(),
                ));
            }
            match (string("type")?, material) {
                (Some("hmac-sha256"), [Some(secret), None, None, None]) => {
                    let key =
                        SigningKey::new(secret).ok_or_else(|| err(entry, "empty secret".into()))?;
                    ring.add(ChainKey::hmac(kid, key).map_err(in_entry)?)
                        .map_err(in_entry)?;
                }
                (Some("hmac-sha256"), [None, Some(variable), None, None]) => {
                    let key = SigningKey::from_env(variable)
                        .map_err(|e| err(entry, e.to_string()))?
                        .ok_or_else(|| err(entry, format!("${variable} is not set")))?;
                    ring.add(ChainKey::hmac(kid, key).map_err(in_entry)?)
                        .map_err(in_entry)?;
                }
                (Some("ed25519"), [None, None, Some(seed), None]) => {
                    let seed = Zeroizing::new(
                        decode_32(seed)
                            .ok_or_else(|| err(entry, "seed: expected 64 hex digits".into()))?,
                    );
                    ring.add(ChainKey::ed25519(kid, &seed).map_err(in_entry)?)
                        .map_err(in_entry)?;
                }
                (Some("ed25519"), [None, None, None, Some(public)]) => {
                    let public = decode_32(public)
                        .ok_or_else(|| err(entry, "public: expected 64 hex digits".into()))?;
                    ring.add_public(kid, &public).map_err(in_entry)?;
                }
                (Some(kind @ ("hmac-sha256" | "ed25519")), _) => {
                    return Err(err(
                        entry,
                        format!("this kind of material does not fit type {kind:?}"),
                    ))
                }
                (Some(other), _) => {
                    return Err(err(
                        entry,
                        format!("type {other:?}: expected \"hmac-sha256\" or \"ed25519\""),
                    ))
                }
                (None, _) => return Err(err(entry, "no \"type\"".into())),
            }
            if retired {
                ring.retire(kid);
            }
        }
        Ok(ring)
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

/// 64 hex digits (either case, surrounding whitespace ignored) into 32
/// bytes. Intermediate copies are wiped: the digits may be a private key.
pub fn decode_32(text: &str) -> Option<[u8; 32]> {
    let lower = Zeroizing::new(text.trim().to_ascii_lowercase());
    let bytes = Zeroizing::new(crate::verify::decode_hex(&lower)?);
    bytes.as_slice().try_into().ok()
}

/// A parsed keyring file whose strings are zeroized on drop.
struct Wiped(auditlog_core::Value);

impl Drop for Wiped {
    fn drop(&mut self) {
        fn wipe(value: &mut auditlog_core::Value) {
            use zeroize::Zeroize;
            match value {
                auditlog_core::Value::String(s) => s.zeroize(),
                auditlog_core::Value::Array(items) => items.iter_mut().for_each(wipe),
                auditlog_core::Value::Object(map) => map.values_mut().for_each(wipe),
                _ => {}
            }
        }
        wipe(&mut self.0);
    }
}

/// Chain ids and key ids end up in the authenticated messages, one per line,
/// so they are kept to a safe alphabet: 1 to 128 of `A-Z a-z 0-9 . _ : @ / + = -`.
pub(crate) fn checked_id(id: String, what: &'static str) -> Result<String, ChainError> {
    if is_valid_id(&id) {
        Ok(id)
    } else {
        Err(ChainError::InvalidId { what })
    }
}

pub(crate) fn is_valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:@/+=-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

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
