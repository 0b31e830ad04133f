//! Lenient reading: text that is not byte for byte the published form, but
//! must still say nothing the published form does not.

use auditlog_core::{parse_value, AuditEvent, Value};

/// Paths of the members of `text` that the published form of `event` (the
/// event `text` was parsed into) does not hold: members the model does not
/// know, and members the canonical form prunes (`null`, `""`, `[]`, `{}`).
/// A member whose value reads differently is listed too; none should, as
/// the event was read from this very text.
pub(crate) fn uncovered_members(text: &str, event: &AuditEvent) -> Vec<String> {
    let received = match parse_value(text) {
        Ok(value) => value,
        // The event parser accepted it, so the value parser does too.
        Err(e) => return vec![e.path().to_owned()],
    };
    let published = parse_value(&event.published_json()).expect("the published form is valid JSON");
    let mut uncovered = Vec::new();
    compare(&received, &published, &mut String::new(), &mut uncovered);
    uncovered
}

fn compare(received: &Value, published: &Value, path: &mut String, out: &mut Vec<String>) {
    match (received, published) {
        (Value::Object(received), Value::Object(published)) => {
            for (key, value) in received {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                match published.get(key) {
                    Some(other) => compare(value, other, path, out),
                    None => out.push(path.clone()),
                }
                path.truncate(len);
            }
        }
        (Value::Array(received), Value::Array(published)) if received.len() == published.len() => {
            for (index, (value, other)) in received.iter().zip(published).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                compare(value, other, path, out);
                path.truncate(len);
            }
        }
        (received, published) if received == published => {}
        _ => out.push(path.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uncovered(text: &str) -> Vec<String> {
        uncovered_members(text, &AuditEvent::from_json(text).unwrap())
    }

    #[test]
    fn pruned_and_unknown_members_are_named() {
        assert_eq!(
            uncovered(
                r#"{"id":"x","tenantid":"","extra":1,"action":{"name":"a","method":null},"eventdata":{"requestpayload":{"a":1,"b":{},"c":[null,""],"d":{"e":[]}}}}"#
            ),
            [
                "action.method",
                "eventdata.requestpayload.b",
                "eventdata.requestpayload.d",
                "extra",
                "tenantid"
            ]
        );
    }

    #[test]
    fn re_encodings_of_the_same_event_are_covered() {
        // Other spacing, key order, escapes and number spelling.
        assert!(uncovered(
            "{ \"tenantid\" : \"t\u{e9}\", \"id\":\"x\", \"eventdata\":{\"requestpayload\":{\"n\":1E5,\"m\":-0,\"s\":\"\\u00e9\"}}}"
        )
        .is_empty());
    }
}
