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
    message(b"auditlog.link.v1\n", chain, seq, prev, hash, kid)
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
    message(b"auditlog.checkpoint.v1\n", chain, length, head, hash, kid)
}

/// `{first}{chain}\n{number}\n{before}\n{hash}\n{kid}`, copied into one
/// buffer of the right size (`format!` cost a fifth of a link check).
fn message(
    first: &[u8],
    chain: &str,
    number: u64,
    before: Option<&str>,
    hash: &str,
    kid: &str,
) -> Vec<u8> {
    let before = before.unwrap_or("");
    let fields = [chain, before, hash, kid]
        .map(str::len)
        .iter()
        .sum::<usize>();
    let mut text = Vec::with_capacity(first.len() + fields + 20 + 4);
    text.extend_from_slice(first);
    text.extend_from_slice(chain.as_bytes());
    text.push(b'\n');
    push_decimal(&mut text, number);
    for field in [before, hash, kid] {
        text.push(b'\n');
        text.extend_from_slice(field.as_bytes());
    }
    text
}

/// `number` in decimal, as `{}` writes it.
fn push_decimal(text: &mut Vec<u8>, mut number: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (number % 10) as u8;
        number /= 10;
        if number == 0 {
            break;
        }
    }
    text.extend_from_slice(&digits[start..]);
}

/// 32 bytes (a hash) as 64 lowercase hex digits, as [`lower_hex`] writes
/// them, on the stack.
pub(crate) fn hex32(bytes: &[u8; 32]) -> [u8; 64] {
    let mut digits = [0u8; 64];
    for (pair, &byte) in digits.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(byte)]);
    }
    digits
}

/// `bytes` as lowercase hex, through a table of digit pairs (the `hex`
/// crate's encoder goes a `char` at a time, which costs as much as the
/// writer's own work).
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    let mut text = Vec::with_capacity(2 * bytes.len());
    // A stack buffer per 32 bytes (a hash, a tag), copied in once: no
    // capacity check per digit, and no zeroed allocation to fill.
    for chunk in bytes.chunks(32) {
        let mut digits = [0u8; 64];
        for (pair, &byte) in digits.chunks_exact_mut(2).zip(chunk) {
            pair.copy_from_slice(&HEX_PAIRS[usize::from(byte)]);
        }
        text.extend_from_slice(&digits[..2 * chunk.len()]);
    }
    String::from_utf8(text).expect("hex digits are ASCII")
}

/// The two lowercase hex digits of every byte.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut pairs = [[0u8; 2]; 256];
    let mut byte = 0;
    while byte < 256 {
        pairs[byte] = [DIGITS[byte >> 4], DIGITS[byte & 0xf]];
        byte += 1;
    }
    pairs
};

/// 64 lowercase hex digits.
pub(crate) fn is_hash(text: &str) -> bool {
    text.len() == 64 && is_lower_hex(text)
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes().all(|b| digit_value(b) & 0xf0 == 0)
}

/// Lowercase hex only, as the wire format writes it: an uppercase tag is a
/// different tag.
pub(crate) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let mut bytes = vec![0; text.len() / 2];
    (text.len().is_multiple_of(2) && decode_hex_into(text, &mut bytes)).then_some(bytes)
}

/// Decodes `text`, exactly `2 * out.len()` lowercase hex digits, into `out`
/// without allocating; false (and `out` unspecified) otherwise.
pub(crate) fn decode_hex_into(text: &str, out: &mut [u8]) -> bool {
    let digits = text.as_bytes();
    if digits.len() != 2 * out.len() {
        return false;
    }
    // Invalid digits are collected and tested once, after the loop. Each
    // digit is read by arithmetic, without a branch: fewer instructions
    // than a table look-up or eight digits at a time in one word (callgrind),
    // and a chained line has 256 digits to read.
    let mut invalid = 0;
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let (high, low) = (digit_value(pair[0]), digit_value(pair[1]));
        invalid |= (high | low) & 0xf0;
        *byte = high << 4 | (low & 0x0f);
    }
    invalid == 0
}

/// The value of a lowercase hex digit, with 0xf0 set in it for any other
/// byte.
fn digit_value(digit: u8) -> u8 {
    let numeral = digit.wrapping_sub(b'0');
    let letter = digit.wrapping_sub(b'a');
    let value = if letter < 6 { letter + 10 } else { numeral };
    let valid = numeral < 10 || letter < 6;
    value | if valid { 0 } else { 0xf0 }
}

/// The bytes of a hash, when `text` is one ([`is_hash`]): checked and
/// decoded in one pass.
pub(crate) fn decode_hash(text: &str) -> Option<[u8; 32]> {
    let mut bytes = [0; 32];
    decode_hex_into(text, &mut bytes).then_some(bytes)
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

    /// A lowercase hex digit's value, written out by its ranges.
    fn digit_by_range(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            _ => None,
        }
    }

    /// One digit at a time by its ranges.
    fn decode_by_ranges(text: &str) -> Option<Vec<u8>> {
        let digits = text.as_bytes();
        if !digits.len().is_multiple_of(2) {
            return None;
        }
        digits
            .chunks_exact(2)
            .map(|pair| Some(digit_by_range(pair[0])? << 4 | digit_by_range(pair[1])?))
            .collect()
    }

    #[test]
    fn digits_decode_as_their_ranges_say_for_every_byte_in_every_place() {
        let base = "0123456789abcdef0123456789abcdef0f1e2d3c4b5a6978";
        for length in [2, 8, 16, 40, 46, 48] {
            let text = &base[..length];
            let mut out = vec![0; length / 2];
            assert!(decode_hex_into(text, &mut out));
            assert_eq!(Some(out.clone()), decode_by_ranges(text));
            for at in 0..length {
                for byte in 0..=255u8 {
                    let mut bytes = text.as_bytes().to_vec();
                    bytes[at] = byte;
                    let Ok(changed) = String::from_utf8(bytes) else {
                        continue;
                    };
                    let expected = decode_by_ranges(&changed);
                    let decoded = decode_hex_into(&changed, &mut out);
                    assert_eq!(decoded, expected.is_some(), "{changed:?}");
                    if let Some(expected) = expected {
                        assert_eq!(out, expected, "{changed:?}");
                    }
                }
            }
        }
        // Bytes from 0x80 up (of a two-byte character), in every place.
        let mut out = [0; 4];
        for at in 0..7 {
            let text = format!("{}é{}", "a".repeat(at), "a".repeat(6 - at));
            assert_eq!(text.len(), 8);
            assert!(!decode_hex_into(&text, &mut out), "{text:?}");
        }
    }

    #[test]
    fn a_hash_decodes_exactly_when_it_is_one() {
        let hash = "0123456789abcdef".repeat(4);
        assert!(is_hash(&hash) && decode_hash(&hash).is_some());
        for at in 0..hash.len() {
            for byte in 0..128u8 {
                let mut text = hash.clone().into_bytes();
                text[at] = byte;
                let text = String::from_utf8(text).expect("ASCII");
                assert_eq!(decode_hash(&text).is_some(), is_hash(&text), "{text}");
            }
        }
        for length in [0, 62, 63, 65, 66, 128] {
            assert_eq!(decode_hash(&"a".repeat(length)), None);
        }
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
        assert_eq!(
            decode_hash(&hash).map(|h| h.to_vec()),
            Some(every[..32].to_vec())
        );
        assert_eq!(decode_hex(""), Some(Vec::new()));
        assert_eq!(decode_hex("0g"), None);
        let mut out = [0; 2];
        assert!(decode_hex_into("0aff", &mut out) && out == [0x0a, 0xff]);
        assert!(!decode_hex_into("0aff0", &mut out) && !decode_hex_into("0a", &mut out));
        let mut one = [0; 1];
        for c in (0..128u8).map(char::from) {
            let lower_hex = c.is_ascii_digit() || ('a'..='f').contains(&c);
            assert_eq!(
                decode_hex_into(&format!("{c}0"), &mut one),
                lower_hex,
                "{c:?}"
            );
            assert_eq!(
                decode_hex_into(&format!("0{c}"), &mut one),
                lower_hex,
                "{c:?}"
            );
        }
        assert!(!decode_hex_into("\u{e9}", &mut one));
    }

    #[test]
    fn messages_are_spelled_as_format_spells_them() {
        let hash = "ab".repeat(32);
        let prev = "cd".repeat(32);
        for number in [0, 1, 9, 10, 99, 100, 12_345, u64::MAX / 7, u64::MAX] {
            for before in [None, Some(prev.as_str())] {
                let b = before.unwrap_or("");
                assert_eq!(
                    link_message("orders-1", number, before, &hash, "k1"),
                    format!("auditlog.link.v1\norders-1\n{number}\n{b}\n{hash}\nk1").into_bytes()
                );
                assert_eq!(
                    checkpoint_message("c", number, before, &hash, "2026-11"),
                    format!("auditlog.checkpoint.v1\nc\n{number}\n{b}\n{hash}\n2026-11")
                        .into_bytes()
                );
            }
        }
    }
}
