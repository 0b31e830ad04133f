//! The keyring file: JSON naming each key, its type and its material,
//! read so that no secret outlives the parse.

use zeroize::Zeroizing;

use super::{ChainKey, Keyring};
use crate::error::ChainError;
use crate::key::SigningKey;
use crate::wire::decode_hex;

/// 64 hex digits (either case, surrounding whitespace ignored) into 32
/// bytes. Intermediate copies are wiped: the digits may be a private key.
pub fn decode_32(text: &str) -> Option<[u8; 32]> {
    let lower = Zeroizing::new(text.trim().to_ascii_lowercase());
    let bytes = Zeroizing::new(decode_hex(&lower)?);
    bytes.as_slice().try_into().ok()
}

/// Reads a keyring file (see [`Keyring::from_json`]).
pub(super) fn parse(text: &str) -> Result<Keyring, ChainError> {
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
