//! Differential test: `auditlog_core::parse_value` against independent JSON
//! readers — Python's `json` module, and `serde_json` with
//! `arbitrary_precision` twice: its floats read by Rust's `str::parse` (as
//! `as_f64` does) and by `lexical-core`, a float parser of its own — on
//! generated adversarial documents: long mantissas, huge and tiny exponents,
//! leading zeros, `-0`, big integers, duplicate keys at every depth.
//!
//! The rule: wherever a reader reads a document differently from us (or
//! refuses it), we must refuse it. Each reading is written the way the wire
//! format writes values (sorted keys, ASCII, `repr(float)`), so two readers
//! agree exactly when they read the same value.
//!
//! Needs `python3`. Set `AUDITLOG_SKIP_ORACLE=1` to skip where it is missing.

use std::io::Write as _;
use std::process::{Command, Stdio};

use auditlog_core::{parse_value, Map, Value};

/// A small deterministic generator (xorshift): the same documents on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

/// A number token, often hostile.
fn token(rng: &mut Rng) -> String {
    let sign = if rng.below(3) == 0 { "-" } else { "" };
    let lengths = [1, 2, 17, 18, 19, 20, 40, 800, 4299, 4300, 4301, 70_000];
    let mantissa_len = lengths[rng.below(lengths.len() as u64) as usize];
    let exponents = [
        "",
        "e0",
        "e5",
        "E+5",
        "e-5",
        "e308",
        "e309",
        "e-324",
        "e-400",
        "e9999",
        "e-9999",
        "e10000",
        "e-10000",
        "e65535",
        "e-65536",
        "e-655360",
        "e+0000001",
        "e00000001",
        "e99999999999999999999",
        "e-2147483648",
        "e2147483647",
    ];
    let exponent = exponents[rng.below(exponents.len() as u64) as usize];
    match rng.below(8) {
        // A plain integer, sometimes with a leading zero (not JSON).
        0 => {
            let lead = if rng.below(4) == 0 { "0" } else { "" };
            format!("{sign}{lead}{}", nonzero_first(rng, mantissa_len))
        }
        // An integer mantissa with an exponent.
        1 | 2 => format!("{sign}{}{exponent}", nonzero_first(rng, mantissa_len)),
        // A fraction: digits on both sides.
        3 => {
            let split = rng.below(mantissa_len as u64 + 1) as usize;
            let digits = nonzero_first(rng, mantissa_len.max(2));
            let (int, frac) = digits.split_at(split.clamp(1, digits.len() - 1));
            format!("{sign}{int}.{frac}{exponent}")
        }
        // Leading zeros after the point: 0.000…05
        4 => format!(
            "{sign}0.{}{}{exponent}",
            "0".repeat(mantissa_len),
            1 + rng.below(9)
        ),
        // A double written as Python writes it.
        5 => {
            let value = f64::from_bits(rng.next());
            let text = Value::from_f64(value).to_json();
            if text == "null" {
                "0.5".into()
            } else {
                text
            }
        }
        // Zeros and signs.
        6 => [
            "-0", "0", "-0.0", "0.0", "0e0", "-0e-0", "00", "-00.0", "0.", ".5", "1.e5", "+1",
        ][rng.below(12) as usize]
            .into(),
        // A trailing zero run that makes the exponent matter.
        _ => format!("{sign}5{}{exponent}", "0".repeat(mantissa_len)),
    }
}

fn nonzero_first(rng: &mut Rng, n: usize) -> String {
    let mut digits = rng.digits(n);
    if digits.starts_with('0') {
        digits.replace_range(0..1, "7");
    }
    digits
}

/// An object with a key repeated at some depth, the copies spelled alike
/// or with escapes.
fn duplicate_keys(rng: &mut Rng) -> String {
    let spellings = [
        ("a", "a"),
        ("a", "\\u0061"),
        ("é", "\\u00e9"),
        ("😀", "\\ud83d\\ude00"),
    ];
    let (first, second) = spellings[rng.below(spellings.len() as u64) as usize];
    let mut doc = format!(r#"{{"{first}":1,"b":[],"{second}":2}}"#);
    for _ in 0..rng.below(6) {
        doc = match rng.below(3) {
            0 => format!("[{doc}]"),
            1 => format!(r#"{{"x":{doc}}}"#),
            _ => format!(r#"{{"x":0,"y":[true,{doc}]}}"#),
        };
    }
    doc
}

/// What a reader read, written the one way, or why it refused.
type Reading = Result<String, String>;

fn ours(doc: &str) -> Reading {
    parse_value(doc)
        .map(|v| v.to_json())
        .map_err(|e| e.to_string())
}

/// How a reader turns a float token into a double.
type FloatReader = fn(&str) -> Option<f64>;

fn std_float(text: &str) -> Option<f64> {
    text.parse().ok()
}

fn lexical_float(text: &str) -> Option<f64> {
    lexical_core::parse(text.as_bytes()).ok()
}

fn serde(doc: &str, float: FloatReader) -> Reading {
    let value: serde_json::Value = serde_json::from_str(doc).map_err(|e| e.to_string())?;
    Ok(from_serde(&value, float)?.to_json())
}

/// Converts without our number parser: integers keep their text (`-0` is
/// 0), other numbers are what `float` reads.
fn from_serde(value: &serde_json::Value, float: FloatReader) -> Result<Value, String> {
    Ok(match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Number(n) => {
            let text = n.to_string();
            if text.contains(['.', 'e', 'E']) {
                let float = float(&text).ok_or("not a double")?;
                if !float.is_finite() {
                    return Err("infinite".into());
                }
                Value::from_f64(float)
            } else {
                let text = text.strip_prefix("-0").map_or(text.as_str(), |_| "0");
                Value::Number(
                    auditlog_core::Number::from_integer_str(text).ok_or("too many digits")?,
                )
            }
        }
        serde_json::Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| from_serde(v, float))
                .collect::<Result<_, _>>()?,
        ),
        serde_json::Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(k, v)| Ok((k.clone(), from_serde(v, float)?)))
                .collect::<Result<Map, String>>()?,
        ),
    })
}

const PYTHON_READER: &str = r#"
import json, sys
for line in sys.stdin:
    try:
        value = json.loads(line)
        print("ok " + json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False))
    except Exception as e:
        print("error " + type(e).__name__)
"#;

fn python(docs: &[String]) -> Option<Vec<Reading>> {
    let child = Command::new("python3")
        .args(["-c", PYTHON_READER])
        .env("PYTHONINTMAXSTRDIGITS", "4300")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if std::env::var("AUDITLOG_SKIP_ORACLE").as_deref() == Ok("1") => {
            eprintln!("SKIPPED the Python reader: python3 cannot be run ({e})");
            return None;
        }
        Err(e) => {
            panic!("the differential test needs python3 ({e}); AUDITLOG_SKIP_ORACLE=1 skips it")
        }
    };
    let input: String = docs.iter().map(|d| format!("{d}\n")).collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success());
    let readings: Vec<Reading> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| match line.strip_prefix("ok ") {
            Some(text) => Ok(text.to_owned()),
            None => Err(line.to_owned()),
        })
        .collect();
    assert_eq!(readings.len(), docs.len());
    Some(readings)
}

#[test]
fn wherever_a_reader_disagrees_we_refuse() {
    let mut rng = Rng(0x5eed_d1ff_0000_0001);
    let mut docs: Vec<String> = Vec::new();
    for i in 0..3000 {
        docs.push(match i % 4 {
            0 => duplicate_keys(&mut rng),
            1 => format!("[{}]", token(&mut rng)),
            2 => format!(r#"{{"refund":{}}}"#, token(&mut rng)),
            _ => format!(
                r#"{{"a":[{},{{"b":{}}}]}}"#,
                token(&mut rng),
                token(&mut rng)
            ),
        });
    }
    // The review's forgery and its mirror image.
    docs.push(format!(r#"{{"refund":5{}e-655360}}"#, "0".repeat(65_539)));
    docs.push(format!(r#"{{"refund":0.{}5e65540}}"#, "0".repeat(65_536)));

    let python = python(&docs);
    let (mut accepted, mut disputed) = (0, 0);
    for (i, doc) in docs.iter().enumerate() {
        let ours = ours(doc);
        let mut readings = vec![
            ("serde_json", serde(doc, std_float)),
            ("lexical-core", serde(doc, lexical_float)),
        ];
        if let Some(python) = &python {
            readings.push(("Python", python[i].clone()));
        }
        let read: Vec<&String> = readings
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .collect();
        if read.windows(2).any(|w| w[0] != w[1]) {
            disputed += 1;
        }
        if let Ok(reading) = &ours {
            accepted += 1;
            let shown = &doc[..doc.len().min(200)];
            for (reader, theirs) in &readings {
                assert_eq!(
                    Ok(reading),
                    theirs.as_ref(),
                    "{reader} reads {shown} otherwise"
                );
            }
        }
    }
    // Every repeated key is refused, though both readers take the last.
    for doc in docs.iter().step_by(4).take(750) {
        assert!(ours(doc).unwrap_err().contains("duplicate key"), "{doc}");
    }
    assert!(ours(&docs[docs.len() - 2]).is_err() && ours(&docs[docs.len() - 1]).is_err());
    eprintln!("differential: {} documents, {accepted} accepted by us, {disputed} read differently by the readers", docs.len());
    assert!(
        accepted >= 1000,
        "the generator must reach valid documents too ({accepted})"
    );
    assert!(
        disputed >= 1,
        "the generator must reach documents the readers dispute"
    );
}
