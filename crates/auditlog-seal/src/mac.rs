//! HMAC-SHA256 from SHA-256 states precomputed per key, wiped when dropped.
//!
//! The `hmac` crate keeps its inner and outer pads in the `Hmac` value and
//! does not zeroize them; a signing key would linger on the stack of every
//! call. Here the key is absorbed once, when the `SigningKey` is made: the
//! SHA-256 states after its inner and outer pads ([`PadStates`]) live in a
//! [`Zeroizing`] buffer beside the key, so a signature costs three
//! compressions for a 64-byte message instead of five, and the per-call
//! copies of those states are [`Zeroizing`] too (best effort: the compiler
//! may make copies nobody can wipe).

use sha2::digest::generic_array::GenericArray;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const BLOCK: usize = 64;

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The SHA-256 states after absorbing `key ^ ipad` and `key ^ opad`: inner
/// first, outer second. They stand for the key; keep them wiped.
pub(crate) type PadStates = [[u32; 8]; 2];

/// The pad states of `key` (RFC 2104: a key longer than a block is hashed
/// first).
pub(crate) fn pad_states(key: &[u8]) -> Zeroizing<PadStates> {
    let mut block = Zeroizing::new([0u8; BLOCK]);
    if key.len() > BLOCK {
        let mut hasher = Sha256::new();
        hasher.update(key);
        block[..32].copy_from_slice(&hasher.finalize_reset());
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut states = Zeroizing::new([SHA256_IV; 2]);
    let mut pad = Zeroizing::new([0u8; BLOCK]);
    for (state, byte) in states.iter_mut().zip([0x36, 0x5c]) {
        for (p, k) in pad.iter_mut().zip(block.iter()) {
            *p = k ^ byte;
        }
        compress(state, &pad);
    }
    states
}

/// HMAC-SHA256 of `message` under the key whose pad states are `key`
/// (RFC 2104).
pub(crate) fn hmac_sha256(key: &PadStates, message: &[u8]) -> [u8; 32] {
    let [inner, outer] = key;
    let mut state = Zeroizing::new(*inner);
    let inner_digest = Zeroizing::new(finish(&mut state, message));
    *state = *outer;
    finish(&mut state, &inner_digest[..])
}

/// True when `tag` is the HMAC-SHA256 of `message` under `key`, compared in
/// constant time.
pub(crate) fn hmac_matches(key: &PadStates, message: &[u8], tag: &[u8]) -> bool {
    crate::constant_time::same_bytes(&hmac_sha256(key, message), tag)
}

/// Absorbs `message` into `state`, which has absorbed one block (a pad)
/// already, adds SHA-256's padding and returns the digest.
fn finish(state: &mut [u32; 8], message: &[u8]) -> [u8; 32] {
    let mut blocks = message.chunks_exact(BLOCK);
    for block in &mut blocks {
        compress(state, block.try_into().expect("a whole block"));
    }
    let rest = blocks.remainder();
    let mut last = Zeroizing::new([0u8; 2 * BLOCK]);
    last[..rest.len()].copy_from_slice(rest);
    last[rest.len()] = 0x80;
    // The length field must fit after the 0x80 byte: one block or two.
    let used = if rest.len() < BLOCK - 8 {
        BLOCK
    } else {
        2 * BLOCK
    };
    let bits = ((BLOCK + message.len()) as u64) * 8;
    last[used - 8..used].copy_from_slice(&bits.to_be_bytes());
    for block in last[..used].chunks_exact(BLOCK) {
        compress(state, block.try_into().expect("a whole block"));
    }
    let mut digest = [0u8; 32];
    for (bytes, word) in digest.chunks_exact_mut(4).zip(state.iter()) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

fn compress(state: &mut [u32; 8], block: &[u8; BLOCK]) {
    sha2::compress256(state, std::slice::from_ref(GenericArray::from_slice(block)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::Mac;
    use proptest::prelude::*;

    #[test]
    fn rfc_4231_vectors() {
        let key = pad_states(b"Jefe");
        assert_eq!(
            hex::encode(hmac_sha256(&key, b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // A key longer than a block is hashed first (test case 6).
        let long = pad_states(&[0xaa; 131]);
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
        let key = pad_states(b"k");
        let tag = hmac_sha256(&key, b"m");
        assert!(hmac_matches(&key, b"m", &tag));
        assert!(!hmac_matches(&key, b"m", &tag[..31]));
        assert!(!hmac_matches(&key, b"n", &tag));
    }

    proptest! {
        #[test]
        fn agrees_with_the_hmac_crate(key in proptest::collection::vec(any::<u8>(), 1..200), message in proptest::collection::vec(any::<u8>(), 0..300)) {
            let ours = hmac_sha256(&pad_states(&key), &message);
            let mut theirs = <hmac::Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
            theirs.update(&message);
            prop_assert_eq!(ours.to_vec(), theirs.finalize().into_bytes().to_vec());
        }
    }
}
