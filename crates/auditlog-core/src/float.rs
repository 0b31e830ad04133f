//! Python's `repr(float)`, which the wire format uses for every non-integer number.

/// Writes `value` (finite) as Python's `repr` does: the shortest digits that
/// round-trip, plain notation for decimal exponents in `-4..16` (always with a
/// fractional part), scientific with a signed two-digit-minimum exponent otherwise.
pub(crate) fn write_python_repr(value: f64, out: &mut Vec<u8>) {
    debug_assert!(value.is_finite());
    if write_short_decimal(value, out) {
        return;
    }
    // Ryū picks the digits Python does: the shortest that round-trip and,
    // of two equally near, the even one (Python's `repr` is David Gay's
    // `dtoa` mode 0). Only the notation differs: Ryū writes `1e16`, `1e-7`
    // and `0.00001` where Python writes `1e+16`, `1e-07` and `1e-05`.
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(value).as_bytes();
    let (sign, unsigned) = match text.split_first() {
        Some((b'-', rest)) => (&text[..1], rest),
        _ => (&text[..0], text),
    };
    if let Some(e_at) = unsigned.iter().position(|&b| b == b'e') {
        // `1.5e300` -> `1.5e+300`, `1e-7` -> `1e-07`.
        let (mantissa, exponent) = (&unsigned[..e_at], &unsigned[e_at + 1..]);
        let (exponent_sign, digits) = match exponent.split_first() {
            Some((b'-', digits)) => (b'-', digits),
            _ => (b'+', exponent),
        };
        out.extend_from_slice(sign);
        out.extend_from_slice(mantissa);
        out.push(b'e');
        out.push(exponent_sign);
        if digits.len() < 2 {
            out.push(b'0');
        }
        out.extend_from_slice(digits);
    } else if let Some(digits) = unsigned.strip_prefix(b"0.0000") {
        // Ryū is plain down to 1e-5, Python down to 1e-4: `0.0000123` is
        // `1.23e-05`.
        out.extend_from_slice(sign);
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.extend_from_slice(b"e-05");
    } else {
        out.extend_from_slice(text);
    }
}

/// Writes `value` and returns true when it is a short decimal (`42.5`,
/// `0.25`, `1999.99`, `3.0`: at most four decimals and fifteen significant
/// digits, the prices, ratios and measures of most payloads); otherwise
/// writes nothing. A decimal of at most fifteen significant digits is the
/// only one that short to read as its double (`DBL_DIG`), so when `n / 10^k`
/// reads back as `value`, `n`'s digits are the shortest: Python's.
fn write_short_decimal(value: f64, out: &mut Vec<u8>) -> bool {
    const POWERS: [f64; 5] = [1.0, 10.0, 100.0, 1e3, 1e4];
    let magnitude = value.abs();
    for (decimals, &power) in POWERS.iter().enumerate() {
        let scaled = magnitude * power;
        if scaled >= 1e15 {
            return false;
        }
        let n = scaled as u64;
        // `n` and the power are exact doubles, so the division is the
        // correctly rounded `n / 10^k`: what reading that decimal gives.
        if n as f64 == scaled && n as f64 / power == magnitude {
            write_plain(value.is_sign_negative(), n, decimals, out);
            return true;
        }
    }
    false
}

/// Writes `n / 10^decimals` in plain notation, as Python does: at least one
/// digit before the point and one after it, no trailing zeros.
fn write_plain(negative: bool, mut n: u64, mut decimals: usize, out: &mut Vec<u8>) {
    while decimals > 0 && n.is_multiple_of(10) {
        n /= 10;
        decimals -= 1;
    }
    let mut digits = [b'0'; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let point = digits.len() - decimals;
    if negative {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at.min(point - 1)..point]);
    out.push(b'.');
    if decimals == 0 {
        out.push(b'0');
    } else {
        out.extend_from_slice(&digits[point..]);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::{write_python_repr, write_short_decimal};

    /// The writer this module had before Ryū, kept as an oracle: `core::fmt`
    /// twice (the shortest digits, then exactly that many, correctly rounded).
    fn formatted_twice(value: f64, out: &mut Vec<u8>) {
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

    /// Doubles of every kind: random bit patterns (all exponents,
    /// subnormals), short decimals, powers of ten and their neighbours
    /// around the notation switches, and exact binary fractions whose
    /// decimal expansion is one digit longer than the shortest spelling
    /// (where two spellings can be equally near: the ties).
    fn sample_doubles(count: usize) -> Vec<f64> {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            // xorshift64*: fixed, so every run checks the same doubles.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        let mut doubles = vec![
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
        ];
        doubles.extend([
            5e-324,
            -5e-324,
            f64::from_bits(0x000f_ffff_ffff_ffff),
            0.5,
            1.5,
            2.5,
            9.5,
        ]);
        for exponent in -324..=308 {
            let power: f64 = format!("1e{exponent}").parse().unwrap();
            for value in [
                power,
                f64::from_bits(power.to_bits() + 1),
                f64::from_bits(power.to_bits().saturating_sub(1)),
            ] {
                let near = [value, -value, value * 1.5, value * 9.999_999_999_999_999];
                doubles.extend(near.into_iter().filter(|d| d.is_finite()));
            }
        }
        while doubles.len() < count {
            let bits = next();
            let value = match bits % 4 {
                0 => f64::from_bits(next()),
                1 => {
                    (next() % 1_000_000) as f64
                        / [10.0, 100.0, 1000.0, 1e4, 1e5, 1e6][(bits >> 8) as usize % 6]
                }
                // An exact binary fraction of up to 53 bits: its decimal
                // expansion ends in 5, a tie when one digit too long.
                2 => (next() >> 11) as f64 / (1u64 << (1 + (bits >> 8) % 52)) as f64,
                _ => f64::from_bits(next() >> 11 | (0x3ff0 + (bits >> 8) % 64 - 32) << 48),
            };
            if value.is_finite() {
                doubles.push(if bits & (1 << 40) != 0 { -value } else { value });
            }
        }
        doubles
    }

    #[test]
    fn short_decimals_take_the_short_path() {
        for (value, expected) in [
            (42.5, "42.5"),
            (-3.0, "-3.0"),
            (0.0001, "0.0001"),
            (-0.0, "-0.0"),
        ] {
            let mut out = Vec::new();
            assert!(write_short_decimal(value, &mut out), "{value}");
            assert_eq!(out, expected.as_bytes());
        }
        for value in [0.1 + 0.2, 0.00001, 1e15, 1.0 / 3.0, 123456.00001] {
            assert!(!write_short_decimal(value, &mut Vec::new()), "{value}");
        }
    }

    #[test]
    fn agrees_with_the_core_fmt_writer_it_replaced() {
        let (mut ties, mut short) = (0, 0);
        for value in sample_doubles(200_000) {
            short += usize::from(write_short_decimal(value, &mut Vec::new()));
            let (mut ours, mut oracle) = (Vec::new(), Vec::new());
            write_python_repr(value, &mut ours);
            formatted_twice(value, &mut oracle);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(oracle).unwrap(),
                "{value:e} ({:#x})",
                value.to_bits()
            );
            // Where Rust's own shortest digits differ, the tie-breaking was
            // exercised.
            let shortest = format!("{value:e}");
            let digits = shortest.split('e').next().unwrap().len();
            ties += usize::from(
                format!(
                    "{value:.prec$e}",
                    prec = digits.saturating_sub(if value < 0.0 { 3 } else { 2 })
                ) != shortest,
            );
        }
        assert!(ties > 100, "only {ties} ties among the samples");
        assert!(
            short > 10_000,
            "only {short} short decimals among the samples"
        );
    }

    /// Python itself, one subprocess for all the samples: each double goes
    /// over as its bits, so nothing is rounded on the way.
    #[test]
    fn agrees_with_python_repr() {
        use std::process::{Command, Stdio};
        let script = "import struct, sys\nfor line in sys.stdin:\n    print(repr(struct.unpack('<d', int(line).to_bytes(8, 'little'))[0]))";
        let child = Command::new("python3")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(e) if std::env::var_os("AUDITLOG_SKIP_ORACLE").is_some() => {
                eprintln!("skipped: no python3 ({e}) and AUDITLOG_SKIP_ORACLE is set");
                return;
            }
            Err(e) => panic!("python3 is needed (or set AUDITLOG_SKIP_ORACLE=1): {e}"),
        };
        let doubles = sample_doubles(200_000);
        let input: String = doubles
            .iter()
            .map(|d| format!("{}\n", d.to_bits()))
            .collect();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let output = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(output.status.success(), "python3 failed");
        let theirs = String::from_utf8(output.stdout).unwrap();
        let theirs: Vec<&str> = theirs.lines().collect();
        assert_eq!(theirs.len(), doubles.len());
        for (value, expected) in doubles.iter().zip(theirs) {
            assert_eq!(repr(*value), expected, "{:#x}", value.to_bits());
        }
    }

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
            // Short decimals, and doubles near them that are not.
            (0.5, "0.5"),
            (-0.25, "-0.25"),
            (1999.99, "1999.99"),
            (0.0005, "0.0005"),
            (0.1 + 0.2, "0.30000000000000004"),
            (999999999999999.9, "999999999999999.9"),
            (99999999999999.99, "99999999999999.98"),
            (123456.00001, "123456.00001"),
        ];
        for (value, expected) in cases {
            assert_eq!(repr(value), expected, "repr({value:?})");
        }
    }
}
