//! HMAC-SHA256 whose key-derived pads are wiped after each use.
//!
//! The `hmac` crate keeps its inner and outer pads in the `Hmac` value and
//! does not zeroize them; a signing key would linger on the stack of every
//! call. Here the padded key lives in [`Zeroizing`] buffers, and each
//! SHA-256 state that absorbed a pad is reset before it is dropped (best
//! effort: sha2 0.10 cannot wipe copies the compiler may make).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::key::SigningKey;

const BLOCK: usize = 64;

/// HMAC-SHA256 of `message` under `key` (RFC 2104).
pub(crate) fn hmac_sha256(key: &SigningKey, message: &[u8]) -> [u8; 32] {
    let key = key.as_bytes();
    let mut block = Zeroizing::new([0u8; BLOCK]);
    if key.len() > BLOCK {
        let mut hasher = Sha256::new();
        hasher.update(key);
        block[..32].copy_from_slice(&hasher.finalize_reset());
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut pad = Zeroizing::new([0u8; BLOCK]);
    let mut hasher = Sha256::new();

    xor_into(&mut pad, &block, 0x36);
    hasher.update(&pad[..]);
    hasher.update(message);
    let inner = hasher.finalize_reset();

    xor_into(&mut pad, &block, 0x5c);
    hasher.update(&pad[..]);
    hasher.update(inner);
    hasher.finalize_reset().into()
}

/// True when `tag` is the HMAC-SHA256 of `message` under `key`, compared in
/// constant time.
pub(crate) fn hmac_matches(key: &SigningKey, message: &[u8], tag: &[u8]) -> bool {
    bool::from(hmac_sha256(key, message).ct_eq(tag))
}

fn xor_into(pad: &mut [u8; BLOCK], key: &[u8; BLOCK], byte: u8) {
    for (p, k) in pad.iter_mut().zip(key) {
        *p = k ^ byte;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::Mac;
    use proptest::prelude::*;

    #[test]
    fn rfc_4231_vectors() {
        let key = SigningKey::new("Jefe").unwrap();
        assert_eq!(
            hex::encode(hmac_sha256(&key, b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // A key longer than a block is hashed first (test case 6).
        let long = SigningKey::new(vec![0xaa; 131]).unwrap();
        assert_eq!(
            hex::encode(hmac_sha256(
                &long,
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn a_tag_of_another_length_or_content_does_not_match() {
        let key = SigningKey::new("k").unwrap();
        let tag = hmac_sha256(&key, b"m");
        assert!(hmac_matches(&key, b"m", &tag));
        assert!(!hmac_matches(&key, b"m", &tag[..31]));
        assert!(!hmac_matches(&key, b"n", &tag));
    }

    proptest! {
        #[test]
        fn agrees_with_the_hmac_crate(key in proptest::collection::vec(any::<u8>(), 1..200), message in proptest::collection::vec(any::<u8>(), 0..300)) {
            let ours = hmac_sha256(&SigningKey::new(key.clone()).unwrap(), &message);
            let mut theirs = <hmac::Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
            theirs.update(&message);
            prop_assert_eq!(ours.to_vec(), theirs.finalize().into_bytes().to_vec());
        }
    }
}
