//! Random events with keys repeated anywhere, spelled any way: read
//! (fresh, and into the previous line's event) exactly when no object
//! repeats a key, and otherwise refused at the first repeat in the text,
//! by its path. The model refuses its own fields' repeats by one bit each
//! and the parser the rest; this holds them to one rule together.

use auditlog_core::{AuditEvent, ParseErrorKind};
use auditlog_testkit::rng::Rng;

use crate::fields::{joined, Kind, OBJECTS};

/// Keys no object of the model has: long ones sharing their first eight
/// bytes and length (one fingerprint in the parser), a NUL, near names.
const UNKNOWN: &[&str] = &[
    "zz",
    "abcdefghij",
    "abcdefghik",
    "id\0",
    "i",
    "seq ",
    "Hash",
    "transactionie",
];

/// `key` as JSON text, one of its characters maybe written as an escape.
fn spell(rng: &mut Rng, key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let escaped = if rng.below(3) == 0 {
        rng.below(chars.len())
    } else {
        usize::MAX
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if i == escaped || c == '\0' {
                format!("\\u{:04x}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
}

/// An object at `path` (a model object when `fields` is given, else any),
/// and the path of its first repeat in text order, if any.
fn object(
    rng: &mut Rng,
    path: &str,
    fields: Option<&[(&str, Kind)]>,
    depth: usize,
) -> (String, Option<String>) {
    let mut members = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut first_repeat = None;
    for _ in 0..rng.below(6) {
        let (key, kind) = match fields {
            Some(fields) if rng.below(5) != 0 => fields[rng.below(fields.len())],
            Some(_) => (UNKNOWN[rng.below(UNKNOWN.len())], Kind::Any),
            None => (
                ["a", "b", "abcdefghij", "abcdefghik"][rng.below(4)],
                Kind::Any,
            ),
        };
        // Another member at once with this key, now and then: a repeat.
        let repeats = if rng.below(8) == 0 && !seen.is_empty() {
            seen[rng.below(seen.len())].clone()
        } else {
            key.to_owned()
        };
        let kind = match fields.and_then(|f| f.iter().find(|(name, _)| *name == repeats)) {
            Some((_, kind)) => *kind,
            None if fields.is_some() || repeats != key => Kind::Any,
            None => kind,
        };
        let at = joined(path, &repeats);
        if seen.contains(&repeats) && first_repeat.is_none() {
            first_repeat = Some(at.clone());
        }
        seen.push(repeats.clone());
        let (value, inner) = value(rng, &at, kind, depth);
        if first_repeat.is_none() {
            first_repeat = inner;
        }
        members.push(format!("\"{}\":{value}", spell(rng, &repeats)));
    }
    (format!("{{{}}}", members.join(",")), first_repeat)
}

fn value(rng: &mut Rng, path: &str, kind: Kind, depth: usize) -> (String, Option<String>) {
    let text = |s: &str| (s.to_owned(), None);
    match kind {
        Kind::Text => text(["\"v\"", "null", "\"\\u0076\""][rng.below(3)]),
        Kind::Counter => text(["7", "null", "0"][rng.below(3)]),
        Kind::Flag => text(["true", "false"][rng.below(2)]),
        Kind::Groups => text(["[\"g\"]", "[]"][rng.below(2)]),
        Kind::Section => {
            let fields = OBJECTS.iter().find(|(p, _)| *p == path).map(|(_, f)| *f);
            if rng.below(6) == 0 {
                return text("null");
            }
            object(rng, path, fields, depth + 1)
        }
        Kind::Payload | Kind::Any if depth < 4 && rng.below(2) == 0 => {
            object(rng, path, None, depth + 1)
        }
        Kind::Payload => text("{}"),
        Kind::Any => text(["1", "\"x\"", "[1,{}]", "null"][rng.below(4)]),
    }
}

#[test]
fn an_event_is_read_exactly_when_no_object_repeats_a_key() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut recycled = AuditEvent::default();
    let (mut read, mut refused) = (0, 0);
    for _ in 0..20_000 {
        let (text, first_repeat) = object(&mut rng, "", Some(OBJECTS[0].1), 0);
        let fresh = AuditEvent::parse(&text);
        let again = recycled.parse_into(&text);
        match first_repeat {
            None => {
                let parsed = fresh.unwrap_or_else(|e| panic!("{text}: {e}"));
                assert_eq!(again.expect(&text), parsed.unknown_fields);
                assert_eq!(recycled, parsed.event, "{text}");
                read += 1;
            }
            Some(path) => {
                let error = fresh.expect_err(&text);
                assert_eq!(error.kind(), &ParseErrorKind::DuplicateKey, "{text}");
                assert_eq!(error.path(), path, "{text}");
                assert_eq!(again.expect_err(&text), error);
                refused += 1;
            }
        }
    }
    // The generator must reach both.
    assert!(
        read > 2_000 && refused > 2_000,
        "{read} read, {refused} refused"
    );
}
