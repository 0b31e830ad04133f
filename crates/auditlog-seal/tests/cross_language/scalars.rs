//! Scalar JSON text: whitespace, strings spelled every way a producer
//! might, integers and doubles across every notation range.

use std::fmt::Write as _;

use auditlog_testkit::rng::Rng;

/// Characters worth escaping or not escaping.
pub(crate) const SPECIAL_CHARS: &[char] = &[
    '"',
    '\\',
    '/',
    '\u{0}',
    '\u{8}',
    '\u{9}',
    '\u{a}',
    '\u{c}',
    '\u{d}',
    '\u{1b}',
    '\u{1f}',
    ' ',
    '~',
    '\u{7f}',
    '\u{80}',
    '\u{85}',
    '\u{a0}',
    '\u{e9}',
    '\u{ff}',
    '\u{100}',
    '\u{301}',
    '\u{7ff}',
    '\u{800}',
    '\u{2028}',
    '\u{2029}',
    '\u{4e2d}',
    '\u{d7ff}',
    '\u{e000}',
    '\u{feff}',
    '\u{fffd}',
    '\u{fffe}',
    '\u{ffff}',
    '\u{10000}',
    '\u{1d11e}',
    '\u{1f600}',
    '\u{10ffff}',
];

/// Doubles at the edges of each notation range, of precision and of the
/// format.
#[allow(clippy::excessive_precision)]
pub(crate) const FLOATS: &[f64] = &[
    0.0,
    -0.0,
    1.0,
    -1.0,
    100.0,
    0.1,
    0.2,
    0.30000000000000004,
    1.0 / 3.0,
    0.0001,
    0.00009999999999999999,
    0.00001,
    1e-5,
    1.5e-5,
    0.000123,
    1e15,
    999999999999999.9,
    9999999999999998.0,
    1e16,
    1.0000000000000002e16,
    12345678901234567.0,
    1234567890123456.7,
    9007199254740992.0,
    9007199254740993.0,
    1e21,
    1e22,
    1e23,
    1.5e300,
    -2.5e-7,
    5e-324,
    -5e-324,
    1e-323,
    2.225073858507201e-308,
    2.2250738585072014e-308,
    f64::MIN_POSITIVE,
    f64::MAX,
    f64::MIN,
    f64::EPSILON,
    123456789.123,
    42.5,
    -42.5,
    // Two shortest spellings equally near (Python picks the even digit).
    1125899906842624.25,
    1125899906842624.75,
    562949953421312.125,
    562949953421312.375,
    1609378923510908.25,
    2883810.57470703125,
    87409918.994140625,
];

/// Writes scalar values, spelled at random.
pub(crate) struct Scalars {
    pub(crate) rng: Rng,
}

impl Scalars {
    /// JSON whitespace between tokens: mostly none, sometimes spaces and tabs.
    /// (Never CR or LF: the reference reads the input line by line.)
    pub(crate) fn ws(&mut self) -> &'static str {
        if self.rng.chance(90) {
            ""
        } else {
            self.rng.pick(&[" ", "\t", "  ", " \t "])
        }
    }

    pub(crate) fn char(&mut self) -> char {
        match self.rng.below(10) {
            0..=4 => self
                .rng
                .pick(&['a', 'b', 'x', 'Z', '0', '9', '-', '.', ' ', ':']),
            5 | 6 => self.rng.pick(SPECIAL_CHARS),
            7 => char::from_u32(self.rng.range(0, 0x7f) as u32).unwrap(),
            8 => loop {
                if let Some(c) = char::from_u32(self.rng.range(0x80, 0xffff) as u32) {
                    break c;
                }
            },
            _ => char::from_u32(self.rng.range(0x10000, 0x10ffff) as u32).unwrap(),
        }
    }

    pub(crate) fn text(&mut self) -> String {
        let len = self.rng.pick(&[0, 1, 1, 2, 3, 5, 8, 13]);
        (0..len).map(|_| self.char()).collect()
    }

    /// A value a real service would send.
    pub(crate) fn plausible(&mut self) -> String {
        match self.rng.below(6) {
            0 => format!(
                "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                self.rng.next() as u32,
                self.rng.next() as u16,
                self.rng.next() & 0xfff,
                self.rng.next() & 0xfff,
                self.rng.next() & 0xffff_ffff_ffff
            ),
            1 => format!(
                "2026-11-{:02}T{:02}:{:02}:{:02}.{:06}+00:00",
                self.rng.range(1, 30),
                self.rng.below(24),
                self.rng.below(60),
                self.rng.below(60),
                self.rng.below(1_000_000)
            ),
            2 => self
                .rng
                .pick(&["INFO", "WARNING", "ERROR", "SUCCESS", "FAILURE"])
                .into(),
            3 => self
                .rng
                .pick(&["GET", "POST", "DELETE", "1.0", "v1"])
                .into(),
            4 => format!("{:064x}", u128::from(self.rng.next()) << 64),
            _ => "Mozilla/5.0 (X11; Linux x86_64) \u{e9}\u{1f600}".into(),
        }
    }

    /// A JSON string literal for `s`, each character spelled raw or escaped
    /// at random (always escaped where JSON requires it).
    pub(crate) fn literal(&mut self, s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            let escape = self.rng.chance(30);
            let upper = self.rng.chance(50);
            let hex = |out: &mut String, unit: u32| {
                if upper {
                    write!(out, "\\u{unit:04X}").unwrap();
                } else {
                    write!(out, "\\u{unit:04x}").unwrap();
                }
            };
            match c {
                '"' if !escape => out.push_str("\\\""),
                '\\' if !escape => out.push_str("\\\\"),
                '/' if escape && self.rng.chance(50) => out.push_str("\\/"),
                '\u{8}' | '\u{9}' | '\u{a}' | '\u{c}' | '\u{d}' if !escape => {
                    out.push_str(match c {
                        '\u{8}' => "\\b",
                        '\u{9}' => "\\t",
                        '\u{a}' => "\\n",
                        '\u{c}' => "\\f",
                        _ => "\\r",
                    })
                }
                c if (c as u32) < 0x20 || escape || c == '"' || c == '\\' => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        hex(&mut out, u32::from(*unit));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    pub(crate) fn string_value(&mut self) -> String {
        let s = if self.rng.chance(25) {
            self.plausible()
        } else {
            self.text()
        };
        self.literal(&s)
    }

    /// An optional string field: null, empty, or a string.
    pub(crate) fn optional_string(&mut self) -> String {
        match self.rng.below(10) {
            0 => "null".into(),
            1 => "\"\"".into(),
            _ => self.string_value(),
        }
    }

    pub(crate) fn digits(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        s.push(char::from(b'1' + self.rng.below(9) as u8));
        for _ in 1..n {
            s.push(char::from(b'0' + self.rng.below(10) as u8));
        }
        s
    }

    pub(crate) fn integer(&mut self) -> String {
        let sign = if self.rng.chance(40) { "-" } else { "" };
        let body = match self.rng.below(8) {
            0 => return self.rng.pick(&["0", "-0", "1", "-1"]).into(),
            1 => {
                return self
                    .rng
                    .pick(&[
                        "9223372036854775807",
                        "-9223372036854775808",
                        "9223372036854775808",
                        "-9223372036854775809",
                        "18446744073709551615",
                        "18446744073709551616",
                        "9007199254740993",
                        "123456789012345678901234",
                    ])
                    .into()
            }
            2 | 3 => self.rng.below(1000).to_string(),
            4 => (self.rng.next() >> self.rng.below(64)).to_string(),
            5 | 6 => {
                let n = self.rng.range(19, 45);
                self.digits(n)
            }
            _ => {
                let n = self.rng.range(46, 400);
                self.digits(n)
            }
        };
        format!("{sign}{body}")
    }

    /// A finite double to spell.
    pub(crate) fn double(&mut self) -> f64 {
        loop {
            let value = match self.rng.below(4) {
                0 => self.rng.pick(FLOATS),
                1 => f64::from_bits(self.rng.next()),
                2 => {
                    // Decimal magnitudes across the whole range.
                    let mantissa = (self.rng.next() >> 11) as f64 / (1u64 << 53) as f64;
                    let exponent = self.rng.range(0, 640) as i32 - 330;
                    mantissa * 10f64.powi(exponent)
                }
                _ => {
                    // Small "round" numbers: 0.5, 250.0, 1e-3...
                    let n = self.rng.below(2000) as f64;
                    n / self.rng.pick(&[1.0, 2.0, 4.0, 10.0, 1000.0, 1e6])
                }
            };
            if value.is_finite() {
                return if self.rng.chance(20) { -value } else { value };
            }
        }
    }

    /// The text of a non-integer JSON number (it has `.`, `e` or `E`),
    /// spelled in one of many ways. Never overflows a double.
    pub(crate) fn float(&mut self) -> String {
        if self.rng.chance(15) {
            return self.float_text();
        }
        let value = self.double();
        let text = match self.rng.below(7) {
            0 => format!("{value:?}"),
            1 => format!("{value:e}"),
            2 => format!("{value:E}"),
            3 => {
                let precision = self.rng.range(0, 25);
                format!("{value:.precision$e}")
            }
            4 if value.abs() < 1e30 && (value == 0.0 || value.abs() > 1e-30) => {
                let precision = self.rng.range(1, 40);
                format!("{value:.precision$}")
            }
            5 => {
                // Explicit `+` and zero-padded exponents.
                let text = format!("{value:e}");
                let (mantissa, exponent) = text.split_once('e').unwrap();
                let exponent: i32 = exponent.parse().unwrap();
                let sign = if exponent < 0 {
                    "-"
                } else {
                    self.rng.pick(&["+", ""])
                };
                let e = self.rng.pick(&["e", "E"]);
                format!("{mantissa}{e}{sign}{:03}", exponent.abs())
            }
            _ => format!("{value:?}"),
        };
        debug_assert!(text.contains(['.', 'e', 'E']), "{text}");
        // Fewer digits can round up past the largest double: stay clear of
        // overflow, a deliberate difference from Python.
        if text.parse::<f64>().is_ok_and(f64::is_finite) {
            text
        } else {
            format!("{value:?}")
        }
    }

    /// Number text made up digit by digit: long mantissas (rounding),
    /// underflow to zero, odd but valid spellings.
    pub(crate) fn float_text(&mut self) -> String {
        loop {
            let text = match self.rng.below(6) {
                0 => self
                    .rng
                    .pick(&[
                        "1E5",
                        "1e5",
                        "1e-5",
                        "1E-05",
                        "1e+16",
                        "1e16",
                        "100.0",
                        "100.00000",
                        "-0.0",
                        "0.0",
                        "-0e0",
                        "0e0",
                        "0E-0",
                        "0.0e-999",
                        "-0.0E+10",
                        "1e-400",
                        "-1e-400",
                        "2.4703282292062327e-324",
                        "2.4703282292062328e-324",
                        "1.7976931348623157e308",
                        "1.7976931348623158e308",
                        "4.9406564584124654e-324",
                        "9007199254740993.0",
                        "0.1000000000000000055511151231257827",
                        "1.00000000000000011102230246251565404236316680908203125",
                        "1.00000000000000011102230246251565404236316680908203124",
                        "1.00000000000000011102230246251565404236316680908203126",
                    ])
                    .into(),
                1 => {
                    let n = self.rng.range(1, 40);
                    let m = self.rng.range(1, 40);
                    format!("{}.{}", self.digits(n), self.digits(m))
                }
                2 => {
                    let n = self.rng.range(1, 30);
                    let exponent = self.rng.range(0, 700) as i64 - 350;
                    format!("{}e{exponent}", self.digits(n))
                }
                3 => {
                    let n = self.rng.range(1, 25);
                    format!("0.{}{}", "0".repeat(self.rng.below(330)), self.digits(n))
                }
                4 => {
                    let n = self.rng.range(1, 5);
                    format!("{}.0", self.digits(n))
                }
                _ => {
                    let n = self.rng.range(1, 20);
                    let m = self.rng.range(1, 20);
                    let exponent = self.rng.range(0, 40) as i64 - 20;
                    format!("{}.{}E{exponent:+}", self.digits(n), self.digits(m))
                }
            };
            // Overflow is a deliberate difference from Python: stay clear of it.
            if text.parse::<f64>().is_ok_and(f64::is_finite) {
                let sign = if self.rng.chance(20) && !text.starts_with('-') {
                    "-"
                } else {
                    ""
                };
                return format!("{sign}{text}");
            }
        }
    }
}
