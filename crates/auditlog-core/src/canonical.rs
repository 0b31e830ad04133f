//! The canonical JSON of the wire format: pruned, keys by code point, no
//! whitespace, ASCII only. Its SHA-256 is the event's hash.

use crate::escape::write_string;
use crate::model::{AuditEvent, EventData, Security};
use crate::value::Value;
use crate::writer::{key, Writer};

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
        splice_security(canonical, &slot, &security, published);
        self.security = Some(security);
    }

    /// Writes the canonical text to `canonical` (cleared first) and appends
    /// the published form, this event's `security` included, to `published`,
    /// serializing the event once: what a verifier needs to check that a
    /// line is exactly the published form and to recompute its hash.
    pub fn write_canonical_and_published(&self, canonical: &mut Vec<u8>, published: &mut Vec<u8>) {
        canonical.clear();
        let slot = write_event(self, false, canonical);
        match &self.security {
            Some(security) => splice_security(canonical, &slot, security, published),
            None => published.extend_from_slice(canonical),
        }
    }
}

/// Appends `canonical` to `published` with the `security` block written at
/// `slot` (where the published form has it); an empty block prunes away.
fn splice_security(
    canonical: &[u8],
    slot: &SecuritySlot,
    security: &Security,
    published: &mut Vec<u8>,
) {
    published.extend_from_slice(&canonical[..slot.offset]);
    let mark = published.len();
    if slot.after_member {
        published.push(b',');
    }
    published.extend_from_slice(key!("security").as_bytes());
    let wrote = write_security(&mut Writer { out: published }, security);
    let rest = &canonical[slot.offset..];
    if !wrote {
        published.truncate(mark);
    } else if !slot.after_member && rest[0] != b'}' {
        published.push(b',');
    }
    published.extend_from_slice(rest);
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
    top.section(
        &mut writer,
        key!("action"),
        event.action.as_ref(),
        |w, a| {
            let mut o = w.begin_object();
            o.string(w, key!("method"), &a.method);
            o.string(w, key!("name"), &a.name);
            o.string(w, key!("severity"), &a.severity);
            o.string(w, key!("status"), &a.status);
            o.end(w)
        },
    );
    top.section(
        &mut writer,
        key!("eventdata"),
        event.eventdata.as_ref(),
        write_eventdata,
    );
    top.string(&mut writer, key!("id"), &event.id);
    top.section(
        &mut writer,
        key!("kubernetes"),
        event.kubernetes.as_ref(),
        |w, k| {
            let mut o = w.begin_object();
            o.string(w, key!("containername"), &k.containername);
            o.string(w, key!("namespacename"), &k.namespacename);
            o.string(w, key!("nodename"), &k.nodename);
            o.string(w, key!("podname"), &k.podname);
            o.end(w)
        },
    );
    top.section(
        &mut writer,
        key!("network"),
        event.network.as_ref(),
        |w, n| {
            let mut o = w.begin_object();
            o.string(w, key!("sourceip"), &n.sourceip);
            o.string(w, key!("useragent"), &n.useragent);
            o.end(w)
        },
    );
    top.section(
        &mut writer,
        key!("objectref"),
        event.objectref.as_ref(),
        |w, r| {
            let mut o = w.begin_object();
            o.string(w, key!("apiversion"), &r.apiversion);
            o.string(w, key!("resource"), &r.resource);
            o.string(w, key!("resourceid"), &r.resourceid);
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
            key!("security"),
            event.security.as_ref(),
            write_security,
        );
    }
    top.string(&mut writer, key!("specversion"), &event.specversion);
    top.section(
        &mut writer,
        key!("subject"),
        event.subject.as_ref(),
        |w, s| {
            let mut o = w.begin_object();
            if !s.groups.is_empty() {
                o.field(w, key!("groups"));
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
            o.string(w, key!("type"), &s.user_type);
            o.string(w, key!("userid"), &s.userid);
            o.end(w)
        },
    );
    top.string(&mut writer, key!("tenantid"), &event.tenantid);
    top.string(&mut writer, key!("timestamp"), &event.timestamp);
    top.string(&mut writer, key!("traceid"), &event.traceid);
    top.string(&mut writer, key!("transactionid"), &event.transactionid);
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
        o.field(w, key!("metadata"));
        let mut m = w.begin_object();
        m.string(w, key!("compliancecategory"), &metadata.compliancecategory);
        m.field(w, key!("issensitive"));
        w.out.extend_from_slice(if metadata.issensitive {
            b"true"
        } else {
            b"false"
        });
        m.keep();
        m.end(w);
        o.keep();
    }
    o.map(w, key!("requestpayload"), &data.requestpayload);
    o.map(w, key!("responsepayload"), &data.responsepayload);
    o.end(w)
}

fn write_security(w: &mut Writer<'_>, security: &Security) -> bool {
    let mut o = w.begin_object();
    // Keys in code point order.
    o.string(w, key!("chain"), &security.chain);
    o.string(w, key!("hash"), &security.hash);
    o.string(w, key!("head"), &security.head);
    o.string(w, key!("kid"), &security.kid);
    o.unsigned(w, key!("length"), security.length);
    o.string(w, key!("link"), &security.link);
    o.string(w, key!("prev"), &security.prev);
    o.unsigned(w, key!("seq"), security.seq);
    o.string(w, key!("signature"), &security.signature);
    o.end(w)
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
                let (mut canonical, mut published) = (Vec::new(), Vec::new());
                event.write_canonical_and_published(&mut canonical, &mut published);
                assert_eq!(canonical, expected_canonical.as_bytes(), "{input}");
                assert_eq!(published, event.published_json().as_bytes(), "{input}");
            }
        }
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
