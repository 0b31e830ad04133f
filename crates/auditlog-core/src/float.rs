//! Python's `repr(float)`, which the wire format uses for every non-integer number.

use std::io::Write as _;

/// Writes `value` (finite) as Python's `repr` does: the shortest digits that
/// round-trip, plain notation for decimal exponents in `-4..16` (always with a
/// fractional part), scientific with a signed two-digit-minimum exponent otherwise.
pub(crate) fn write_python_repr(value: f64, out: &mut Vec<u8>) {
    debug_assert!(value.is_finite());
    // Rust's `{:e}` finds how many digits round-trip, e.g. `-4.25e1`; but
    // where two spellings of that length are equally near it may take the
    // upper one, while Python takes the nearest (ties to even). Printing
    // exactly that many digits, correctly rounded, gives Python's choice.
    let mut scratch = [0u8; 40];
    let len = {
        let mut cursor = std::io::Cursor::new(&mut scratch[..]);
        write!(cursor, "{value:e}").expect("a double fits in 40 bytes");
        cursor.position() as usize
    };
    let shortest_digits = scratch[..len]
        .iter()
        .take_while(|&&b| b != b'e')
        .filter(|b| b.is_ascii_digit())
        .count();
    let len = {
        let mut cursor = std::io::Cursor::new(&mut scratch[..]);
        let precision = shortest_digits - 1;
        write!(cursor, "{value:.precision$e}").expect("a double fits in 40 bytes");
        cursor.position() as usize
    };
    let text = &scratch[..len];
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let e_at = text
        .iter()
        .position(|&b| b == b'e')
        .expect("exponent marker");
    let exponent: i32 = std::str::from_utf8(&text[e_at + 1..])
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("decimal exponent");
    let mut digits = [0u8; 20];
    let mut n = 0;
    for &b in &text[..e_at] {
        if b != b'.' {
            digits[n] = b;
            n += 1;
        }
    }
    let digits = &digits[..n];

    if negative {
        out.push(b'-');
    }
    if (-4..16).contains(&exponent) {
        if exponent >= 0 {
            let int_len = exponent as usize + 1;
            if digits.len() <= int_len {
                out.extend_from_slice(digits);
                out.resize(out.len() + int_len - digits.len(), b'0');
                out.extend_from_slice(b".0");
            } else {
                out.extend_from_slice(&digits[..int_len]);
                out.push(b'.');
                out.extend_from_slice(&digits[int_len..]);
            }
        } else {
            out.extend_from_slice(b"0.");
            out.resize(out.len() + (-exponent - 1) as usize, b'0');
            out.extend_from_slice(digits);
        }
    } else {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exponent < 0 { b'-' } else { b'+' });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            out.push(b'0');
        }
        write!(out, "{magnitude}").expect("writing to a Vec");
    }
}

#[cfg(test)]
mod tests {
    use super::write_python_repr;

    fn repr(value: f64) -> String {
        let mut out = Vec::new();
        write_python_repr(value, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    // The tie cases are exact binary values, written out in full on purpose.
    #[allow(clippy::excessive_precision)]
    fn matches_python_repr_across_notation_ranges() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (100.0, "100.0"),
            (42.5, "42.5"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000123, "0.000123"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e300, "1.5e+300"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (123456789.123, "123456789.123"),
            (-2.5e-7, "-2.5e-07"),
            (1234567890123456.7, "1234567890123456.8"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            // Two 17-digit spellings equally near: Python takes the even one.
            (2883810.57470703125, "2883810.5747070312"),
            (1125899906842624.25, "1125899906842624.2"),
        ];
        for (value, expected) in cases {
            assert_eq!(repr(value), expected, "repr({value:?})");
        }
    }
}
