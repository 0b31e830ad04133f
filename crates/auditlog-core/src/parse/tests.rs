//! Unit tests of the parser: exact numbers, named fields, refused input.

use super::*;

fn error(text: &str) -> String {
    parse_value(text).unwrap_err().to_string()
}

#[test]
fn keeps_integers_exact_and_floats_as_doubles() {
    let value = parse_value(r#"{"big":123456789012345678901234,"neg":-0,"f":1E5}"#).unwrap();
    let map = value.as_object().unwrap();
    assert_eq!(
        map["big"],
        Value::Number(Number::from_integer_str("123456789012345678901234").unwrap())
    );
    assert_eq!(map["neg"], Value::from(0));
    assert_eq!(map["f"], Value::from_f64(100000.0));
}

#[test]
fn errors_name_the_field() {
    assert_eq!(
        error(r#"{"a":{"b":[1,NaN]}}"#),
        "a.b[1]: NaN is not a JSON number (only finite numbers are allowed)"
    );
    assert_eq!(
        error(r#"{"a":[{"x":1e400}]}"#),
        "a[0].x: number 1e400 overflows a double"
    );
    assert_eq!(
        error(r#"{"s":"\ud800x"}"#),
        "s: lone surrogate \\ud800 is not valid Unicode"
    );
    assert_eq!(
        error(r#"{"s":"\udc00"}"#),
        "s: lone surrogate \\udc00 is not valid Unicode"
    );
    assert_eq!(
        error(r#"{"a":-Infinity}"#),
        "a: -Infinity is not a JSON number (only finite numbers are allowed)"
    );
    assert_eq!(
        error(r#"{"a":1,}"#),
        "event: malformed JSON at column 8: expected a string key"
    );
    assert_eq!(
        error(r#"{"a":[1 2]}"#),
        "a: malformed JSON at column 9: expected ',' or ']'"
    );
    assert_eq!(
        error("{\"a\":\"\t\"}"),
        "a: malformed JSON at column 7: control character in a string"
    );
    assert_eq!(
        error("{} x"),
        "event: malformed JSON at column 4: trailing characters after the JSON value"
    );
    assert_eq!(
        error(""),
        "event: malformed JSON at column 1: unexpected end of input"
    );
    assert_eq!(
        error("{\"é\":01}"),
        "\u{e9}: malformed JSON at column 7: expected ',' or '}'"
    );
}

#[test]
fn integers_past_the_digit_limit_are_refused_not_panicked_on() {
    assert!(Number::from_integer_str(&"9".repeat(MAX_NUMBER_DIGITS)).is_some());
    assert_eq!(
        Number::from_integer_str(&"9".repeat(MAX_NUMBER_DIGITS + 1)),
        None
    );
}

#[test]
fn decodes_escapes_and_pairs() {
    let value = parse_value(r#"["\ud83d\ude00\u00e9\n\/\"\\"]"#).unwrap();
    assert_eq!(value, Value::Array(vec![Value::from("😀é\n/\"\\")]));
}

#[test]
fn duplicate_keys_are_refused_at_every_depth() {
    assert_eq!(
        error(r#"{"a":1,"a":2}"#),
        "a: duplicate key (JSON readers disagree on which value counts)"
    );
    assert_eq!(
        error(r#"{"a":[{"b":{"c":1,"\u0063":2}}]}"#),
        "a[0].b.c: duplicate key (JSON readers disagree on which value counts)"
    );
    // Past the few kept in a list, the set still sees them.
    let mut many: String = (0..40).map(|i| format!("\"k{i}\":{i},")).collect();
    many.push_str("\"k3\":0");
    assert!(matches!(
        parse_value(&format!("{{{many}}}")).unwrap_err().kind(),
        ParseErrorKind::DuplicateKey
    ));
    let distinct: String = (0..40)
        .map(|i| format!("\"k{i}\":{i}"))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        parse_value(&format!("{{{distinct}}}"))
            .unwrap()
            .as_object()
            .unwrap()
            .len(),
        40
    );
}

#[test]
fn nested_objects_keep_their_own_keys_in_the_shared_buffer() {
    // The same key in an object and in one nested in it is no duplicate...
    assert!(parse_value(r#"{"x":1,"a":{"x":2,"b":{"x":3}},"y":{"x":4}}"#).is_ok());
    // ... but a key repeated after a nested object ends still is.
    assert_eq!(
        error(r#"{"x":1,"a":{"y":1,"z":{"w":1}},"x":2}"#),
        "x: duplicate key (JSON readers disagree on which value counts)"
    );
    // Inside an array of objects each element starts afresh.
    assert!(parse_value(r#"{"a":[{"k":1},{"k":2}],"k":3}"#).is_ok());
    // An outer object past the few, with nested objects in between.
    let mut many: String = (0..20)
        .map(|i| format!("\"k{i}\":{{\"k{i}\":1}},"))
        .collect();
    many.push_str("\"k19\":0");
    assert!(matches!(
        parse_value(&format!("{{{many}}}")).unwrap_err().kind(),
        ParseErrorKind::DuplicateKey
    ));
}

#[test]
fn numbers_readers_could_read_differently_are_refused() {
    // Rust's own float parser saturates this exponent and reads 5000.0;
    // Python, JavaScript and Java read 0.0.
    let trick = format!("{{\"refund\":5{}e-655360}}", "0".repeat(65_539));
    assert!(matches!(
        parse_value(&trick).unwrap_err().kind(),
        ParseErrorKind::TooManyDigits {
            digits: 65_540,
            limit: 4300
        }
    ));
    assert_eq!(
        error(r#"{"a":1e-2147483649}"#),
        "a: number 1e-2147483649 has an exponent beyond what JSON readers agree on"
    );
    assert!(parse_value(r#"{"a":1e00000000000000001}"#).is_err());
    assert!(parse_value(r#"{"a":1e99999999999999999999}"#).is_err());
    // Exponents that fit are read, however large: with at most 4,300
    // digits they give 0 or infinity in every reader.
    assert_eq!(
        parse_value("[1e-655360,1e-0000005]").unwrap(),
        Value::Array(vec![Value::from_f64(0.0), Value::from_f64(1e-5)])
    );
    assert!(parse_value("[1e655360]").is_err(), "overflows a double");
    // Python refuses to read integers of more than 4,300 digits.
    assert!(parse_value(&format!("[{}]", "9".repeat(4300))).is_ok());
    assert_eq!(
        error(&format!("{{\"n\":{}}}", "9".repeat(4301))),
        "n: number has 4301 digits; at most 4300 are read alike by every JSON reader"
    );
    // In range, every reader agrees: these are plain doubles.
    assert_eq!(
        parse_value("[1e-400,1.5e300,0.1e2]").unwrap(),
        Value::Array(vec![
            Value::from_f64(0.0),
            Value::from_f64(1.5e300),
            Value::from_f64(10.0)
        ])
    );
}

#[test]
fn refuses_deep_nesting_without_overflowing_the_stack() {
    let text = "[".repeat(100_000);
    assert!(matches!(
        parse_value(&text).unwrap_err().kind(),
        ParseErrorKind::TooDeep { .. }
    ));
}

/// The word-at-a-time scan stops on the exact byte that ends a run of
/// plain text, wherever in its word that byte falls, for keys and values,
/// beside multi-byte UTF-8 and near the end of the text.
#[test]
fn strings_and_keys_end_exactly_at_every_offset() {
    let specials = [("\"", None), ("\\n", Some('\n')), ("\\\"", Some('"'))];
    for len in 0..20 {
        for filler in ["a", "é", "€"] {
            let plain: String = filler.repeat(len);
            for (escape, decoded) in specials {
                let (raw, text) = match decoded {
                    None => (plain.clone(), plain.clone()),
                    Some(c) => (
                        format!("{plain}{escape}{plain}"),
                        format!("{plain}{c}{plain}"),
                    ),
                };
                let json = format!(r#"{{"{raw}":"{raw}","k{raw}":["{raw}"]}}"#);
                let map = parse_value(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
                let map = map.as_object().unwrap();
                assert_eq!(map[text.as_str()], Value::String(text.clone()), "{json}");
                assert_eq!(
                    map[format!("k{text}").as_str()],
                    Value::Array(vec![Value::String(text.clone())]),
                    "{json}"
                );
                let expected: serde_json::Value = serde_json::from_str(&json).unwrap();
                assert_eq!(expected.as_object().unwrap().len(), map.len());
            }
            // A control byte ends the scan too, and is refused, in a key or a value.
            for json in [
                format!("{{\"{plain}\u{1}\":1}}"),
                format!("{{\"k\":\"{plain}\u{1f}\"}}"),
                format!("{{\"{plain}"),
                format!("{{\"k\":\"{plain}"),
            ] {
                assert!(parse_value(&json).is_err(), "{json:?}");
            }
        }
    }
}
