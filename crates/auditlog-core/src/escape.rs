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
pub(crate) fn write_string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // Most strings of an event need no escaping: check it in one pass with
    // one branch at the end, then copy them whole.
    if is_plain(bytes) {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
    } else {
        write_escaped(out, s);
    }
}

/// True when no byte of `bytes` needs escaping.
fn is_plain(bytes: &[u8]) -> bool {
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"));
    if bytes.len() < 8 {
        return bytes
            .iter()
            .fold(0, |any, &b| any | SPECIAL[usize::from(b)])
            == 0;
    }
    // Whole words, then the last eight bytes (overlapping the words before).
    let mut special = escape_mask(word(bytes.len() - 8));
    let mut at = 0;
    while at + 8 <= bytes.len() {
        special |= escape_mask(word(at));
        at += 8;
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

fn write_escaped(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
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
    out.push(b'"');
}

/// True when any of the eight bytes is below 0x20, `"`, `\\`, or 0x7f and
/// above.
fn needs_escape(word: u64) -> bool {
    escape_mask(word) != 0
}

/// Nonzero when any of the eight bytes needs escaping (the "has a byte less
/// than / equal to" bit tricks; no false negatives).
fn escape_mask(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    let quote = has_zero(word ^ (ONES * u64::from(b'"')));
    let backslash = has_zero(word ^ (ONES * u64::from(b'\\')));
    let delete = has_zero(word ^ (ONES * 0x7f));
    control | quote | backslash | delete | (word & HIGH)
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

    #[test]
    fn plain_check_agrees_with_the_escape_table_at_every_length_and_position() {
        for byte in 0..=255u8 {
            let needs = byte >= 0x80 || ESCAPES[usize::from(byte)] != 0;
            assert_eq!(SPECIAL[usize::from(byte)] == 1, needs, "{byte:#x}");
            for len in 1..20 {
                for position in 0..len {
                    let mut text = vec![b'a'; len];
                    text[position] = byte;
                    assert_eq!(is_plain(&text), !needs, "{byte:#x} at {position} of {len}");
                }
            }
        }
        assert!(is_plain(b""));
    }
}
