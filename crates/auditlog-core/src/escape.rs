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
/// above (the "has a byte less than / equal to" bit tricks; no false negatives).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    let quote = has_zero(word ^ (ONES * u64::from(b'"')));
    let backslash = has_zero(word ^ (ONES * u64::from(b'\\')));
    let delete = has_zero(word ^ (ONES * 0x7f));
    (control | quote | backslash | delete | (word & HIGH)) != 0
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
}
