//! JSON string escaping of the canonical form: ASCII only, short escapes
//! where JSON has them, `\u00XX` for other control characters and `\uXXXX`
//! (UTF-16) beyond ASCII.

/// How each ASCII byte is written inside a string: 0 = as is, b'u' = `\u00XX`,
/// anything else = a backslash and that letter.
static ESCAPES: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut i = 0;
    while i < 0x20 {
        table[i] = b'u';
        i += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table[0x7f] = b'u';
    table
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes `s` as a JSON string, ASCII only: `\uXXXX` (UTF-16) for every
/// other character.
#[inline]
pub(crate) fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    write_string_body(out, s);
    out.push(b'"');
}

/// Writes `s` as [`write_string`] does, without the quotes around it (for
/// callers that write the opening quote with the text before it).
#[inline]
pub(crate) fn write_string_body(out: &mut Vec<u8>, s: &str) {
    // Most strings of an event need no escaping: copy them while checking,
    // and take the byte-by-byte path only for the few that do.
    if !copy_if_plain(out, s.as_bytes()) {
        write_escaped(out, s);
    }
}

/// Appends `bytes` and returns true when none of them needs escaping;
/// otherwise appends nothing and returns false. Checks and copies eight
/// bytes at a time, the last eight overlapping the words before, so that
/// every copy has a constant length: a few moves, not a call to `memcpy`
/// (an event has some 45 strings, most of them a few words long).
#[inline]
fn copy_if_plain(out: &mut Vec<u8>, bytes: &[u8]) -> bool {
    let start = out.len();
    let len = bytes.len();
    let special = if len >= 8 {
        out.reserve(len);
        let mut special = 0;
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let word: [u8; 8] = word.try_into().expect("eight bytes");
            special |= escape_mask(u64::from_le_bytes(word));
            out.extend_from_slice(&word);
        }
        if !words.remainder().is_empty() {
            let last: [u8; 8] = bytes[len - 8..].try_into().expect("eight bytes");
            special |= escape_mask(u64::from_le_bytes(last));
            out.truncate(start + len - 8);
            out.extend_from_slice(&last);
        }
        special
    } else if len >= 4 {
        // Two overlapping halves, checked as one word.
        let first: [u8; 4] = bytes[..4].try_into().expect("four bytes");
        let last: [u8; 4] = bytes[len - 4..].try_into().expect("four bytes");
        out.extend_from_slice(&first);
        out.truncate(start + len - 4);
        out.extend_from_slice(&last);
        escape_mask(
            u64::from(u32::from_le_bytes(first)) | u64::from(u32::from_le_bytes(last)) << 32,
        )
    } else {
        let mut special = 0;
        for &b in bytes {
            special |= SPECIAL[usize::from(b)];
            out.push(b);
        }
        u64::from(special)
    };
    if special != 0 {
        out.truncate(start);
    }
    special == 0
}

/// 1 for every byte that needs escaping: below 0x20, `"`, `\\`, 0x7f and above.
static SPECIAL: [u8; 256] = {
    let mut table = [1u8; 256];
    let mut i = 0x20;
    while i < 0x7f {
        table[i] = 0;
        i += 1;
    }
    table[b'"' as usize] = 1;
    table[b'\\' as usize] = 1;
    table
};

/// The body of a string that needs escaping, quotes not included.
#[cold]
fn write_escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut run_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Skip eight plain bytes at a time; most text needs no escaping.
        if let Some(word) = bytes.get(i..i + 8) {
            if !needs_escape(u64::from_le_bytes(word.try_into().expect("eight bytes"))) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        if b < 0x80 && ESCAPES[b as usize] == 0 {
            i += 1;
            continue;
        }
        out.extend_from_slice(&bytes[run_start..i]);
        if b < 0x80 {
            match ESCAPES[b as usize] {
                b'u' => write_unit(out, u16::from(b)),
                letter => out.extend_from_slice(&[b'\\', letter]),
            }
            i += 1;
        } else {
            let c = s[i..].chars().next().expect("a char starts here");
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write_unit(out, *unit);
            }
            i += c.len_utf8();
        }
        run_start = i;
    }
    out.extend_from_slice(&bytes[run_start..]);
}

/// True when any of the eight bytes is below 0x20, `"`, `\\`, or 0x7f and
/// above.
fn needs_escape(word: u64) -> bool {
    escape_mask(word) != 0
}

/// Nonzero when any of the eight bytes needs escaping. Bit tricks ("has a
/// byte less than"): each term sets the high bit of a byte that needs
/// escaping, and may set bits above it where a borrow or carry runs on,
/// but never sets one in a word that has no such byte.
fn escape_mask(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Below 0x20, or equal to `"` or a backslash (XOR leaves a zero byte): these
    // subtractions borrow into the high bit. `& !word` keeps only bytes
    // below 0x80, where that bit was clear before.
    let control = word.wrapping_sub(ONES * 0x20);
    let quote = (word ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES);
    let backslash = (word ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES);
    // 0x7f and above: the high bit is set already, or adding one sets it.
    let delete_and_above = word | word.wrapping_add(ONES);
    ((control | quote | backslash) & !word | delete_and_above) & HIGH
}

fn write_unit(out: &mut Vec<u8>, unit: u16) {
    out.extend_from_slice(&[
        b'\\',
        b'u',
        HEX[(unit >> 12) as usize & 0xf],
        HEX[(unit >> 8) as usize & 0xf],
        HEX[(unit >> 4) as usize & 0xf],
        HEX[unit as usize & 0xf],
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_scan_finds_every_byte_that_needs_escaping() {
        for special in (0u8..0x20).chain([b'"', b'\\', 0x7f, 0x80, 0xff]) {
            for position in 0..8 {
                let mut word = *b"abcdefgh";
                word[position] = special;
                assert!(
                    needs_escape(u64::from_le_bytes(word)),
                    "{special:#x} at {position}"
                );
            }
        }
        assert!(!needs_escape(u64::from_le_bytes(*b" ~/{}[]!")));
    }

    /// No false positives either: every pair of bytes at every pair of
    /// positions (the borrows and carries run between bytes), then random
    /// words.
    #[test]
    fn word_scan_flags_a_word_exactly_when_a_byte_needs_escaping() {
        let needs = |word: u64| {
            word.to_le_bytes()
                .iter()
                .any(|&b| SPECIAL[usize::from(b)] == 1)
        };
        for low in 0..=255u8 {
            for high in 0..=255u8 {
                for (i, j) in [(0, 1), (2, 3), (6, 7), (0, 7), (3, 5)] {
                    let mut bytes = *b"abcdefgh";
                    bytes[i] = low;
                    bytes[j] = high;
                    let word = u64::from_le_bytes(bytes);
                    assert_eq!(needs_escape(word), needs(word), "{bytes:?}");
                }
            }
        }
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Mostly printable ASCII, so that plain words are common too.
            let word = state & 0x3f3f_3f3f_3f3f_3f3f | 0x2020_2020_2020_2020;
            for word in [state, word, word ^ (state >> 59 << (state >> 53 & 56))] {
                assert_eq!(needs_escape(word), needs(word), "{word:#x}");
            }
        }
    }

    #[test]
    fn plain_copy_agrees_with_the_escape_table_at_every_length_and_position() {
        for byte in 0..=255u8 {
            let needs = byte >= 0x80 || ESCAPES[usize::from(byte)] != 0;
            assert_eq!(SPECIAL[usize::from(byte)] == 1, needs, "{byte:#x}");
            for len in 1..28 {
                for position in 0..len {
                    let mut text = vec![b'a'; len];
                    text[position] = byte;
                    let mut out = b"{".to_vec();
                    let plain = copy_if_plain(&mut out, &text);
                    assert_eq!(plain, !needs, "{byte:#x} at {position} of {len}");
                    // Copied whole, or not at all.
                    let expected = if plain {
                        [&b"{"[..], &text].concat()
                    } else {
                        b"{".to_vec()
                    };
                    assert_eq!(out, expected, "{byte:#x} at {position} of {len}");
                }
            }
        }
        let mut out = Vec::new();
        assert!(copy_if_plain(&mut out, b""));
        assert!(out.is_empty());
    }
}
