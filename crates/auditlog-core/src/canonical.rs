//! The canonical JSON of the wire format: pruned, keys by code point, no
//! whitespace, ASCII only. Its SHA-256 is the event's hash.

use crate::model::{AuditEvent, EventData, Security};
use crate::value::{Map, Value};

impl AuditEvent {
    /// The canonical text: what is hashed. `security` is left out.
    pub fn canonical_json(&self) -> String {
        let mut out = Vec::with_capacity(1024);
        self.write_canonical(&mut out);
        into_string(out)
    }

    /// Appends the canonical text to `out` (for hot loops reusing a buffer).
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        write_event(self, false, out);
    }

    /// The published form: the canonical rules applied to the whole event,
    /// `security` included. This is what goes on the topic.
    pub fn published_json(&self) -> String {
        let mut out = Vec::with_capacity(1200);
        self.write_published(&mut out);
        into_string(out)
    }

    /// Appends the published form to `out`.
    pub fn write_published(&self, out: &mut Vec<u8>) {
        write_event(self, true, out);
    }

    /// Seals with a single serialization: writes the canonical text to
    /// `canonical` (cleared first), stores the `security` block that `seal`
    /// computes from it, and appends the published form to `published` by
    /// splicing that block into the canonical text.
    pub fn seal_with(
        &mut self,
        canonical: &mut Vec<u8>,
        published: &mut Vec<u8>,
        seal: impl FnOnce(&[u8]) -> Security,
    ) {
        canonical.clear();
        let slot = write_event(self, false, canonical);
        let security = seal(canonical);
        published.extend_from_slice(&canonical[..slot.offset]);
        let mark = published.len();
        if slot.after_member {
            published.push(b',');
        }
        published.extend_from_slice(b"\"security\":");
        let wrote = write_security(&mut Writer { out: published }, &security);
        let rest = &canonical[slot.offset..];
        if !wrote {
            published.truncate(mark);
        } else if !slot.after_member && rest[0] != b'}' {
            published.push(b',');
        }
        published.extend_from_slice(rest);
        self.security = Some(security);
    }
}

/// Where `security` goes in the canonical text (keys are in code point order).
struct SecuritySlot {
    offset: usize,
    /// A member precedes the slot, so the block needs a leading comma.
    after_member: bool,
}

impl Value {
    /// The canonical text of this value on its own (pruned; an object or
    /// string that prunes away entirely is written in its empty form).
    pub fn canonical_json(&self) -> String {
        let mut out = Vec::new();
        let mut writer = Writer { out: &mut out };
        if !writer.value(self) {
            writer.empty_form(self);
        }
        into_string(out)
    }
}

impl Value {
    /// Compact JSON with nothing pruned (keys sorted, ASCII only).
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        write_unpruned(self, &mut out);
        into_string(out)
    }
}

fn write_unpruned(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => n.write_canonical(out),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_unpruned(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, key);
                out.push(b':');
                write_unpruned(item, out);
            }
            out.push(b'}');
        }
    }
}

fn into_string(out: Vec<u8>) -> String {
    String::from_utf8(out).expect("canonical JSON is ASCII")
}

fn write_event(event: &AuditEvent, with_security: bool, out: &mut Vec<u8>) -> SecuritySlot {
    let start = out.len();
    let mut writer = Writer { out };
    let mut top = writer.begin_object();
    // Keys in code point order.
    top.section(&mut writer, "action", event.action.as_ref(), |w, a| {
        let mut o = w.begin_object();
        o.string(w, "method", &a.method);
        o.string(w, "name", &a.name);
        o.string(w, "severity", &a.severity);
        o.string(w, "status", &a.status);
        o.end(w)
    });
    top.section(
        &mut writer,
        "eventdata",
        event.eventdata.as_ref(),
        write_eventdata,
    );
    top.string(&mut writer, "id", &event.id);
    top.section(
        &mut writer,
        "kubernetes",
        event.kubernetes.as_ref(),
        |w, k| {
            let mut o = w.begin_object();
            o.string(w, "containername", &k.containername);
            o.string(w, "namespacename", &k.namespacename);
            o.string(w, "nodename", &k.nodename);
            o.string(w, "podname", &k.podname);
            o.end(w)
        },
    );
    top.section(&mut writer, "network", event.network.as_ref(), |w, n| {
        let mut o = w.begin_object();
        o.string(w, "sourceip", &n.sourceip);
        o.string(w, "useragent", &n.useragent);
        o.end(w)
    });
    top.section(
        &mut writer,
        "objectref",
        event.objectref.as_ref(),
        |w, r| {
            let mut o = w.begin_object();
            o.string(w, "apiversion", &r.apiversion);
            o.string(w, "resource", &r.resource);
            o.string(w, "resourceid", &r.resourceid);
            o.end(w)
        },
    );
    let slot = SecuritySlot {
        offset: writer.out.len() - start,
        after_member: top.members > 0,
    };
    if with_security {
        top.section(
            &mut writer,
            "security",
            event.security.as_ref(),
            write_security,
        );
    }
    top.string(&mut writer, "specversion", &event.specversion);
    top.section(&mut writer, "subject", event.subject.as_ref(), |w, s| {
        let mut o = w.begin_object();
        if !s.groups.is_empty() {
            o.field(w, "groups");
            w.out.push(b'[');
            for (i, group) in s.groups.iter().enumerate() {
                if i > 0 {
                    w.out.push(b',');
                }
                write_string(w.out, group);
            }
            w.out.push(b']');
            o.keep();
        }
        o.string(w, "type", &s.user_type);
        o.string(w, "userid", &s.userid);
        o.end(w)
    });
    top.string(&mut writer, "tenantid", &event.tenantid);
    top.string(&mut writer, "timestamp", &event.timestamp);
    top.string(&mut writer, "traceid", &event.traceid);
    top.string(&mut writer, "transactionid", &event.transactionid);
    // The event itself is written as `{}` when everything prunes away.
    if !top.end(&mut writer) {
        writer.out.extend_from_slice(b"{}");
    }
    slot
}

fn write_eventdata(w: &mut Writer<'_>, data: &EventData) -> bool {
    let mut o = w.begin_object();
    if let Some(metadata) = &data.metadata {
        // `issensitive` is always present, so metadata never prunes away.
        o.field(w, "metadata");
        let mut m = w.begin_object();
        m.string(w, "compliancecategory", &metadata.compliancecategory);
        m.field(w, "issensitive");
        w.out.extend_from_slice(if metadata.issensitive {
            b"true"
        } else {
            b"false"
        });
        m.keep();
        m.end(w);
        o.keep();
    }
    o.map(w, "requestpayload", &data.requestpayload);
    o.map(w, "responsepayload", &data.responsepayload);
    o.end(w)
}

fn write_security(w: &mut Writer<'_>, security: &Security) -> bool {
    let mut o = w.begin_object();
    // Keys in code point order.
    o.string(w, "chain", &security.chain);
    o.string(w, "hash", &security.hash);
    o.string(w, "head", &security.head);
    o.string(w, "kid", &security.kid);
    o.unsigned(w, "length", security.length);
    o.string(w, "link", &security.link);
    o.string(w, "prev", &security.prev);
    o.unsigned(w, "seq", security.seq);
    o.string(w, "signature", &security.signature);
    o.end(w)
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

/// An object being written. Members whose value prunes away are rolled back,
/// and so is the whole object when no member remains: one pass, no lookahead.
struct ObjectWriter {
    start: usize,
    members: usize,
}

impl Writer<'_> {
    fn begin_object(&mut self) -> ObjectWriter {
        let start = self.out.len();
        self.out.push(b'{');
        ObjectWriter { start, members: 0 }
    }

    /// Writes a value, pruned; returns false (having written nothing) when it
    /// prunes to null, "", [] or {}.
    fn value(&mut self, value: &Value) -> bool {
        match value {
            Value::Null => false,
            Value::Bool(true) => {
                self.out.extend_from_slice(b"true");
                true
            }
            Value::Bool(false) => {
                self.out.extend_from_slice(b"false");
                true
            }
            Value::Number(n) => {
                n.write_canonical(self.out);
                true
            }
            Value::String(s) if s.is_empty() => false,
            Value::String(s) => {
                write_string(self.out, s);
                true
            }
            Value::Array(items) if items.is_empty() => false,
            Value::Array(items) => {
                self.out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    // Inside arrays nothing is dropped: an element that
                    // prunes away stays as its empty form.
                    if !self.value(item) {
                        self.empty_form(item);
                    }
                }
                self.out.push(b']');
                true
            }
            Value::Object(map) => self.map(map),
        }
    }

    fn empty_form(&mut self, value: &Value) {
        self.out.extend_from_slice(match value {
            Value::Null => b"null",
            Value::String(_) => b"\"\"",
            Value::Array(_) => b"[]",
            _ => b"{}",
        });
    }

    fn map(&mut self, map: &Map) -> bool {
        let mut o = self.begin_object();
        for (key, value) in map {
            let mark = o.key(self, key);
            if self.value(value) {
                o.keep();
            } else {
                self.out.truncate(mark);
            }
        }
        o.end(self)
    }
}

impl ObjectWriter {
    /// Writes `,"key":` for a payload key and returns the mark to roll back to.
    fn key(&self, w: &mut Writer<'_>, key: &str) -> usize {
        let mark = w.out.len();
        if self.members > 0 {
            w.out.push(b',');
        }
        write_string(w.out, key);
        w.out.push(b':');
        mark
    }

    /// As [`key`](Self::key) for the model's own field names, which are plain
    /// ASCII and need no escaping (the hot path of every event).
    fn field(&self, w: &mut Writer<'_>, name: &'static str) -> usize {
        debug_assert!(name.bytes().all(|b| b.is_ascii_lowercase()));
        let mark = w.out.len();
        if self.members > 0 {
            w.out.push(b',');
        }
        w.out.push(b'"');
        w.out.extend_from_slice(name.as_bytes());
        w.out.extend_from_slice(b"\":");
        mark
    }

    fn keep(&mut self) {
        self.members += 1;
    }

    fn string(&mut self, w: &mut Writer<'_>, key: &'static str, value: &Option<String>) {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            self.field(w, key);
            write_string(w.out, value);
            self.keep();
        }
    }

    /// An integer member (`0` is kept, as the pruning rules keep it).
    fn unsigned(&mut self, w: &mut Writer<'_>, key: &'static str, value: Option<u64>) {
        if let Some(value) = value {
            self.field(w, key);
            w.out.extend_from_slice(value.to_string().as_bytes());
            self.keep();
        }
    }

    fn map(&mut self, w: &mut Writer<'_>, key: &'static str, map: &Map) {
        let mark = self.field(w, key);
        if w.map(map) {
            self.keep();
        } else {
            w.out.truncate(mark);
        }
    }

    fn section<T>(
        &mut self,
        w: &mut Writer<'_>,
        key: &'static str,
        section: Option<&T>,
        write: impl FnOnce(&mut Writer<'_>, &T) -> bool,
    ) {
        if let Some(section) = section {
            let mark = self.field(w, key);
            if write(w, section) {
                self.keep();
            } else {
                w.out.truncate(mark);
            }
        }
    }

    /// Closes the object; returns false, having written nothing, when it is empty.
    fn end(self, w: &mut Writer<'_>) -> bool {
        if self.members == 0 {
            w.out.truncate(self.start);
            false
        } else {
            w.out.push(b'}');
            true
        }
    }
}

/// How each ASCII byte is written inside a string: 0 = as is, b'u' = `\u00XX`,
/// anything else = a backslash and that letter.
static ESCAPES: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut i = 0;
    while i < 0x20 {
        table[i] = b'u';
        i += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table[0x7f] = b'u';
    table
};

const HEX: &[u8; 16] = b"0123456789abcdef";

fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Skip eight plain bytes at a time; most text needs no escaping.
        if let Some(word) = bytes.get(i..i + 8) {
            if !needs_escape(u64::from_le_bytes(word.try_into().expect("eight bytes"))) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        if b < 0x80 && ESCAPES[b as usize] == 0 {
            i += 1;
            continue;
        }
        out.extend_from_slice(&bytes[run_start..i]);
        if b < 0x80 {
            match ESCAPES[b as usize] {
                b'u' => write_unit(out, u16::from(b)),
                letter => out.extend_from_slice(&[b'\\', letter]),
            }
            i += 1;
        } else {
            let c = s[i..].chars().next().expect("a char starts here");
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write_unit(out, *unit);
            }
            i += c.len_utf8();
        }
        run_start = i;
    }
    out.extend_from_slice(&bytes[run_start..]);
    out.push(b'"');
}

/// True when any of the eight bytes is below 0x20, `"`, `\\`, or 0x7f and
/// above (the "has a byte less than / equal to" bit tricks; no false negatives).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    let quote = has_zero(word ^ (ONES * u64::from(b'"')));
    let backslash = has_zero(word ^ (ONES * u64::from(b'\\')));
    let delete = has_zero(word ^ (ONES * 0x7f));
    (control | quote | backslash | delete | (word & HIGH)) != 0
}

fn write_unit(out: &mut Vec<u8>, unit: u16) {
    out.extend_from_slice(&[
        b'\\',
        b'u',
        HEX[(unit >> 12) as usize & 0xf],
        HEX[(unit >> 8) as usize & 0xf],
        HEX[(unit >> 4) as usize & 0xf],
        HEX[unit as usize & 0xf],
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example_of_the_spec() {
        let input = r#"{"id":"x","action":{"name":"é","method":"GET"},"eventdata":{"requestpayload":{"b":[null,"",{}],"a":1e16,"c":1e-5,"d":123456789012345678901234,"e":"\u007f\ud83d\ude00","f":{"g":null}}}}"#;
        let event = AuditEvent::from_json(input).unwrap();
        assert_eq!(
            event.canonical_json(),
            r#"{"action":{"method":"GET","name":"\u00e9"},"eventdata":{"requestpayload":{"a":1e+16,"b":[null,"",{}],"c":1e-05,"d":123456789012345678901234,"e":"\u007f\ud83d\ude00"}},"id":"x"}"#
        );
    }

    #[test]
    fn prunes_at_every_depth_but_keeps_array_elements() {
        let event = AuditEvent::from_json(
            r#"{"eventdata":{"requestpayload":{"a":{"b":{"c":[]}},"d":[{"e":null},[],""],"f":false,"g":0}}}"#,
        )
        .unwrap();
        assert_eq!(
            event.canonical_json(),
            r#"{"eventdata":{"requestpayload":{"d":[{},[],""],"f":false,"g":0}}}"#
        );
    }

    #[test]
    fn empty_sections_vanish_and_metadata_keeps_its_flag() {
        let event =
            AuditEvent::from_json(r#"{"subject":{"groups":[]},"eventdata":{"metadata":{}}}"#)
                .unwrap();
        assert_eq!(
            event.canonical_json(),
            r#"{"eventdata":{"metadata":{"issensitive":false}}}"#
        );
        assert_eq!(AuditEvent::default().canonical_json(), "{}");
    }

    #[test]
    fn escapes_everything_outside_printable_ascii() {
        let mut out = Vec::new();
        write_string(
            &mut out,
            "a\"\\/\u{8}\t\n\u{c}\r\u{0}\u{1f}\u{7f}é\u{ffff}😀",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""a\"\\/\b\t\n\f\r\u0000\u001f\u007f\u00e9\uffff\ud83d\ude00""#
        );
    }

    #[test]
    fn seal_with_splices_security_where_the_published_form_has_it() {
        let cases = [
            "{}",
            r#"{"id":"x"}"#,
            r#"{"specversion":"1.0"}"#,
            r#"{"id":"x","tenantid":"t"}"#,
            r#"{"action":{"name":"a"},"subject":{"userid":"u"}}"#,
        ];
        let blocks = [
            Security {
                hash: Some("h".into()),
                signature: Some("s".into()),
                ..Security::default()
            },
            Security {
                chain: Some("c".into()),
                hash: Some("h".into()),
                kid: Some("k".into()),
                link: Some("l".into()),
                seq: Some(1),
                ..Security::default()
            },
            Security::default(),
        ];
        for input in cases {
            for security in &blocks {
                let mut event = AuditEvent::from_json(input).unwrap();
                let expected_canonical = event.canonical_json();
                let (mut canonical, mut published) = (Vec::new(), Vec::new());
                event.seal_with(&mut canonical, &mut published, |text| {
                    assert_eq!(text, expected_canonical.as_bytes());
                    security.clone()
                });
                assert_eq!(
                    String::from_utf8(published).unwrap(),
                    event.published_json(),
                    "{input}"
                );
            }
        }
    }

    #[test]
    fn word_scan_finds_every_byte_that_needs_escaping() {
        for special in (0u8..0x20).chain([b'"', b'\\', 0x7f, 0x80, 0xff]) {
            for position in 0..8 {
                let mut word = *b"abcdefgh";
                word[position] = special;
                assert!(
                    needs_escape(u64::from_le_bytes(word)),
                    "{special:#x} at {position}"
                );
            }
        }
        assert!(!needs_escape(u64::from_le_bytes(*b" ~/{}[]!")));
    }

    #[test]
    fn published_form_includes_security_in_key_order() {
        let mut event = AuditEvent::from_json(r#"{"specversion":"1.0","id":"x"}"#).unwrap();
        event.security = Some(Security {
            hash: Some("ab".into()),
            signature: None,
            ..Security::default()
        });
        assert_eq!(
            event.published_json(),
            r#"{"id":"x","security":{"hash":"ab"},"specversion":"1.0"}"#
        );
        assert_eq!(event.canonical_json(), r#"{"id":"x","specversion":"1.0"}"#);
    }

    #[test]
    fn chain_members_are_published_in_key_order_and_never_hashed() {
        let mut event = AuditEvent::from_json(r#"{"specversion":"1.0","id":"x"}"#).unwrap();
        let canonical = event.canonical_json();
        event.security = Some(Security {
            chain: Some("c".into()),
            hash: Some("ab".into()),
            head: Some("hd".into()),
            kid: Some("k1".into()),
            length: Some(0),
            link: Some("li".into()),
            prev: Some("pr".into()),
            seq: Some(12),
            signature: Some("si".into()),
        });
        assert_eq!(
            event.published_json(),
            r#"{"id":"x","security":{"chain":"c","hash":"ab","head":"hd","kid":"k1","length":0,"link":"li","prev":"pr","seq":12,"signature":"si"},"specversion":"1.0"}"#
        );
        assert_eq!(event.canonical_json(), canonical);
        let reparsed = AuditEvent::parse(&event.published_json()).unwrap();
        assert_eq!(reparsed.event, event);
        assert!(reparsed.unknown_fields.is_empty());
    }
}
