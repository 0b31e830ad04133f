//! Cross-language conformance: thousands of generated events, written as raw
//! JSON text, canonicalized, hashed and signed by this crate and by the Python
//! reference (`shared/reference/oracle.py`, one subprocess for all of them),
//! compared byte for byte.
//!
//! The generator is seeded, so every run checks the same events. It spells
//! numbers and strings the way a foreign producer might (`1E5`, `-0`,
//! `\u00E9`, raw UTF-8, `\/`, surrogate pairs), adds members the
//! model does not know, and nests empties at every depth. It stays inside the
//! inputs where we deliberately differ from Python (NaN, Infinity, doubles
//! that overflow, lone surrogates, integers beyond Python's 4300 digits, and
//! pydantic's lax `"yes"`-is-true booleans; see docs/wire-format.md).
//!
//! A few percent of the lines are invalid (wrong types, malformed JSON): both
//! sides must reject those. A few repeat a key: Python keeps the last value,
//! we refuse the event (readers disagree on which value counts).
//!
//! Then every event both sides sealed is sealed by the Python library as it
//! publishes (`to_json()` with `security`): that line must verify here under
//! the strict default and equal what we publish, byte for byte.
//!
//! Needs `python3` with `pydantic>=2` (`pip install 'pydantic>=2'`). Set
//! `AUDITLOG_SKIP_ORACLE=1` to skip, with a notice, where they are missing.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use auditlog_core::AuditEvent;
use auditlog_seal::{compute_hash, seal_to_json, sign, verify_json, SigningKey};

/// Fixed: the same events on every run and every machine.
const SEED: u64 = 0x00c0_ffee_a0d1_7109;
/// How many lines to generate (valid and invalid).
const LINES: usize = 12_000;
/// A signing key outside ASCII, so its UTF-8 encoding is checked too.
const KEY: &str = "fixture-k\u{e9}y-\u{1f511}";

// ---------------------------------------------------------------------------
// A small deterministic generator (SplitMix64).
// ---------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (the modulo bias is irrelevant here).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn range(&mut self, low: usize, high_inclusive: usize) -> usize {
        low + self.below(high_inclusive - low + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

// ---------------------------------------------------------------------------
// Raw JSON text of events.
// ---------------------------------------------------------------------------

/// What a model field holds, for generating it (and its duplicates).
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Groups,
    Payload,
    Bool,
    Section(&'static [(&'static str, Kind)]),
}

const SUBJECT: &[(&str, Kind)] = &[
    ("userid", Kind::Str),
    ("type", Kind::Str),
    ("groups", Kind::Groups),
];
const KUBERNETES: &[(&str, Kind)] = &[
    ("namespacename", Kind::Str),
    ("podname", Kind::Str),
    ("containername", Kind::Str),
    ("nodename", Kind::Str),
];
const OBJECTREF: &[(&str, Kind)] = &[
    ("resource", Kind::Str),
    ("resourceid", Kind::Str),
    ("apiversion", Kind::Str),
];
const ACTION: &[(&str, Kind)] = &[
    ("name", Kind::Str),
    ("method", Kind::Str),
    ("severity", Kind::Str),
    ("status", Kind::Str),
];
const NETWORK: &[(&str, Kind)] = &[("sourceip", Kind::Str), ("useragent", Kind::Str)];
const METADATA: &[(&str, Kind)] = &[
    ("issensitive", Kind::Bool),
    ("compliancecategory", Kind::Str),
];
const EVENTDATA: &[(&str, Kind)] = &[
    ("requestpayload", Kind::Payload),
    ("responsepayload", Kind::Payload),
    ("metadata", Kind::Section(METADATA)),
];
const SECURITY: &[(&str, Kind)] = &[("hash", Kind::Str), ("signature", Kind::Str)];
const EVENT: &[(&str, Kind)] = &[
    ("id", Kind::Str),
    ("specversion", Kind::Str),
    ("timestamp", Kind::Str),
    ("traceid", Kind::Str),
    ("transactionid", Kind::Str),
    ("tenantid", Kind::Str),
    ("subject", Kind::Section(SUBJECT)),
    ("kubernetes", Kind::Section(KUBERNETES)),
    ("objectref", Kind::Section(OBJECTREF)),
    ("action", Kind::Section(ACTION)),
    ("network", Kind::Section(NETWORK)),
    ("eventdata", Kind::Section(EVENTDATA)),
    ("security", Kind::Section(SECURITY)),
];

/// Keys chosen to exercise code point ordering: ASCII around the letters,
/// Latin-1, the top of the BMP (which sorts before astral characters by code
/// point but after them in UTF-16), astral characters, the empty key.
const KEYS: &[&str] = &[
    "a",
    "b",
    "A",
    "Z",
    "_",
    "~",
    "aa",
    "ab",
    "a b",
    "0",
    "10",
    "9",
    "",
    "e",
    "\u{e9}",
    "E\u{301}",
    "\u{7f}",
    "\u{0}",
    "a\u{0}",
    "\u{1f}",
    "\u{e000}",
    "\u{fb01}",
    "\u{ff61}",
    "\u{fffd}",
    "\u{ffff}",
    "\u{10000}",
    "\u{1f600}",
    "\u{1f511}",
    "\u{10ffff}",
    "id",
    "name",
    "groups",
    "security",
    "issensitive",
    "\"",
    "\\",
    "/",
    "a.b",
    "[0]",
];

/// Characters worth escaping or not escaping.
const SPECIAL_CHARS: &[char] = &[
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
const FLOATS: &[f64] = &[
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

struct Gen {
    rng: Rng,
}

impl Gen {
    /// JSON whitespace between tokens: mostly none, sometimes spaces and tabs.
    /// (Never CR or LF: the reference reads the input line by line.)
    fn ws(&mut self) -> &'static str {
        if self.rng.chance(90) {
            ""
        } else {
            self.rng.pick(&[" ", "\t", "  ", " \t "])
        }
    }

    fn char(&mut self) -> char {
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

    fn text(&mut self) -> String {
        let len = self.rng.pick(&[0, 1, 1, 2, 3, 5, 8, 13]);
        (0..len).map(|_| self.char()).collect()
    }

    /// A value a real service would send.
    fn plausible(&mut self) -> String {
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
    fn literal(&mut self, s: &str) -> String {
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

    fn string_value(&mut self) -> String {
        let s = if self.rng.chance(25) {
            self.plausible()
        } else {
            self.text()
        };
        self.literal(&s)
    }

    /// An optional string field: null, empty, or a string.
    fn optional_string(&mut self) -> String {
        match self.rng.below(10) {
            0 => "null".into(),
            1 => "\"\"".into(),
            _ => self.string_value(),
        }
    }

    fn digits(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        s.push(char::from(b'1' + self.rng.below(9) as u8));
        for _ in 1..n {
            s.push(char::from(b'0' + self.rng.below(10) as u8));
        }
        s
    }

    fn integer(&mut self) -> String {
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
    fn double(&mut self) -> f64 {
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
    fn float(&mut self) -> String {
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
    fn float_text(&mut self) -> String {
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

    /// Null, `""`, `[]`, `{}` or an object of those, nested: all of it
    /// prunes away inside an object and stays (pruned) inside an array.
    fn empty(&mut self, depth: u32) -> String {
        let options = if depth > 3 { 4 } else { 6 };
        match self.rng.below(options) {
            0 => "null".into(),
            1 => "\"\"".into(),
            2 => format!("[{}]", self.ws()),
            3 => format!("{{{}}}", self.ws()),
            _ => {
                let n = self.rng.range(1, 3);
                let members = (0..n)
                    .map(|_| (self.key(), self.empty(depth + 1)))
                    .collect();
                self.object(members)
            }
        }
    }

    fn key(&mut self) -> String {
        if self.rng.chance(70) {
            self.rng.pick(KEYS).into()
        } else {
            self.text()
        }
    }

    /// Any payload value.
    fn value(&mut self, depth: u32) -> String {
        let options = if depth >= 4 { 7 } else { 10 };
        match self.rng.below(options) {
            0 => "null".into(),
            1 => self.rng.pick(&["true", "false"]).into(),
            2 => self.integer(),
            3 => self.float(),
            4 | 5 => self.string_value(),
            6 => self.empty(depth),
            7 => {
                let n = self.rng.range(0, 4);
                let items: Vec<String> = (0..n).map(|_| self.value(depth + 1)).collect();
                let sep = format!("{},{}", self.ws(), self.ws());
                format!("[{}{}{}]", self.ws(), items.join(&sep), self.ws())
            }
            _ => self.payload(depth + 1),
        }
    }

    fn payload(&mut self, depth: u32) -> String {
        if self.rng.chance(10) {
            return format!("{{{}}}", self.ws());
        }
        let n = self.rng.range(1, 5);
        let mut members: Vec<(String, String)> =
            (0..n).map(|_| (self.key(), self.value(depth))).collect();
        if self.rng.chance(3) {
            // A repeated key: Python keeps the last, we refuse the event.
            let i = self.rng.below(members.len());
            let decoy = (members[i].0.clone(), self.value(depth));
            members.insert(i, decoy);
        }
        self.object_in_order(members)
    }

    /// Writes members in a random order.
    fn object(&mut self, mut members: Vec<(String, String)>) -> String {
        self.rng.shuffle(&mut members);
        self.object_in_order(members)
    }

    /// Writes members in the given order, so that repeated keys keep theirs.
    fn object_in_order(&mut self, members: Vec<(String, String)>) -> String {
        let mut out = String::from("{");
        out.push_str(self.ws());
        for (i, (key, value)) in members.iter().enumerate() {
            if i > 0 {
                out.push_str(self.ws());
                out.push(',');
                out.push_str(self.ws());
            }
            let key = self.literal(key);
            out.push_str(&key);
            out.push_str(self.ws());
            out.push(':');
            out.push_str(self.ws());
            out.push_str(value);
        }
        out.push_str(self.ws());
        out.push('}');
        out
    }

    fn field(&mut self, kind: Kind) -> String {
        match kind {
            Kind::Str => self.optional_string(),
            Kind::Bool => self.rng.pick(&["true", "false"]).into(),
            Kind::Groups => {
                let n = self.rng.pick(&[0, 0, 1, 2, 3]);
                let items: Vec<String> = (0..n)
                    .map(|_| {
                        if self.rng.chance(15) {
                            "\"\"".into()
                        } else {
                            self.string_value()
                        }
                    })
                    .collect();
                format!("[{}]", items.join(","))
            }
            Kind::Payload => self.payload(1),
            Kind::Section(fields) => match self.rng.below(10) {
                0 => "null".into(),
                1 => format!("{{{}}}", self.ws()),
                _ => self.fields(fields, 55),
            },
        }
    }

    /// An object with a random subset of `fields`, sometimes with members
    /// the model does not know and with repeated keys.
    fn fields(&mut self, fields: &[(&str, Kind)], percent: u64) -> String {
        let mut members = Vec::new();
        for &(name, kind) in fields {
            if self.rng.chance(percent) {
                members.push((name.to_owned(), kind));
            }
        }
        let mut members: Vec<(String, String)> = members
            .into_iter()
            .map(|(name, kind)| {
                let value = self.field(kind);
                (name, value)
            })
            .collect();
        if self.rng.chance(8) {
            // Unknown to the model: ignored by both sides.
            let key = format!("x-{}", self.text());
            let value = self.value(2);
            members.push((key, value));
        }
        self.rng.shuffle(&mut members);
        if !members.is_empty() && self.rng.chance(2) {
            // A repeated key with a value of the right type: Python keeps the
            // last, we refuse the event.
            let i = self.rng.below(members.len());
            let name = members[i].0.clone();
            if let Some(&(_, kind)) = fields.iter().find(|(n, _)| *n == name) {
                let decoy = self.field(kind);
                members.insert(self.rng.below(i + 1), (name, decoy));
            }
        }
        self.object_in_order(members)
    }

    fn event(&mut self) -> String {
        let event = self.fields(EVENT, 50);
        format!("{}{event}{}", self.ws(), self.ws())
    }

    /// An event both sides must reject.
    fn invalid(&mut self) -> String {
        if self.rng.chance(50) {
            // A valid event whose last member has the wrong type.
            let (key, value) = self.rng.pick(&[
                ("id", "1"),
                ("id", "true"),
                ("tenantid", "[]"),
                ("timestamp", "{}"),
                ("subject", "\"x\""),
                ("subject", "[]"),
                ("subject", r#"{"groups":null}"#),
                ("subject", r#"{"groups":"a"}"#),
                ("subject", r#"{"groups":["a",1]}"#),
                ("subject", r#"{"groups":[null]}"#),
                ("subject", r#"{"userid":1.5}"#),
                ("eventdata", r#"{"requestpayload":null}"#),
                ("eventdata", r#"{"responsepayload":[]}"#),
                ("eventdata", r#"{"requestpayload":"x"}"#),
                ("eventdata", r#"{"metadata":{"issensitive":null}}"#),
                ("eventdata", r#"{"metadata":{"issensitive":"maybe"}}"#),
                ("eventdata", r#"{"metadata":{"issensitive":2}}"#),
                ("eventdata", r#"{"metadata":{"issensitive":[]}}"#),
                ("eventdata", r#"{"metadata":[]}"#),
                ("eventdata", r#"{"metadata":{"compliancecategory":7}}"#),
                ("eventdata", "0"),
                ("action", "1"),
                ("action", r#"{"name":5}"#),
                ("network", r#"{"sourceip":false}"#),
                ("security", r#"{"hash":1}"#),
                ("kubernetes", r#"{"podname":{}}"#),
                ("objectref", r#"{"resource":["a"]}"#),
            ]);
            let valid = self.event();
            let valid = valid.trim();
            let inner = valid[1..valid.len() - 1].trim();
            let comma = if inner.is_empty() { "" } else { "," };
            return format!(r#"{{{inner}{comma}"{key}":{value}}}"#);
        }
        match self.rng.below(4) {
            0 => {
                // Cut short.
                let valid = self.event();
                let valid = valid.trim();
                valid[..valid.len() - 1].to_owned()
            }
            1 => {
                let valid = self.event();
                format!("{},", valid.trim())
            }
            2 => {
                let valid = self.event();
                format!("{} {{}}", valid.trim())
            }
            _ => self
                .rng
                .pick(&[
                    "[]",
                    "\"event\"",
                    "42",
                    "null",
                    r#"{"id":"x",}"#,
                    r#"{"id":"x""#,
                    "{\"id\":\"a\tb\"}",
                    "{\"id\":\"a\u{1}b\"}",
                    r#"{"id":"\x"}"#,
                    r#"{"id":"\u12"}"#,
                    r#"{'id':'x'}"#,
                    r#"{"eventdata":{"requestpayload":{"a":01}}}"#,
                    r#"{"eventdata":{"requestpayload":{"a":1.}}}"#,
                    r#"{"eventdata":{"requestpayload":{"a":.5}}}"#,
                    r#"{"eventdata":{"requestpayload":{"a":+1}}}"#,
                    r#"{"eventdata":{"requestpayload":{"a":1e}}}"#,
                    r#"{"eventdata":{"requestpayload":{"a":-}}}"#,
                    r#"{"eventdata":{"requestpayload":{"a":0x10}}}"#,
                    r#"{"eventdata":{"requestpayload":{"a":[1,]}}}"#,
                    r#"{"eventdata":{"requestpayload":{"a" 1}}}"#,
                    r#"{"eventdata":{"requestpayload":{"a":tru}}}"#,
                    r#"{"action":{"name":"x"}"#,
                ])
                .into(),
        }
    }
}

// ---------------------------------------------------------------------------
// Both sides.
// ---------------------------------------------------------------------------

#[derive(Debug, PartialEq)]
enum Outcome {
    Sealed {
        canonical: String,
        hash: String,
        signature: String,
    },
    /// Rejected; the reason is for the report only (the two sides word it
    /// differently).
    Rejected(String),
}

impl Outcome {
    fn agrees_with(&self, other: &Outcome) -> bool {
        match (self, other) {
            (Outcome::Rejected(_), Outcome::Rejected(_)) => true,
            _ => self == other || self.is_stricter_than(other),
        }
    }

    /// We refuse a repeated key on purpose, where Python keeps the last
    /// value: readers disagree on which counts (docs/wire-format.md).
    fn is_stricter_than(&self, other: &Outcome) -> bool {
        matches!(
            (self, other),
            (Outcome::Rejected(reason), Outcome::Sealed { .. }) if reason.contains("duplicate key")
        )
    }
}

fn ours(line: &str, key: &SigningKey) -> Outcome {
    match AuditEvent::parse(line) {
        Ok(parsed) => {
            let hash = compute_hash(&parsed.event);
            Outcome::Sealed {
                canonical: parsed.event.canonical_json(),
                signature: sign(&hash, key),
                hash,
            }
        }
        Err(error) => Outcome::Rejected(error.to_string()),
    }
}

fn theirs(line: &str) -> Outcome {
    let value: serde_json::Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("the oracle printed something that is not JSON ({e}): {line}"));
    if let Some(error) = value.get("error") {
        return Outcome::Rejected(error.to_string());
    }
    let field = |name: &str| {
        value[name]
            .as_str()
            .unwrap_or_else(|| panic!("the oracle's line has no {name}: {line}"))
            .to_owned()
    };
    Outcome::Sealed {
        canonical: field("canonical"),
        hash: field("hash"),
        signature: field("signature"),
    }
}

fn reference_dir() -> PathBuf {
    std::env::var_os("AUDITLOG_PYTHON_REFERENCE")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference")
        })
}

/// Why the oracle cannot run here, if it cannot.
fn oracle_missing(oracle: &std::path::Path) -> Option<String> {
    if !oracle.exists() {
        return Some(format!(
            "the Python reference is not at {} (set AUDITLOG_PYTHON_REFERENCE to its directory)",
            oracle.display()
        ));
    }
    let check = Command::new("python3")
        .args([
            "-c",
            "import sys, pydantic; sys.exit(int(pydantic.VERSION.split('.')[0]) < 2)",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match check {
        Err(e) => Some(format!(
            "python3 cannot be run ({e}): install Python 3, then `pip install 'pydantic>=2'`"
        )),
        Ok(status) if !status.success() => Some(
            "python3 has no pydantic 2: install it with `pip install 'pydantic>=2'`".to_owned(),
        ),
        Ok(_) => None,
    }
}

/// Runs the oracle once over all lines.
fn oracle(oracle: &std::path::Path, input: String) -> Vec<String> {
    python(&[oracle.as_os_str(), KEY.as_ref()], input)
}

/// Seals each line with the Python reference and prints what it publishes:
/// `to_json()` with the `security` block.
const PYTHON_SEALER: &str = r#"
import json, sys
sys.path.insert(0, sys.argv[1])
from models import AuditLogEvent
from security import seal
for line in sys.stdin:
    event = AuditLogEvent.model_validate(json.loads(line))
    print(seal(event, sys.argv[2]).to_json())
"#;

/// Runs `python3 ARGS` with `input` on stdin; its output lines.
fn python(args: &[&std::ffi::OsStr], input: String) -> Vec<String> {
    let mut child = Command::new("python3")
        .args(args)
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONUTF8", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("the oracle runs");
    writer
        .join()
        .unwrap()
        .expect("the oracle reads all its input");
    assert!(
        output.status.success(),
        "python3 {args:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("python prints UTF-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Substrings the canonical texts must contain somewhere, so that the
/// generator is known to reach each rule of the spec.
const MUST_COVER: &[&str] = &[
    "\\u007f",
    "\\u0000",
    "\\u00e9",
    "\\ud83d\\ude00",
    "\\uffff",
    "\\udbff\\udfff",
    "\\u2028",
    "\\\\",
    "\\\"",
    "\\n",
    "/",
    "e-05",
    "e+16",
    "e+308",
    "5e-324",
    "-0.0",
    "1000000000000000.0",
    "0.0001",
    "100.0",
    "123456789012345678901234",
    "-9223372036854775809",
    "[null,",
    "\"\"]",
    "{}]",
    "[]",
    "\"issensitive\":false",
    "\"issensitive\":true",
    "\"groups\":[",
    "\"requestpayload\":{",
    "\"responsepayload\":{",
    "\"subject\":{",
    "\"kubernetes\":{",
    "\"objectref\":{",
    "\"action\":{",
    "\"network\":{",
    "\"specversion\":",
    "\"transactionid\":",
];

#[test]
fn generated_events_match_the_python_reference_byte_for_byte() {
    let oracle_path = reference_dir().join("oracle.py");
    if let Some(why) = oracle_missing(&oracle_path) {
        if std::env::var("AUDITLOG_SKIP_ORACLE").as_deref() == Ok("1") {
            eprintln!("SKIPPED the cross-language test (AUDITLOG_SKIP_ORACLE=1): {why}");
            return;
        }
        panic!(
            "the cross-language test needs the Python reference: {why}. \
             Set AUDITLOG_SKIP_ORACLE=1 to skip it."
        );
    }

    let mut generator = Gen { rng: Rng(SEED) };
    let lines: Vec<String> = (0..LINES)
        .map(|_| {
            if generator.rng.chance(4) {
                generator.invalid()
            } else {
                generator.event()
            }
        })
        .collect();
    for line in &lines {
        assert!(
            !line.contains(['\n', '\r']) && !line.trim().is_empty(),
            "the generator must write one event per line: {line:?}"
        );
    }
    let input: String = lines.iter().map(|line| format!("{line}\n")).collect();
    // Kept for reproducing a failure by hand:
    //   python3 shared/reference/oracle.py KEY < target/tmp/cross_language.jsonl
    let corpus = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cross_language.jsonl");
    std::fs::write(&corpus, &input).expect("the corpus can be written");

    let key = SigningKey::new(KEY).unwrap();
    let started = std::time::Instant::now();
    let ours: Vec<Outcome> = lines.iter().map(|line| ours(line, &key)).collect();
    let ours_took = started.elapsed();
    let started = std::time::Instant::now();
    let theirs: Vec<Outcome> = oracle(&oracle_path, input)
        .iter()
        .map(|line| theirs(line))
        .collect();
    let theirs_took = started.elapsed();
    assert_eq!(
        theirs.len(),
        lines.len(),
        "the oracle printed one line per event"
    );

    let mismatches: Vec<usize> = ours
        .iter()
        .zip(&theirs)
        .enumerate()
        .filter(|(_, (a, b))| !a.agrees_with(b))
        .map(|(i, _)| i)
        .collect();
    let sealed = theirs
        .iter()
        .filter(|o| matches!(o, Outcome::Sealed { .. }))
        .count();
    let rejected = lines.len() - sealed;
    let stricter = ours
        .iter()
        .zip(&theirs)
        .filter(|(a, b)| a.is_stricter_than(b))
        .count();
    eprintln!(
        "cross-language: {} lines ({sealed} sealed, {rejected} rejected by the reference, \
         {stricter} refused by us for a repeated key), {} mismatches; ours {:.2?}, \
         the oracle {:.2?}; corpus in {}",
        lines.len(),
        mismatches.len(),
        ours_took,
        theirs_took,
        corpus.display()
    );
    if !mismatches.is_empty() {
        let mut report = String::new();
        for &i in mismatches.iter().take(5) {
            writeln!(
                report,
                "line {}:\n  input:  {}\n  ours:   {:?}\n  oracle: {:?}",
                i + 1,
                lines[i],
                ours[i],
                theirs[i]
            )
            .unwrap();
        }
        panic!(
            "{} of {} events differ from the Python reference; the first:\n{report}",
            mismatches.len(),
            lines.len()
        );
    }

    assert!(
        sealed >= 10_000,
        "at least 10,000 valid events are cross-checked (got {sealed})"
    );
    assert!(rejected >= 100, "invalid events are cross-checked too");
    assert!(
        stricter >= 50,
        "repeated keys are cross-checked ({stricter})"
    );
    assert!(
        sealed - stricter >= 9_000,
        "at least 9,000 events are sealed by both sides (got {})",
        sealed - stricter
    );

    // What the Python library publishes verifies here under the strict
    // default, and is byte for byte what we publish for the same event.
    let both: Vec<&String> = lines
        .iter()
        .zip(&ours)
        .filter(|(_, o)| matches!(o, Outcome::Sealed { .. }))
        .map(|(line, _)| line)
        .collect();
    let input: String = both.iter().map(|line| format!("{line}\n")).collect();
    let reference = reference_dir();
    let published = python(
        &[
            "-c".as_ref(),
            PYTHON_SEALER.as_ref(),
            reference.as_os_str(),
            KEY.as_ref(),
        ],
        input,
    );
    assert_eq!(published.len(), both.len(), "python sealed every line");
    for (line, python_published) in both.iter().zip(&published) {
        let verified = verify_json(python_published, Some(&key));
        assert!(
            verified.is_ok(),
            "a Python-sealed event fails strict verification ({:?}):\n{python_published}",
            verified.err()
        );
        let mut event = AuditEvent::from_json(line).unwrap();
        assert_eq!(
            &seal_to_json(&mut event, Some(&key)),
            python_published,
            "input: {line}"
        );
    }
    let canonicals: Vec<&str> = ours
        .iter()
        .filter_map(|o| match o {
            Outcome::Sealed { canonical, .. } => Some(canonical.as_str()),
            Outcome::Rejected(_) => None,
        })
        .collect();
    let uncovered: Vec<&&str> = MUST_COVER
        .iter()
        .filter(|needle| !canonicals.iter().any(|c| c.contains(**needle)))
        .collect();
    assert!(
        uncovered.is_empty(),
        "the generator no longer reaches: {uncovered:?}"
    );
    assert!(
        canonicals.contains(&"{}"),
        "an event that prunes away entirely"
    );
}
