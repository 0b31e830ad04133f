//! Attacks on the canonical writer's fast paths (doubles through Ryū and
//! a short-decimal shortcut, strings checked and copied a word at a time):
//! doubles at every edge against Python's `repr` and the Python reference's
//! canonical form of whole events; strings with a byte needing escape at
//! every position of every length, against an escape written one
//! character at a time from the spec.
//!
//! Needs `python3` (and `pydantic>=2` for the reference); set
//! `AUDITLOG_SKIP_ORACLE=1` to skip those parts, with a notice, where they
//! are missing.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use auditlog_core::{AuditEvent, Map, Value};

/// Doubles at the edges: subnormals, the extremes, the notation switches
/// (1e-4/1e-5, 1e15/1e16), 15 to 17 significant digits, short decimals and
/// the doubles next to them, integers past 2^53.
#[allow(clippy::excessive_precision)]
fn edge_doubles() -> Vec<f64> {
    let mut doubles = vec![
        0.0,
        -0.0,
        5e-324,
        -5e-324,
        1e-323,
        f64::from_bits(0x000f_ffff_ffff_ffff),
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        0.1 + 0.2,
        0.1 * 3.0,
        1.0 - 0.9,
        1e22,
        1e23,
        9007199254740993.0,
        9007199254740992.0,
        9007199254740994.0,
        123456789012345.6,
        123456789012345.67,
        12345678901234.567,
        0.123456789012345,
        0.1234567890123456,
        0.12345678901234567,
        999999999999999.0,
        999999999999999.4,
        99999999999999.99,
        9999999999999.999,
        0.0001,
        0.00011,
        0.00009999,
        1.0001,
        1e-4,
        1e-5,
        0.000099999999999999,
        1e15,
        1e15 + 0.5,
        1e16,
        1e16 - 2.0,
        1e17,
        1e21,
        100.0,
        2.5,
        0.3,
        1999.99,
        4.35,
        0.07,
        1.1,
        2.675,
        33.3333,
        1234.5678,
        -1234.5678,
        12345678901.2345,
    ];
    // Each decimal exponent's power and the doubles either side of it.
    for exponent in -324..=308 {
        let power: f64 = format!("1e{exponent}").parse().unwrap();
        for bits in [
            power.to_bits().saturating_sub(1),
            power.to_bits(),
            power.to_bits() + 1,
        ] {
            let value = f64::from_bits(bits);
            if value.is_finite() {
                doubles.extend([value, -value]);
            }
        }
    }
    // Short decimals of four places and fifteen digits, and their
    // neighbours, where the shortcut decides.
    for n in [
        1u64,
        7,
        99,
        12_345,
        99_999_999_999_999,
        100_000_000_000_000 - 1,
    ] {
        for power in [1.0, 10.0, 100.0, 1e3, 1e4, 1e5] {
            let value = n as f64 / power;
            doubles.extend([
                value,
                f64::from_bits(value.to_bits() + 1),
                f64::from_bits(value.to_bits() - 1),
            ]);
        }
    }
    doubles
}

fn python_or_skip(args: &[&std::ffi::OsStr], input: &str) -> Option<Vec<String>> {
    let child = Command::new("python3")
        .args(args)
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONUTF8", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if std::env::var_os("AUDITLOG_SKIP_ORACLE").is_some() => {
            eprintln!("skipped: no python3 ({e}) and AUDITLOG_SKIP_ORACLE is set");
            return None;
        }
        Err(e) => panic!("python3 is needed (or set AUDITLOG_SKIP_ORACLE=1): {e}"),
    };
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        output.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect(),
    )
}

/// The canonical text of an event whose request payload is `{"v": value}`.
fn canonical_with(value: Value) -> String {
    let mut payload = Map::new();
    payload.insert("v".to_owned(), value);
    AuditEvent::builder()
        .tenant_id("edge")
        .request_payload(payload)
        .build()
        .canonical_json()
}

/// The number as the canonical text of an event spells it.
fn written(value: f64) -> String {
    let canonical = canonical_with(Value::from_f64(value));
    let start = canonical.find("{\"v\":").expect("the payload is written") + 5;
    let end = start + canonical[start..].find('}').unwrap();
    canonical[start..end].to_owned()
}

#[test]
fn edge_doubles_are_written_as_python_repr_writes_them() {
    let doubles = edge_doubles();
    let script = "import struct, sys\nfor line in sys.stdin:\n    print(repr(struct.unpack('<d', int(line).to_bytes(8, 'little'))[0]))";
    let input: String = doubles
        .iter()
        .map(|d| format!("{}\n", d.to_bits()))
        .collect();
    let Some(theirs) = python_or_skip(&["-c".as_ref(), script.as_ref()], &input) else {
        return;
    };
    assert_eq!(theirs.len(), doubles.len());
    for (value, expected) in doubles.iter().zip(&theirs) {
        assert_eq!(
            &written(*value),
            expected,
            "{value:e} ({:#x})",
            value.to_bits()
        );
    }
    // The expected spellings of a few, so that the test means something
    // without Python too.
    for (value, expected) in [
        (5e-324, "5e-324"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e22, "1e+22"),
        (1e16, "1e+16"),
        (1e15, "1000000000000000.0"),
        (1e-5, "1e-05"),
        (1e-4, "0.0001"),
        (9007199254740993.0, "9007199254740992.0"),
        (-0.0, "-0.0"),
        (f64::MAX, "1.7976931348623157e+308"),
        (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
    ] {
        assert_eq!(written(value), expected, "{value:e}");
    }
}

#[test]
fn numbers_read_from_json_text_keep_their_meaning() {
    for (text, expected) in [
        ("1.0", "1.0"),
        ("1", "1"),
        ("-0.0", "-0.0"),
        ("-0", "0"),
        ("1E2", "100.0"),
        ("1e-7", "1e-07"),
        ("0.30000000000000004", "0.30000000000000004"),
        ("9007199254740993", "9007199254740993"),
        ("9007199254740993.0", "9007199254740992.0"),
        ("1e-400", "0.0"),
        ("2.5e-324", "5e-324"),
        ("2e-324", "0.0"),
        ("1.7976931348623157e308", "1.7976931348623157e+308"),
    ] {
        let line = format!(r#"{{"eventdata":{{"requestpayload":{{"v":{text}}}}}}}"#);
        let event = AuditEvent::from_json(&line).unwrap_or_else(|e| panic!("{text}: {e}"));
        let canonical = event.canonical_json();
        assert!(
            canonical.contains(&format!(r#"{{"v":{expected}}}"#)),
            "{text} -> {canonical}"
        );
    }
    for text in [
        "1E400", "-1E400", "1.8e308", "NaN", "Infinity", "1.", ".5", "01.0",
    ] {
        let line = format!(r#"{{"eventdata":{{"requestpayload":{{"v":{text}}}}}}}"#);
        assert!(AuditEvent::from_json(&line).is_err(), "{text} was taken");
    }
}

/// The spec's escape, one character at a time: short escapes where JSON
/// has them, `\u00xx` for other controls and DEL, UTF-16 `\uxxxx` beyond
/// ASCII, everything else as is.
fn escaped_one_by_one(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

const SPECIALS: &[char] = &[
    '"',
    '\\',
    '\0',
    '\u{1}',
    '\u{8}',
    '\t',
    '\n',
    '\u{c}',
    '\r',
    '\u{1f}',
    '\u{7f}',
    '\u{80}',
    '\u{e9}',
    '\u{20ac}',
    '\u{2028}',
    '\u{2029}',
    '\u{ffff}',
    '\u{1f600}',
    '\u{10ffff}',
];

/// Plain fillers at the edges of the word check: space (0x20), `!` (0x21,
/// after `"`), `[`/`]` (around `\`), `~` (0x7e, before DEL).
const FILLERS: &[u8] = b" !#[]~a0";

fn strings_with_a_special_at_every_position() -> Vec<String> {
    let mut strings = Vec::new();
    for len in 0..40 {
        let filler = |i: usize| FILLERS[(i * 7 + len) % FILLERS.len()] as char;
        // All plain.
        strings.push((0..len).map(filler).collect());
        for &special in SPECIALS {
            for position in 0..=len {
                let mut s: String = (0..len).map(filler).collect();
                s.insert(position, special);
                strings.push(s.clone());
                // And a second one at the end, past the last word.
                s.push(special);
                strings.push(s);
            }
        }
    }
    strings
}

#[test]
fn strings_are_escaped_as_one_character_at_a_time_would() {
    let fixed = || {
        AuditEvent::builder()
            .id("00000000-0000-4000-8000-000000000000")
            .timestamp("2026-12-02T00:00:00.000000+00:00")
    };
    let template = fixed()
        .tenant_id("@@")
        .request_payload(Map::from([("s".to_owned(), Value::from("@@"))]))
        .build()
        .canonical_json();
    let mut checked = 0;
    for s in strings_with_a_special_at_every_position() {
        if s.is_empty() {
            continue; // An empty string prunes away.
        }
        let event = fixed()
            .tenant_id(s.as_str())
            .request_payload(Map::from([("s".to_owned(), Value::from(s.as_str()))]))
            .build();
        let expected = template.replace("\"@@\"", &escaped_one_by_one(&s));
        assert_eq!(event.canonical_json(), expected, "{s:?}");
        // Read back, it is the same string.
        let again = AuditEvent::from_json(&expected).unwrap();
        assert_eq!(again.tenantid.as_deref(), Some(s.as_str()));
        checked += 1;
    }
    assert!(checked > 15_000, "only {checked} strings");
}

#[test]
fn lone_surrogate_escapes_are_refused_and_pairs_joined() {
    for text in [
        r"\ud800",
        r"\udc00",
        r"a\ud83d",
        r"\ude00\ud83d",
        r"\ud83d\u0041",
    ] {
        let line = format!(r#"{{"tenantid":"{text}"}}"#);
        assert!(AuditEvent::from_json(&line).is_err(), "{text} was taken");
    }
    let event = AuditEvent::from_json(r#"{"tenantid":"x\ud83d\ude00\u2028\u007F\/"}"#).unwrap();
    assert_eq!(event.tenantid.as_deref(), Some("x\u{1f600}\u{2028}\u{7f}/"));
    assert!(event
        .canonical_json()
        .contains(r#""tenantid":"x\ud83d\ude00\u2028\u007f/""#));
}

fn reference_dir() -> PathBuf {
    std::env::var_os("AUDITLOG_PYTHON_REFERENCE")
        .map(Into::into)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference"))
}

/// Whole events through the Python reference: each edge double in a
/// payload, written in the input with 17 significant digits (which every
/// reader takes to the same double), and strings with specials; the
/// reference's canonical text must be ours, byte for byte.
#[test]
fn whole_events_canonicalize_as_the_python_reference_does() {
    let oracle = reference_dir().join("oracle.py");
    let has_pydantic = Command::new("python3")
        .args(["-c", "import pydantic"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !oracle.exists() || !has_pydantic {
        assert!(
            std::env::var_os("AUDITLOG_SKIP_ORACLE").is_some(),
            "the Python reference needs {} and pydantic (or set AUDITLOG_SKIP_ORACLE=1)",
            oracle.display()
        );
        eprintln!("skipped: no Python reference or pydantic");
        return;
    }
    let mut inputs = Vec::new();
    let mut ours = Vec::new();
    for value in edge_doubles() {
        let line = format!(
            r#"{{"tenantid":"edge","eventdata":{{"requestpayload":{{"v":{value:.16e},"w":[{value:.16e}]}}}}}}"#
        );
        ours.push(AuditEvent::from_json(&line).unwrap().canonical_json());
        inputs.push(line);
    }
    let strings = strings_with_a_special_at_every_position();
    for s in strings.iter().filter(|s| !s.is_empty()).step_by(7) {
        let text = serde_json::to_string(s).unwrap();
        let line =
            format!(r#"{{"tenantid":{text},"eventdata":{{"requestpayload":{{{text}:{text}}}}}}}"#);
        ours.push(AuditEvent::from_json(&line).unwrap().canonical_json());
        inputs.push(line);
    }
    let input: String = inputs.iter().map(|l| format!("{l}\n")).collect();
    let Some(theirs) = python_or_skip(&[oracle.as_os_str()], &input) else {
        return;
    };
    assert_eq!(theirs.len(), inputs.len());
    for ((line, ours), theirs) in inputs.iter().zip(&ours).zip(&theirs) {
        let theirs: serde_json::Value = serde_json::from_str(theirs).unwrap();
        let canonical = theirs["canonical"]
            .as_str()
            .unwrap_or_else(|| panic!("the reference refused {line}: {theirs}"));
        assert_eq!(ours, canonical, "{line}");
    }
}

/// The chain's counters are written without `core::fmt` now: every
/// number of digits, and the extremes, read back as written.
#[test]
fn security_counters_are_written_in_full_at_every_width() {
    let mut values = vec![0u64, u64::MAX, u64::MAX - 1, (1 << 63) - 1, 1 << 63];
    for digits in 1..=19 {
        let power = 10u64.pow(digits);
        values.extend([power - 1, power, power + 1]);
    }
    for value in values {
        let mut event = AuditEvent::builder().tenant_id("t").build();
        event.security = Some(auditlog_core::Security {
            seq: Some(value),
            length: Some(value),
            hash: Some("h".into()),
            signature: Some("s".into()),
            ..Default::default()
        });
        let published = event.published_json();
        assert!(
            published.contains(&format!(
                r#""length":{value},"seq":{value},"signature":"s"}}"#
            )),
            "{published}"
        );
        // The reader takes counters below 2^63 only (docs/wire-format.md):
        // beyond, what the writer wrote is refused, not misread.
        let readable = value < 1 << 63;
        match AuditEvent::from_json(&published) {
            Ok(again) => {
                assert!(readable, "{published}");
                let security = again.security.unwrap();
                assert_eq!((security.seq, security.length), (Some(value), Some(value)));
            }
            Err(e) => assert!(!readable, "{e}: {published}"),
        }
    }
}
