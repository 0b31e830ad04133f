//! The key fingerprint against the plain packing of a key's bytes.

use super::fingerprint;

/// The first eight bytes little-endian, one at a time, and the length.
fn packed(key: &str) -> u64 {
    let mut word = 0u64;
    for (i, &byte) in key.as_bytes().iter().take(8).enumerate() {
        word |= u64::from(byte) << (8 * i);
    }
    word ^ (key.len() as u64).rotate_right(8)
}

fn keys() -> Vec<String> {
    let mut keys = vec![String::new()];
    // Every length up to 12 from several alphabets, control characters
    // (escaped keys decode to them) and multi-byte characters included.
    for alphabet in ["ab", "\u{8}\u{f}\u{7}", "é\u{1}x", "\u{0}\u{8}"] {
        let chars: Vec<char> = alphabet.chars().collect();
        for len in 1..=12 {
            for seed in 0..chars.len().pow(2) {
                let key: String = (0..len)
                    .map(|i| chars[(seed / (i % 2 + 1) + i * seed) % chars.len()])
                    .collect();
                keys.push(key);
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

#[test]
fn the_fingerprint_is_the_packed_head_and_length() {
    for key in keys() {
        assert_eq!(fingerprint(&key), packed(&key), "{key:?}");
    }
}
