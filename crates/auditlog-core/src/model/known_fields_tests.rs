//! Repeated fields of the model are refused by its own bits (`KnownFields`),
//! not the parser's key search: every field, in every object, at its path.

use super::*;

/// Every field the model reads, by object, with a value it accepts.
const OBJECTS: &[(&str, &[(&str, &str)])] = &[
    (
        "",
        &[
            ("id", r#""i""#),
            ("specversion", r#""1.0""#),
            ("timestamp", r#""t""#),
            ("traceid", r#""tr""#),
            ("transactionid", r#""tx""#),
            ("tenantid", r#""te""#),
            ("subject", "{}"),
            ("kubernetes", "{}"),
            ("objectref", "{}"),
            ("action", "{}"),
            ("network", "{}"),
            ("eventdata", "{}"),
            ("security", "{}"),
        ],
    ),
    (
        "subject",
        &[
            ("userid", r#""u""#),
            ("type", r#""USER""#),
            ("groups", r#"["g"]"#),
        ],
    ),
    (
        "kubernetes",
        &[
            ("namespacename", r#""n""#),
            ("podname", r#""p""#),
            ("containername", r#""c""#),
            ("nodename", r#""no""#),
        ],
    ),
    (
        "objectref",
        &[
            ("resource", r#""r""#),
            ("resourceid", r#""ri""#),
            ("apiversion", r#""v1""#),
        ],
    ),
    (
        "action",
        &[
            ("name", r#""n""#),
            ("method", r#""GET""#),
            ("severity", r#""INFO""#),
            ("status", r#""SUCCESS""#),
        ],
    ),
    (
        "network",
        &[("sourceip", r#""10.0.0.1""#), ("useragent", r#""ua""#)],
    ),
    (
        "eventdata",
        &[
            ("requestpayload", r#"{"a":1}"#),
            ("responsepayload", r#"{"b":2}"#),
            ("metadata", "{}"),
        ],
    ),
    (
        "eventdata.metadata",
        &[("issensitive", "true"), ("compliancecategory", r#""PCI""#)],
    ),
    (
        "security",
        &[
            ("chain", r#""c""#),
            ("hash", r#""h""#),
            ("head", r#""hh""#),
            ("kid", r#""k""#),
            ("length", "3"),
            ("link", r#""l""#),
            ("prev", r#""p""#),
            ("seq", "7"),
            ("signature", r#""s""#),
        ],
    ),
];

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
    let mut recycled = AuditEvent::from_json(&format!("{{{}}}", members(OBJECTS[0].1)))
        .expect("the full envelope parses");
    [fresh, recycled.parse_into(text)]
}

#[test]
fn every_field_once_is_read_and_none_is_unknown() {
    // Two fields sharing a bit would be refused here as repeats.
    for (path, fields) in OBJECTS {
        let text = at(path, &format!("{{{}}}", members(fields)));
        for read in both(&text) {
            assert_eq!(read.expect(&text), Vec::<String>::new(), "{text}");
        }
    }
}

#[test]
fn every_field_repeated_is_refused_at_its_path() {
    for (path, fields) in OBJECTS {
        for (index, (name, value)) in fields.iter().enumerate() {
            let full = if path.is_empty() {
                (*name).to_owned()
            } else {
                format!("{path}.{name}")
            };
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
        let prefixed = |key: &str| {
            if path.is_empty() {
                key.to_owned()
            } else {
                format!("{path}.{key}")
            }
        };
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
    for (path, fields) in OBJECTS {
        for (name, value) in fields.iter() {
            let full = if path.is_empty() {
                (*name).to_owned()
            } else {
                format!("{path}.{name}")
            };
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
