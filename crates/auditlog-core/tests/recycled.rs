//! `AuditEvent::parse_into` reuses the previous line's event: reading line B
//! into the event left by line A must give exactly what reading B fresh
//! gives (the same event, the same unknown fields, the same error), and no
//! field of A may survive in it.

use auditlog_core::{parse_value, AuditEvent, Value};
use auditlog_testkit::strategies::{event_with_security, value};
use proptest::prelude::*;
use proptest::sample::{select, Index};

/// Reads `lines` one after the other into one recycled event and checks each
/// against a fresh parse of the same line.
fn check_sequence(lines: &[String]) -> Result<(), TestCaseError> {
    let mut recycled = AuditEvent::default();
    for (i, line) in lines.iter().enumerate() {
        let fresh = AuditEvent::parse(line);
        let reused = recycled.parse_into(line);
        match (reused, fresh) {
            (Ok(unknown), Ok(fresh)) => {
                prop_assert_eq!(&recycled, &fresh.event, "line {}: {}", i, line);
                prop_assert_eq!(unknown, fresh.unknown_fields, "line {}: {}", i, line);
                // And the published form, which is what the CLI writes.
                prop_assert_eq!(recycled.published_json(), fresh.event.published_json());
            }
            (Err(reused), Err(fresh)) => {
                prop_assert_eq!(reused.to_string(), fresh.to_string(), "line {}", i);
                prop_assert_eq!(&recycled, &AuditEvent::default(), "left after an error");
            }
            (reused, fresh) => {
                return Err(TestCaseError::fail(format!(
                    "line {i}: recycled {reused:?}, fresh {:?}: {line}",
                    fresh.map(|p| p.event)
                )))
            }
        }
    }
    Ok(())
}

fn sequence(lines: &[&str]) {
    let lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    check_sequence(&lines).unwrap();
}

/// Every member of the model, payloads nested, chain fields, unknown members.
const FULL: &str = r#"{"id":"e-1","specversion":"1.0","timestamp":"2026-11-23T08:15:30.123456+00:00","traceid":"t","transactionid":"x","tenantid":"ten","subject":{"userid":"u","type":"USER","groups":["a","b","c"],"extra":1},"kubernetes":{"namespacename":"n","podname":"p","containername":"c","nodename":"no"},"objectref":{"resource":"r","resourceid":"ri","apiversion":"v1"},"action":{"name":"a.n","method":"POST","severity":"INFO","status":"SUCCESS"},"network":{"sourceip":"10.0.0.1","useragent":"ua"},"eventdata":{"requestpayload":{"amount":42.5,"items":[{"sku":"A-1","qty":2},{"sku":"B-2"}],"note":"esc\"aped\u00e9","big":123456789012345678901234567890,"deep":{"a":{"b":[1,[2,{"c":null}]]}}},"responsepayload":{"id":"o","ok":true},"metadata":{"issensitive":true,"compliancecategory":"PCI","x":2}},"security":{"chain":"ch","hash":"h","head":"hd","kid":"k","length":3,"link":"l","prev":"pv","seq":2,"signature":"s"},"zz":[1]}"#;

#[test]
fn no_field_of_the_previous_line_survives_in_the_next() {
    let full = parse_value(FULL).unwrap();
    let Value::Object(top) = &full else {
        unreachable!()
    };
    // FULL, then FULL without each one member (at the top, in each section,
    // in each payload), then FULL again: each reading must equal a fresh one.
    let mut lines = vec![FULL.to_owned()];
    for (key, member) in top {
        let mut without = top.clone();
        without.remove(key);
        lines.push(Value::Object(without).to_json());
        lines.push(FULL.to_owned());
        if let Value::Object(section) = member {
            for inner in section.keys() {
                let mut smaller = section.clone();
                smaller.remove(inner);
                let mut without = top.clone();
                without.insert(key.clone(), Value::Object(smaller));
                lines.push(Value::Object(without).to_json());
                lines.push(FULL.to_owned());
            }
        }
    }
    check_sequence(&lines).unwrap();

    // Payload shapes that change under the same keys: fewer array items, an
    // object where a string was, a string where an object was, nulls.
    sequence(&[
        FULL,
        r#"{"eventdata":{"requestpayload":{"items":[{"sku":"Z"}],"note":{"a":"b"},"deep":"s"}}}"#,
        FULL,
        r#"{"eventdata":{"requestpayload":{"items":[],"amount":null}}}"#,
        FULL,
        r#"{"eventdata":{"requestpayload":{"items":[[],{},"x",1,2,3]}}}"#,
        FULL,
        r#"{"subject":null,"eventdata":null,"security":null,"action":{}}"#,
        FULL,
        r#"{"subject":{"groups":[]},"eventdata":{"requestpayload":{},"responsepayload":{}}}"#,
        FULL,
        "{}",
        FULL,
        // Groups: fewer, more, escaped, spaced.
        r#"{"subject":{"groups":["x"]}}"#,
        r#"{"subject":{"groups":["a","b","c","d","e"]}}"#,
        r#"{"subject":{"groups":[ "\u00e9\n" , "b" ] }}"#,
        FULL,
    ]);
}

/// A payload object is refilled in place when it has the previous line's
/// keys; keys that changed (as many, renamed, fewer, more, nested) must still
/// leave exactly the new line's members.
#[test]
fn payload_keys_that_change_between_lines_leave_only_the_new_ones() {
    let payload = |body: &str| format!(r#"{{"eventdata":{{"requestpayload":{body}}}}}"#);
    let shapes = [
        r#"{"a":1,"b":2}"#,
        r#"{"a":1,"c":3}"#,       // as many keys, one renamed
        r#"{"c":3,"a":1}"#,       // the same keys in another order
        r#"{"a":1}"#,             // fewer
        r#"{"a":1,"b":2,"d":4}"#, // more
        r#"{"x":{"a":1,"b":2}}"#,
        r#"{"x":{"a":1,"z":2}}"#, // renamed one level down
        r#"{"x":{"z":2}}"#,
        r#"{"x":[{"k":1,"l":2},{"k":1}]}"#,
        r#"{"x":[{"k":1,"m":2},{"l":1}]}"#,
        r#"{"b":2,"a":1}"#,
        r#"{}"#,
        r#"{"a":1,"b":2}"#,
    ];
    let lines: Vec<String> = shapes.iter().map(|body| payload(body)).collect();
    check_sequence(&lines).unwrap();
    let reversed: Vec<String> = lines.iter().rev().cloned().collect();
    check_sequence(&reversed).unwrap();
}

#[test]
fn an_error_leaves_the_event_empty_and_says_what_a_fresh_parse_says() {
    sequence(&[
        FULL,
        r#"{"id":"a","id":"b"}"#,
        FULL,
        r#"{"eventdata":{"requestpayload":{"a":1,"a":2}}}"#,
        FULL,
        r#"{"eventdata":{"requestpayload":{"items":[1,2,}}}"#,
        FULL,
        r#"{"security":{"seq":-1}}"#,
        FULL,
        r#"{"subject":{"userid":5}}"#,
        FULL,
        r#"{"subject":{"groups":["a",1]}}"#,
        FULL,
        r#"{"subject":{"groups":["a","\x"]}}"#,
        FULL,
        r#"{"subject":{"groups":["a" "b"]}}"#,
        FULL,
        r#"{"subject":{"groups":["a",{"b":[}]}}"#,
        FULL,
        r#"{"subject":{"groups":"a"}}"#,
        FULL,
        r#"{"subject":{"groups":null}}"#,
        FULL,
        r#"{"eventdata":{"requestpayload":{"n":1e99999}}}"#,
        FULL,
        r#"{"action":{"name":"\ud800"}}"#,
        FULL,
        r#"{"id":"ok"} trailing"#,
        FULL,
        "[]",
        FULL,
    ]);
}

/// Pieces of JSON to splice into valid lines, so that some fail part way.
const SNIPPETS: &[&str] = &[
    "\"", "{", "}", "[", "]", ",", ":", "null", "0", "1e400", "\\u", "\"a\":1", "{}", "[]",
];

fn damaged(text: String, at: Index, snippet: &'static str, cut: bool) -> String {
    let mut at = at.index(text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    if cut {
        text[..at].to_owned()
    } else {
        format!("{}{snippet}{}", &text[..at], &text[at..])
    }
}

/// A published event, sometimes with extra members (unknown, payloads of any
/// shape) or damaged.
fn line() -> BoxedStrategy<String> {
    let published = event_with_security()
        .prop_map(|e| e.published_json())
        .boxed();
    let with_payloads = (event_with_security(), value(), value())
        .prop_map(|(e, a, b)| {
            let mut top = parse_value(&e.published_json()).unwrap();
            if let Value::Object(map) = &mut top {
                map.insert("unknown".into(), a.clone());
                let mut data = auditlog_core::Map::new();
                data.insert("requestpayload".into(), a);
                data.insert("responsepayload".into(), b);
                map.insert("eventdata".into(), Value::Object(data));
            }
            top.to_json()
        })
        .boxed();
    let broken = (
        event_with_security(),
        any::<Index>(),
        select(SNIPPETS),
        any::<bool>(),
    )
        .prop_map(|(e, at, snippet, cut)| damaged(e.published_json(), at, snippet, cut))
        .boxed();
    prop_oneof![4 => published, 3 => with_payloads, 2 => broken].boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn reading_into_a_used_event_is_reading_fresh(
        lines in proptest::collection::vec(line(), 2..6)
    ) {
        check_sequence(&lines)?;
    }
}

/// Keys the fingerprint cannot tell apart (same length, same first eight
/// bytes), escaped spellings of one key, and more keys than the short list
/// holds: a duplicate is refused wherever it is and whatever it looked like
/// on the previous line, and every other object reads as serde_json reads it.
#[test]
fn keys_alike_in_their_fingerprint_are_told_apart_and_duplicates_refused() {
    let alike: Vec<String> = (0..24).map(|i| format!("abcdefgh-{i:02}")).collect();
    let quoted = |keys: &[String]| -> Vec<String> {
        keys.iter()
            .map(|k| serde_json::to_string(k).unwrap())
            .collect()
    };
    let object = |keys: &[String]| {
        let members: Vec<String> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{k}:{i}"))
            .collect();
        format!(
            r#"{{"eventdata":{{"requestpayload":{{{}}}}}}}"#,
            members.join(",")
        )
    };
    let mut lines = Vec::new();
    for count in [3, 8, 16, 17, 24] {
        let keys = quoted(&alike[..count]);
        lines.push(object(&keys));
        for twin in [0, count / 2, count - 1] {
            // The same key again at the end, plain or escaped.
            let mut doubled = keys.clone();
            doubled.push(keys[twin].clone());
            lines.push(object(&doubled));
            let mut escaped = keys.clone();
            escaped.push(keys[twin].replacen('a', "\\u0061", 1));
            lines.push(object(&escaped));
            lines.push(object(&keys));
        }
    }
    check_sequence(&lines).unwrap();
    for line in &lines {
        let ours = AuditEvent::parse(line);
        let members = serde_json::from_str::<serde_json::Value>(line).unwrap()["eventdata"]
            ["requestpayload"]
            .as_object()
            .unwrap()
            .len();
        let written = line.matches("abcdefgh-").count() + line.matches("\\u0061bcdefgh-").count();
        let duplicated = members < written;
        assert_eq!(ours.is_err(), duplicated, "{line}");
        if let Ok(parsed) = ours {
            let theirs: serde_json::Value = serde_json::from_str(line).unwrap();
            let ours: serde_json::Value =
                serde_json::from_str(&parsed.event.published_json()).unwrap();
            assert_eq!(ours["eventdata"], theirs["eventdata"], "{line}");
        }
    }
}
