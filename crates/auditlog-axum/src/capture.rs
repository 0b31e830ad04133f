//! Copies of bodies (up to the cap) and how they become payloads.

use std::io::IoSlice;

use auditlog_core::{parse_value, Map, Value};
use bytes::Buf;

/// What replaces a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// The first `cap` bytes of a body, and how many passed in all.
#[derive(Debug)]
pub(crate) struct Capture {
    bytes: Vec<u8>,
    cap: usize,
    total: u64,
    truncated: bool,
}

impl Capture {
    pub(crate) fn new(cap: usize) -> Self {
        Capture {
            bytes: Vec::new(),
            cap,
            total: 0,
            truncated: false,
        }
    }

    /// Copies what fits of `data` without consuming it.
    pub(crate) fn copy_from<D: Buf>(&mut self, data: &D) {
        let remaining = data.remaining();
        self.total += remaining as u64;
        let room = self.cap - self.bytes.len();
        if remaining > room {
            self.truncated = true;
        }
        if room == 0 || remaining == 0 {
            return;
        }
        let chunk = data.chunk();
        if chunk.len() >= remaining.min(room) {
            self.bytes.extend_from_slice(&chunk[..remaining.min(room)]);
            return;
        }
        let mut slices = [IoSlice::new(&[]); 64];
        let count = data.chunks_vectored(&mut slices);
        let mut copied = 0;
        for slice in &slices[..count] {
            let take = slice.len().min(room - copied);
            self.bytes.extend_from_slice(&slice[..take]);
            copied += take;
            if copied == room {
                break;
            }
        }
        if copied < remaining.min(room) {
            // More fragments than we look at: what we have is a prefix.
            self.truncated = true;
        }
    }

    pub(crate) fn finish(self) -> Captured {
        Captured {
            bytes: self.bytes,
            truncated: self.truncated,
        }
    }
}

/// A finished capture, turned into a payload off the request path.
#[derive(Debug, Default)]
pub(crate) struct Captured {
    pub(crate) bytes: Vec<u8>,
    pub(crate) truncated: bool,
}

impl Captured {
    /// A JSON object as it is; other JSON as `{"_value": ...}`; anything
    /// else (or a truncated body) as `{"_raw": "..."}` in lossy UTF-8, with
    /// `"_truncated": true` when cut at the cap. Raw text that mentions a
    /// redaction key anywhere is replaced whole: it cannot be redacted
    /// field by field.
    pub(crate) fn into_payload(self, redact: &[String]) -> Map {
        let mut payload = Map::new();
        if self.bytes.is_empty() && !self.truncated {
            return payload;
        }
        if !self.truncated {
            if let Some(value) = std::str::from_utf8(&self.bytes)
                .ok()
                .and_then(|text| parse_value(text).ok())
            {
                match value {
                    Value::Object(map) => payload = map,
                    other => {
                        payload.insert("_value".into(), other);
                    }
                }
                redact_map(&mut payload, redact);
                return payload;
            }
        }
        let text = String::from_utf8_lossy(&self.bytes);
        let raw = if mentions_any(&text, redact) {
            REDACTED.to_owned()
        } else {
            text.into_owned()
        };
        payload.insert("_raw".into(), Value::String(raw));
        if self.truncated {
            payload.insert("_truncated".into(), Value::Bool(true));
        }
        payload
    }
}

/// Replaces the value of every key equal to a redaction key (ASCII
/// case-insensitive; `redact` holds lowercase keys) at any depth.
pub(crate) fn redact_map(map: &mut Map, redact: &[String]) {
    for (key, value) in map.iter_mut() {
        if redact.iter().any(|r| key.eq_ignore_ascii_case(r)) {
            *value = Value::String(REDACTED.to_owned());
        } else {
            redact_value(value, redact);
        }
    }
}

fn redact_value(value: &mut Value, redact: &[String]) {
    match value {
        Value::Object(map) => redact_map(map, redact),
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(v, redact)),
        _ => {}
    }
}

fn mentions_any(text: &str, redact: &[String]) -> bool {
    if redact.is_empty() {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    redact.iter().any(|key| lower.contains(key.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn keys() -> Vec<String> {
        ["password", "token"].map(String::from).to_vec()
    }

    fn payload(body: &[u8], cap: usize) -> String {
        let mut capture = Capture::new(cap);
        capture.copy_from(&Bytes::copy_from_slice(body));
        Value::Object(capture.finish().into_payload(&keys())).to_json()
    }

    #[test]
    fn forms_of_captured_bodies() {
        assert_eq!(payload(br#"{"a":1}"#, 64), r#"{"a":1}"#);
        assert_eq!(payload(b"[1,2]", 64), r#"{"_value":[1,2]}"#);
        assert_eq!(payload(b"\"s\"", 64), r#"{"_value":"s"}"#);
        assert_eq!(payload(b"hello", 64), r#"{"_raw":"hello"}"#);
        assert_eq!(payload(b"\xffok", 64), r#"{"_raw":"\ufffdok"}"#);
        assert_eq!(payload(b"", 64), "{}");
        assert_eq!(
            payload(br#"{"a":"0123456789"}"#, 8),
            r#"{"_raw":"{\"a\":\"01","_truncated":true}"#
        );
    }

    #[test]
    fn redaction_at_any_depth_any_case() {
        assert_eq!(
            payload(
                br#"{"Password":"p","x":[{"TOKEN":{"a":1}}],"passwordHint":"h"}"#,
                1024
            ),
            r#"{"Password":"[REDACTED]","passwordHint":"h","x":[{"TOKEN":"[REDACTED]"}]}"#
        );
        assert_eq!(
            payload(br#"{"user":"u","password":"hunter2"}"#, 27),
            r#"{"_raw":"[REDACTED]","_truncated":true}"#
        );
        assert_eq!(
            payload(b"user=u&Password=x", 100),
            r#"{"_raw":"[REDACTED]"}"#
        );
    }

    #[test]
    fn fragmented_buffers_are_copied_in_order() {
        let data = Bytes::from_static(b"abc").chain(Bytes::from_static(b"defg"));
        let mut capture = Capture::new(5);
        capture.copy_from(&data);
        let captured = capture.finish();
        assert_eq!(captured.bytes, b"abcde");
        assert!(captured.truncated);
    }
}
