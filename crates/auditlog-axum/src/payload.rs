//! Captured bodies as payloads: the form each body takes in the event, its
//! redaction, and markers that client data cannot forge.
//!
//! The middleware's markers are top-level keys that start with exactly one
//! `_`. A client's top-level key that starts with `_` is stored with one
//! more `_` in front (`_raw` → `__raw`, `__x` → `___x`), so no body can
//! produce a marker; strip one `_` from a key that starts with `__` to read
//! the client's key back.

use auditlog_core::{parse_value, Map, Value};

use crate::capture::Captured;
use crate::fields::CaptureOnly;
use crate::form;
use crate::redact::{Redaction, REDACTED};

/// The marker holding JSON that is not an object (an array, a scalar).
pub const VALUE_KEY: &str = "_value";

/// The marker holding a body as text, when
/// [raw text](crate::AuditLayer::capture_raw_text) is on.
pub const RAW_KEY: &str = "_raw";

/// The marker (`true`) of a body cut at the capture cap.
pub const TRUNCATED_KEY: &str = "_truncated";

/// The marker describing a body that is not stored: `reason`
/// (`multipart`, `truncated`, `unparseable`, `not an object`), `length`
/// (bytes in all), `contenttype` (its media type, when it had one) and
/// `sha256` (of the whole body, lower-case hex).
pub const OMITTED_KEY: &str = "_omitted";

/// How bodies become payloads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules<'a> {
    pub(crate) redaction: &'a Redaction,
    /// Store unparseable or truncated bodies as (redacted) text.
    pub(crate) raw_text: bool,
    pub(crate) only: Option<&'a CaptureOnly>,
}

/// A body as it goes into the event.
#[derive(Debug, Default)]
pub(crate) struct Payload {
    pub(crate) map: Map,
    /// Whether anything in it was redacted.
    pub(crate) redacted: bool,
}

impl Rules<'_> {
    /// A JSON object (or form) as its fields, other JSON under `_value`,
    /// both redacted; anything else described under `_omitted`, or as
    /// `_raw` text when that is on (withheld whole if it names a secret
    /// once decoded); `_truncated` when cut at the cap.
    pub(crate) fn payload(&self, captured: Captured) -> Payload {
        if captured.total == 0 {
            return Payload::default();
        }
        if captured.is_multipart() {
            return omitted(&captured, "multipart");
        }
        if !captured.truncated {
            if let Some(value) = parse(&captured) {
                return self.content(value, &captured);
            }
        }
        if !self.raw_text || self.only.is_some() {
            let reason = if captured.truncated {
                "truncated"
            } else {
                "unparseable"
            };
            return omitted(&captured, reason);
        }
        let text = String::from_utf8_lossy(&captured.bytes);
        let redacted = self.redaction.text_is_sensitive(&text);
        let raw = if redacted {
            REDACTED.to_owned()
        } else {
            text.into_owned()
        };
        let mut map = Map::new();
        map.insert(RAW_KEY.into(), Value::String(raw));
        if captured.truncated {
            map.insert(TRUNCATED_KEY.into(), Value::Bool(true));
        }
        Payload { map, redacted }
    }

    fn content(&self, value: Value, captured: &Captured) -> Payload {
        let value = match (self.only, value) {
            (None, value) => Some(value),
            (Some(only), Value::Object(map)) => Some(Value::Object(only.filter_map(map))),
            (Some(only), value) => only.filter_value(value),
        };
        let Some(mut value) = value else {
            return omitted(captured, "not an object");
        };
        let redacted = self.redaction.redact_value(&mut value);
        let map = match value {
            Value::Object(map) => escape_client_keys(map),
            other => Map::from([(VALUE_KEY.to_owned(), other)]),
        };
        Payload { map, redacted }
    }
}

/// The body as a form (for that content type) or as JSON. A "form" that
/// is really JSON (`curl -d '{...}'` sends that content type) is read as
/// JSON: as a form its keys would hold the JSON text, secrets and all.
fn parse(captured: &Captured) -> Option<Value> {
    let json = || parse_value(std::str::from_utf8(&captured.bytes).ok()?).ok();
    if captured.content_type.as_deref() == Some("application/x-www-form-urlencoded") {
        let first = captured.bytes.iter().find(|b| !b.is_ascii_whitespace());
        if let Some(b'{' | b'[') = first {
            return json();
        }
        return form::parse(&captured.bytes).map(Value::Object);
    }
    json()
}

/// `_key` → `__key` at the top level: markers stay the middleware's own.
fn escape_client_keys(map: Map) -> Map {
    map.into_iter()
        .map(|(key, value)| match key.starts_with('_') {
            true => (format!("_{key}"), value),
            false => (key, value),
        })
        .collect()
}

fn omitted(captured: &Captured, reason: &str) -> Payload {
    let mut about = Map::new();
    about.insert("reason".into(), Value::from(reason));
    about.insert("length".into(), Value::from(captured.total));
    if let Some(content_type) = &captured.content_type {
        about.insert("contenttype".into(), Value::from(content_type.as_str()));
    }
    if let Some(sha256) = captured.sha256() {
        about.insert("sha256".into(), Value::String(sha256));
    }
    let mut map = Map::new();
    map.insert(OMITTED_KEY.into(), Value::Object(about));
    if captured.truncated && !captured.is_multipart() {
        map.insert(TRUNCATED_KEY.into(), Value::Bool(true));
    }
    Payload {
        map,
        redacted: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Capture;
    use bytes::Bytes;

    fn payload(body: &[u8], cap: usize, content_type: Option<&str>, raw_text: bool) -> String {
        let mut capture = Capture::new(cap, content_type);
        capture.copy_from(&Bytes::copy_from_slice(body));
        let redaction = Redaction::default();
        let rules = Rules {
            redaction: &redaction,
            raw_text,
            only: None,
        };
        Value::Object(rules.payload(capture.finish()).map).to_json()
    }

    #[test]
    fn forms_of_captured_bodies() {
        assert_eq!(payload(br#"{"a":1}"#, 64, None, false), r#"{"a":1}"#);
        assert_eq!(payload(b"[1,2]", 64, None, false), r#"{"_value":[1,2]}"#);
        assert_eq!(payload(b"\"s\"", 64, None, false), r#"{"_value":"s"}"#);
        assert_eq!(payload(b"", 64, None, false), "{}");
        assert_eq!(
            payload(b"hello", 64, Some("text/plain"), false),
            r#"{"_omitted":{"contenttype":"text/plain","length":5,"reason":"unparseable","sha256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}}"#
        );
        assert_eq!(payload(b"hello", 64, None, true), r#"{"_raw":"hello"}"#);
        assert_eq!(payload(b"\xffok", 64, None, true), r#"{"_raw":"\ufffdok"}"#);
        assert_eq!(
            payload(br#"{"a":"0123456789"}"#, 8, None, true),
            r#"{"_raw":"{\"a\":\"01","_truncated":true}"#
        );
        assert_eq!(
            payload(
                b"a=1&_raw=x",
                64,
                Some("application/x-www-form-urlencoded"),
                false
            ),
            r#"{"__raw":"x","a":"1"}"#
        );
    }

    #[test]
    fn client_keys_never_look_like_markers() {
        assert_eq!(
            payload(
                br#"{"_raw":"x","_truncated":true,"__value":1,"a":{"_omitted":2}}"#,
                64,
                None,
                false
            ),
            r#"{"___value":1,"__raw":"x","__truncated":true,"a":{"_omitted":2}}"#
        );
    }

    #[test]
    fn raw_text_is_withheld_when_it_names_a_secret() {
        assert_eq!(
            payload(br#"{"user":"u","password":"hunter2"}"#, 27, None, true),
            r#"{"_raw":"[REDACTED]","_truncated":true}"#
        );
        assert_eq!(
            payload(b"user=u&pass%77ord=x", 100, None, true),
            r#"{"_raw":"[REDACTED]"}"#
        );
    }
}
