//! The text forms a chain authenticates: ids, hashes, hex tags and the link
//! and checkpoint messages. Kept in one place so that sealing and verifying
//! read and write them the same way.

use crate::error::ChainError;

/// The message an event's `link` authenticates:
/// `auditlog.link.v1\n{chain}\n{seq}\n{prev}\n{hash}\n{kid}`.
pub(crate) fn link_message(
    chain: &str,
    seq: u64,
    prev: Option<&str>,
    hash: &str,
    kid: &str,
) -> Vec<u8> {
    format!(
        "auditlog.link.v1\n{chain}\n{seq}\n{}\n{hash}\n{kid}",
        prev.unwrap_or("")
    )
    .into_bytes()
}

/// The message a checkpoint's `link` authenticates:
/// `auditlog.checkpoint.v1\n{chain}\n{length}\n{head}\n{hash}\n{kid}`.
pub(crate) fn checkpoint_message(
    chain: &str,
    length: u64,
    head: Option<&str>,
    hash: &str,
    kid: &str,
) -> Vec<u8> {
    format!(
        "auditlog.checkpoint.v1\n{chain}\n{length}\n{}\n{hash}\n{kid}",
        head.unwrap_or("")
    )
    .into_bytes()
}

/// `bytes` as lowercase hex, through a table (the `hex` crate's encoder
/// goes a `char` at a time, which costs as much as the writer's own work).
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = Vec::with_capacity(2 * bytes.len());
    // A stack buffer per 32 bytes (a hash, a tag), copied in once: no
    // capacity check per digit, and no zeroed allocation to fill.
    for chunk in bytes.chunks(32) {
        let mut digits = [0u8; 64];
        for (pair, byte) in digits.chunks_exact_mut(2).zip(chunk) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0xf)];
        }
        if chunk.len() == 32 {
            text.extend_from_slice(&digits);
        } else {
            text.extend_from_slice(&digits[..2 * chunk.len()]);
        }
    }
    String::from_utf8(text).expect("hex digits are ASCII")
}

/// 64 lowercase hex digits.
pub(crate) fn is_hash(text: &str) -> bool {
    text.len() == 64 && is_lower_hex(text)
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes().all(|b| nibble(b).is_some())
}

/// The value of a lowercase hex digit.
fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

/// Lowercase hex only, as the wire format writes it: an uppercase tag is a
/// different tag.
pub(crate) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// A hash already checked with [`is_hash`], as bytes.
pub(crate) fn hash_bytes(hash: &str) -> [u8; 32] {
    let mut bytes = [0; 32];
    for (byte, pair) in bytes.iter_mut().zip(hash.as_bytes().chunks_exact(2)) {
        let digit = |d| nibble(d).expect("checked to be 64 lowercase hex digits");
        *byte = digit(pair[0]) << 4 | digit(pair[1]);
    }
    bytes
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

/// True when `id` is 1 to 128 characters of the id alphabet.
pub(crate) fn is_valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:@/+=-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_read_in_lowercase_only() {
        assert_eq!(decode_hex("0aff"), Some(vec![0x0a, 0xff]));
        assert_eq!(decode_hex("0AFF"), None);
        assert_eq!(decode_hex("0af"), None);
        assert!(is_hash(&"a".repeat(64)) && !is_hash(&"A".repeat(64)));
    }

    #[test]
    fn hex_is_written_in_lowercase_for_every_byte() {
        let every: Vec<u8> = (0..=255).collect();
        assert_eq!(lower_hex(&every), hex::encode(&every));
        assert_eq!(decode_hex(&lower_hex(&every)), Some(every.clone()));
        // Lengths that are not whole 32-byte chunks.
        for len in [0, 1, 31, 33, 63, 100] {
            assert_eq!(lower_hex(&every[..len]), hex::encode(&every[..len]));
        }
        let hash = lower_hex(&every[..32]);
        assert_eq!(hash_bytes(&hash)[..], every[..32]);
        assert_eq!(decode_hex(""), Some(Vec::new()));
        assert_eq!(decode_hex("0g"), None);
    }
}
