//! Repeated fields of the model are refused by its own bits (`KnownFields`),
//! not the parser's key search: every field, in every object, at its path.

use std::sync::LazyLock;

use auditlog_core::{AuditEvent, ParseErrorKind, Result};

use crate::fields::{joined, Kind, OBJECTS as KINDS};

/// An object's path and its fields, each with a value.
type Object = (&'static str, Vec<(&'static str, &'static str)>);

/// Every field the model reads, by object, with a value it accepts: its
/// kind's sample, or one of these, which tell fields apart once read
/// (`objects_keep_their_own_bits`).
static OBJECTS: LazyLock<Vec<Object>> = LazyLock::new(|| {
    const OWN: &[(&str, &str)] = &[("length", "3"), ("compliancecategory", r#""PCI""#)];
    let value = |name: &str, kind: Kind| {
        OWN.iter()
            .find(|(own, _)| *own == name)
            .map_or(kind.sample(), |(_, value)| *value)
    };
    KINDS
        .iter()
        .map(|(path, fields)| {
            let values = fields.iter().map(|&(name, kind)| (name, value(name, kind)));
            (*path, values.collect())
        })
        .collect()
});

/// The members of an object, as `"name":value` pairs joined.
fn members(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| format!("\"{name}\":{value}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A document holding `object` at `path` (nested objects for its dots).
fn at(path: &str, object: &str) -> String {
    if path.is_empty() {
        return object.to_owned();
    }
    path.rsplit('.').fold(object.to_owned(), |inner, name| {
        format!("{{\"{name}\":{inner}}}")
    })
}

/// Both ways an event is read: fresh, and into the previous line's event.
fn both(text: &str) -> [Result<Vec<String>>; 2] {
    let fresh = AuditEvent::parse(text).map(|parsed| parsed.unknown_fields);
    let mut recycled = AuditEvent::from_json(&format!("{{{}}}", members(&OBJECTS[0].1)))
        .expect("the full envelope parses");
    [fresh, recycled.parse_into(text)]
}

#[test]
fn every_field_once_is_read_and_none_is_unknown() {
    // Two fields sharing a bit would be refused here as repeats.
    for (path, fields) in OBJECTS.iter() {
        let text = at(path, &format!("{{{}}}", members(fields)));
        for read in both(&text) {
            assert_eq!(read.expect(&text), Vec::<String>::new(), "{text}");
        }
    }
}

#[test]
fn every_field_repeated_is_refused_at_its_path() {
    for (path, fields) in OBJECTS.iter() {
        for (index, (name, value)) in fields.iter().enumerate() {
            let full = joined(path, name);
            let expected =
                format!("{full}: duplicate key (JSON readers disagree on which value counts)");
            let escaped = format!("\\u{:04x}{}", name.as_bytes()[0], &name[1..]);
            let others = members(&[&fields[..index], &fields[index + 1..]].concat());
            let sep = if others.is_empty() { "" } else { "," };
            let mut repeats = vec![
                // The value twice; the repeat spelled with an escape; other
                // fields between the two.
                format!("\"{name}\":{value},\"{name}\":{value}"),
                format!("\"{name}\":{value},\"{escaped}\":{value}"),
                format!("\"{name}\":{value}{sep}{others},\"{name}\":{value}"),
            ];
            // Null first, where the field takes it: a field left absent
            // still counts as read.
            if AuditEvent::parse(&at(path, &format!("{{\"{name}\":null}}"))).is_ok() {
                repeats.push(format!("\"{name}\":null,\"{name}\":{value}"));
            }
            for repeat in repeats {
                let text = at(path, &format!("{{{repeat}}}"));
                for read in both(&text) {
                    let error = read.expect_err(&text);
                    assert!(
                        matches!(error.kind(), ParseErrorKind::DuplicateKey),
                        "{text}: {error}"
                    );
                    assert_eq!(error.to_string(), expected, "{text}");
                }
            }
        }
    }
}

#[test]
fn unknown_members_repeated_are_refused_and_alone_are_reported() {
    for path in ["", "subject", "eventdata", "eventdata.metadata", "security"] {
        let prefixed = |key: &str| joined(path, key);
        let text = at(path, r#"{"zz":1,"zz":{"deep":[1]}}"#);
        for read in both(&text) {
            assert_eq!(
                read.expect_err(&text).to_string(),
                format!(
                    "{}: duplicate key (JSON readers disagree on which value counts)",
                    prefixed("zz")
                )
            );
        }
        // An unknown member's value is still checked while it is skipped.
        let text = at(path, r#"{"zz":[1,}"#);
        for read in both(&text) {
            let error = read.expect_err(&text).to_string();
            assert!(error.starts_with(&prefixed("zz")), "{text}: {error}");
        }
        let text = at(path, r#"{"zz":{"a":1},"yy":2}"#);
        for read in both(&text) {
            assert_eq!(read.expect(&text), [prefixed("zz"), prefixed("yy")]);
        }
    }
}

#[test]
fn a_repeat_without_its_colon_is_refused_as_a_repeat() {
    // Before the model checked its own fields, every key was checked before
    // its colon: a repeated key cut short (no colon, or the end of the
    // text) was refused as a repeat, not as malformed JSON. Kept so.
    for (path, fields) in OBJECTS.iter() {
        for (name, value) in fields.iter() {
            let full = joined(path, name);
            let expected =
                format!("{full}: duplicate key (JSON readers disagree on which value counts)");
            let cut = format!("{{\"{name}\":{value},\"zz\":{{\"a\":[1]}},\"{name}\"");
            for text in [at(path, &format!("{cut} {value}}}")), at(path, &cut)] {
                for read in both(&text) {
                    assert_eq!(read.expect_err(&text).to_string(), expected, "{text}");
                }
            }
        }
    }
    // Unknown members likewise; a key not seen before is malformed JSON.
    for text in [r#"{"zz":1,"zz""#, r#"{"id":"i","zz":1,"zz" 2}"#] {
        for read in both(text) {
            assert_eq!(
                read.expect_err(text).to_string(),
                "zz: duplicate key (JSON readers disagree on which value counts)"
            );
        }
    }
    for text in [
        r#"{"zz":1,"id""#,
        r#"{"subject":{"type":"u","userid" "u"}}"#,
    ] {
        for read in both(text) {
            let error = read.expect_err(text);
            assert!(
                matches!(error.kind(), ParseErrorKind::Syntax { .. }),
                "{text}: {error}"
            );
        }
    }
}

#[test]
fn every_spelling_of_a_repeat_is_refused() {
    for (path, fields) in OBJECTS.iter() {
        for (name, value) in fields.iter() {
            let every_escaped: String = name
                .chars()
                .map(|c| format!("\\u{:04x}", c as u32))
                .collect();
            let (head, last) = name.split_at(name.len() - 1);
            let last_escaped = format!("{head}\\u{:04X}", last.as_bytes()[0]);
            for spelling in [every_escaped.as_str(), last_escaped.as_str()] {
                for repeat in [
                    format!("\"{spelling}\":{value},\"{name}\":{value}"),
                    format!("\"{name}\":{value},\"{spelling}\":{value}"),
                    // After a nested object read without error, and after
                    // null where the field takes it (or the error for null).
                    format!("\"{name}\":{value},\"zz\":{{\"a\":{{\"b\":[{{}}]}}}},\"{spelling}\":{value}"),
                    format!("\"{name}\":null,\"{spelling}\":{value}"),
                ] {
                    let text = at(path, &format!("{{{repeat}}}"));
                    for read in both(&text) {
                        let error = read.expect_err(&text);
                        assert_eq!(error.path(), joined(path, name), "{text}: {error}");
                        if !repeat.contains("null") {
                            assert_eq!(error.kind(), &ParseErrorKind::DuplicateKey, "{text}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn keys_near_a_field_are_members_of_their_own() {
    for (path, fields) in OBJECTS.iter() {
        for (name, value) in fields.iter() {
            let (head, last) = name.split_at(name.len() - 1);
            // The same first eight bytes and length: the parser's
            // fingerprint of a long key cannot tell them apart.
            let same_fingerprint = format!("{head}{}", if last == "q" { 'r' } else { 'q' });
            for (spelled, decoded) in [
                (format!("{name}\\u0000"), format!("{name}\0")),
                (format!("{name}x"), format!("{name}x")),
                (head.to_owned(), head.to_owned()),
                (name.to_uppercase(), name.to_uppercase()),
                (same_fingerprint.clone(), same_fingerprint),
            ] {
                if decoded.is_empty() {
                    continue;
                }
                let once = format!("\"{name}\":{value},\"{spelled}\":1");
                let text = at(path, &format!("{{{once}}}"));
                for read in both(&text) {
                    assert_eq!(read.expect(&text), [joined(path, &decoded)], "{text}");
                }
                let text = at(path, &format!("{{\"{spelled}\":1,{once}}}"));
                for read in both(&text) {
                    let error = read.expect_err(&text);
                    assert_eq!(error.kind(), &ParseErrorKind::DuplicateKey, "{text}");
                    assert_eq!(error.path(), joined(path, &decoded), "{text}");
                }
            }
        }
    }
}

/// Every field of every object in one event.
fn whole_event() -> String {
    let member = |path: &str| {
        let (_, fields) = OBJECTS.iter().find(|(p, _)| *p == path).expect("an object");
        format!("{{{}}}", members(fields))
    };
    let mut top = members(&OBJECTS[0].1[..6]);
    for section in [
        "subject",
        "kubernetes",
        "objectref",
        "action",
        "network",
        "security",
    ] {
        top += &format!(",\"{section}\":{}", member(section));
    }
    let eventdata = members(&OBJECTS[6].1[..2]);
    let metadata = member("eventdata.metadata");
    format!("{{{top},\"eventdata\":{{{eventdata},\"metadata\":{metadata}}}}}")
}

#[test]
fn objects_keep_their_own_bits() {
    // Bit 0 of one object is not bit 0 of another: all fields at once read.
    let text = whole_event();
    for read in both(&text) {
        assert_eq!(read.expect(&text), Vec::<String>::new(), "{text}");
    }
    let event = AuditEvent::from_json(&text).expect("the whole event");
    let security = event.security.expect("security");
    assert_eq!((security.seq, security.length), (Some(7), Some(3)));
    assert_eq!(
        event
            .eventdata
            .expect("eventdata")
            .metadata
            .expect("metadata")
            .compliancecategory
            .as_deref(),
        Some("PCI")
    );
}

#[test]
fn recycled_reads_after_a_refused_repeat_are_as_fresh() {
    let whole = whole_event();
    let repeated = whole.replacen("\"seq\":7", "\"seq\":7,\"seq\":8", 1);
    let lacking = r#"{"id":"x","security":{"hash":"h"}}"#;
    let mut event = AuditEvent::default();
    for line in [
        &whole, &repeated, &whole, lacking, &repeated, lacking, &whole,
    ] {
        let fresh = AuditEvent::parse(line);
        let recycled = event.parse_into(line);
        match fresh {
            Ok(parsed) => {
                assert_eq!(recycled.expect(line), parsed.unknown_fields);
                assert_eq!(event, parsed.event);
            }
            Err(error) => {
                assert_eq!(recycled.expect_err(line), error);
                assert_eq!(error.path(), "security.seq");
                assert_eq!(event, AuditEvent::default(), "left empty on an error");
            }
        }
    }
}

#[test]
fn payload_keys_are_checked_before_their_values() {
    let many: String = (0..20).map(|i| format!("\"k{i}\":{i},")).collect();
    for (payload, refused) in [
        (r#"{"abcdefghij":1,"abcdefghik":2}"#.to_owned(), None),
        (
            r#"{"abcdefghij":1,"abcdefgh\u0069j":2}"#.to_owned(),
            Some("abcdefghij"),
        ),
        (format!("{{{many}\"k3\":1}}"), Some("k3")),
        (format!("{{{many}\"k19\" 1}}"), Some("k19")),
        (r#"{"a":{"b":1,"b":[}}"#.to_owned(), Some("a.b")),
    ] {
        let text = format!("{{\"eventdata\":{{\"requestpayload\":{payload}}}}}");
        for read in both(&text) {
            match refused {
                None => assert_eq!(read.expect(&text), Vec::<String>::new()),
                Some(key) => {
                    let error = read.expect_err(&text);
                    assert_eq!(error.kind(), &ParseErrorKind::DuplicateKey, "{text}");
                    assert_eq!(error.path(), format!("eventdata.requestpayload.{key}"));
                }
            }
        }
    }
}

#[test]
fn repeats_among_many_unknown_members_are_refused() {
    // Past sixteen keys the parser keeps an object's keys in a hash set.
    let many: String = (0..20).map(|i| format!("\"k{i}\":{i},")).collect();
    for (path, fields) in OBJECTS.iter() {
        let (name, value) = fields[fields.len() - 1];
        let text = at(path, &format!("{{{many}\"{name}\":{value}}}"));
        for read in both(&text) {
            assert_eq!(read.expect(&text).len(), 20, "{text}");
        }
        for (repeat, key) in [
            (format!("\"k3\":1,\"{name}\":{value}"), "k3"),
            (format!("\"{name}\":{value},\"k19\":1"), "k19"),
            (format!("\"{name}\":{value},\"{name}\":{value}"), name),
            (format!("\"{name}\":{value},\"{name}\""), name),
        ] {
            let text = at(path, &format!("{{{many}{repeat}}}"));
            for read in both(&text) {
                let error = read.expect_err(&text);
                assert_eq!(error.kind(), &ParseErrorKind::DuplicateKey, "{text}");
                assert_eq!(error.path(), joined(path, key), "{text}");
            }
        }
    }
}
