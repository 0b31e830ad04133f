//! The v1 event model: a flat envelope plus nested sections, all optional.

use crate::error::{ParseError, ParseErrorKind, Result};
use crate::parse::{Member, Parser};
use crate::value::{Map, Value};

/// The default `specversion` the builder writes.
pub const SPEC_VERSION: &str = "1.0";

/// One audit event: who did what, to which resource, from where, with what
/// result. Field names are the wire names (`tenantid`, `sourceip`, ...).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditEvent {
    /// Unique event id, a UUID v4 by default.
    pub id: Option<String>,
    /// Version of the wire format the event follows (`1.0`).
    pub specversion: Option<String>,
    /// When it happened: RFC 3339 with microseconds and an offset.
    pub timestamp: Option<String>,
    /// Distributed trace id (W3C `traceparent`), to join the event to its trace.
    pub traceid: Option<String>,
    /// Id of the business transaction the request belongs to.
    pub transactionid: Option<String>,
    /// The tenant the action was done for.
    pub tenantid: Option<String>,
    /// Who acted.
    pub subject: Option<Subject>,
    /// Where the emitting workload runs.
    pub kubernetes: Option<Kubernetes>,
    /// What was acted upon.
    pub objectref: Option<ObjectRef>,
    /// What was done and how it ended.
    pub action: Option<Action>,
    /// Where the request came from.
    pub network: Option<Network>,
    /// Payloads and their classification.
    pub eventdata: Option<EventData>,
    /// Hash and signature; never part of the canonical (hashed) text.
    pub security: Option<Security>,
}

/// Who acted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Subject {
    /// The acting user's or service's id.
    pub userid: Option<String>,
    /// Wire name `type`, e.g. `USER` or `SERVICE`.
    pub user_type: Option<String>,
    /// Groups or roles the subject acted with.
    pub groups: Vec<String>,
}

/// Where the emitting workload runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kubernetes {
    /// Kubernetes namespace of the pod.
    pub namespacename: Option<String>,
    /// Name of the pod.
    pub podname: Option<String>,
    /// Name of the container in the pod.
    pub containername: Option<String>,
    /// Name of the node the pod runs on.
    pub nodename: Option<String>,
}

/// What was acted upon.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectRef {
    /// Kind of resource, e.g. `orders`.
    pub resource: Option<String>,
    /// Id of the resource instance.
    pub resourceid: Option<String>,
    /// API version the resource was addressed with.
    pub apiversion: Option<String>,
}

/// What was done and how it ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Action {
    /// Action name, e.g. `orders.create` or an HTTP route template.
    pub name: Option<String>,
    /// HTTP method, when the action came from a request.
    pub method: Option<String>,
    /// `INFO`, `WARNING` or `ERROR` (see [`Severity`](crate::Severity)).
    pub severity: Option<String>,
    /// `SUCCESS` or `FAILURE` (see [`Outcome`](crate::Outcome)).
    pub status: Option<String>,
}

/// Where the request came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Network {
    /// Client address, as the service saw it.
    pub sourceip: Option<String>,
    /// Client `User-Agent`.
    pub useragent: Option<String>,
}

/// Payloads and their classification.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventData {
    /// What the request carried (already redacted by the emitter).
    pub requestpayload: Map,
    /// What the response carried (already redacted by the emitter).
    pub responsepayload: Map,
    /// Classification of the payloads.
    pub metadata: Option<Metadata>,
}

/// Classification of the payloads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    /// Always written when `metadata` is present, `false` included.
    pub issensitive: bool,
    /// Compliance regime the data falls under, e.g. `FINANCIAL`.
    pub compliancecategory: Option<String>,
}

/// The seal: lowercase hex SHA-256 of the canonical text and, when a key is
/// configured, the HMAC-SHA256 of that hash.
///
/// The other members place the event in a chain (see `auditlog-seal`'s
/// `chain` module and `docs/integrity.md`). The v1 model of the Python
/// library has no field for them and ignores them, so a chained event still
/// verifies there; they are authenticated by `link`, not by `signature`.
/// Build it with `..Security::default()` so new members do not break you.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Security {
    /// Chain id: which publisher's chain the event (or checkpoint) belongs to.
    pub chain: Option<String>,
    /// Lowercase hex SHA-256 of the canonical text.
    pub hash: Option<String>,
    /// On a checkpoint: the `hash` of the chain's event number `length`.
    pub head: Option<String>,
    /// Id of the key that made `link` (and `signature`).
    pub kid: Option<String>,
    /// On a checkpoint: how many events the chain had.
    pub length: Option<u64>,
    /// HMAC-SHA256 or Ed25519 signature (per `kid`) over the chain fields.
    pub link: Option<String>,
    /// The `hash` of the previous event in the chain (absent on the first).
    pub prev: Option<String>,
    /// Position in the chain, from 1.
    pub seq: Option<u64>,
    /// Lowercase hex HMAC-SHA256 of `hash` under the signing key, when one is configured.
    pub signature: Option<String>,
}

/// An event parsed from JSON together with what the model does not know.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedEvent {
    /// The event, with what the model knows.
    pub event: AuditEvent,
    /// Paths of members the v1 model has no field for (`action.extra`). They
    /// are dropped, as the Python library drops them, so no hash covers them.
    pub unknown_fields: Vec<String>,
}

impl AuditEvent {
    /// Starts a [`EventBuilder`](crate::EventBuilder) with a fresh id,
    /// `specversion` and timestamp.
    pub fn builder() -> crate::EventBuilder {
        crate::EventBuilder::new()
    }

    /// Parses an event from JSON text, ignoring members the model does not know.
    pub fn from_json(text: &str) -> Result<AuditEvent> {
        Ok(Self::parse(text)?.event)
    }

    /// Converts a JSON value into an event, checking every field's type.
    pub fn from_value(value: &Value) -> Result<ParsedEvent> {
        Self::parse(&value.to_json())
    }

    /// Parses an event from JSON text, reporting members the model does not
    /// know. Every error names its field.
    ///
    /// A key repeated in one object is an error: readers disagree on which
    /// value counts.
    pub fn parse(text: &str) -> Result<ParsedEvent> {
        let mut event = AuditEvent::default();
        let unknown_fields = event.parse_into(text)?;
        Ok(ParsedEvent {
            event,
            unknown_fields,
        })
    }

    /// Parses `text` into this event, replacing all it held, and returns the
    /// paths of members the model does not know (as [`parse`](Self::parse)).
    ///
    /// For loops over many lines: the strings, payload keys and arrays of
    /// the event this held (the previous line's) are reused, cleared and
    /// refilled, instead of being freed and allocated again. The result is
    /// exactly what [`parse`](Self::parse) gives for `text`: no field of the
    /// previous event survives unless `text` has it too. On an error (the
    /// same error `parse` gives) the event is left empty.
    pub fn parse_into(&mut self, text: &str) -> Result<Vec<String>> {
        let old = std::mem::take(self);
        let mut parser = Parser::new(text);
        let mut reader = Reader::default();
        let event = reader.event(&mut parser, old)?;
        parser.finish()?;
        *self = event;
        Ok(reader.unknown)
    }
}

/// Reads the model straight off the text; only payloads become [`Value`]s.
///
/// Each field is read into a fresh event; the previous line's event (`old`,
/// empty for a fresh parse) only lends the buffers of the same field, so
/// nothing it held can show in the event read (see
/// [`AuditEvent::parse_into`]).
#[derive(Default)]
struct Reader {
    unknown: Vec<String>,
}

impl Reader {
    fn event(&mut self, p: &mut Parser<'_>, mut old: AuditEvent) -> Result<AuditEvent> {
        if p.peek() != Some(b'{') {
            return Err(wrong_type(p, 0, "an object"));
        }
        let mut e = AuditEvent::default();
        let mut known = KnownFields::default();
        p.members(1, |p, key| {
            let o = &mut old;
            let k = &mut known;
            match key {
                "id" => k.string(0, p, &mut e.id, &mut o.id),
                "specversion" => k.string(1, p, &mut e.specversion, &mut o.specversion),
                "timestamp" => k.string(2, p, &mut e.timestamp, &mut o.timestamp),
                "traceid" => k.string(3, p, &mut e.traceid, &mut o.traceid),
                "transactionid" => k.string(4, p, &mut e.transactionid, &mut o.transactionid),
                "tenantid" => k.string(5, p, &mut e.tenantid, &mut o.tenantid),
                "subject" => {
                    k.first(6)?;
                    e.subject = self.section(
                        p,
                        "subject.",
                        o.subject.take(),
                        |_, p, k, s: &mut Subject, o, key| match key {
                            "userid" => k.string(0, p, &mut s.userid, &mut o.userid),
                            "type" => k.string(1, p, &mut s.user_type, &mut o.user_type),
                            "groups" => {
                                k.first(2)?;
                                let mut groups = std::mem::take(&mut o.groups);
                                s.groups = match p.strings_into(&mut groups) {
                                    Some(()) => groups,
                                    None => strings(p.value(SECTION_DEPTH)?)?,
                                };
                                Ok(Member::Read)
                            }
                            _ => Ok(Member::Left),
                        },
                    )?;
                    Ok(Member::Read)
                }
                "kubernetes" => {
                    k.first(7)?;
                    e.kubernetes = self.section(
                        p,
                        "kubernetes.",
                        o.kubernetes.take(),
                        |_, p, k, s: &mut Kubernetes, o, key| match key {
                            "namespacename" => {
                                k.string(0, p, &mut s.namespacename, &mut o.namespacename)
                            }
                            "podname" => k.string(1, p, &mut s.podname, &mut o.podname),
                            "containername" => {
                                k.string(2, p, &mut s.containername, &mut o.containername)
                            }
                            "nodename" => k.string(3, p, &mut s.nodename, &mut o.nodename),
                            _ => Ok(Member::Left),
                        },
                    )?;
                    Ok(Member::Read)
                }
                "objectref" => {
                    k.first(8)?;
                    e.objectref = self.section(
                        p,
                        "objectref.",
                        o.objectref.take(),
                        |_, p, k, s: &mut ObjectRef, o, key| match key {
                            "resource" => k.string(0, p, &mut s.resource, &mut o.resource),
                            "resourceid" => k.string(1, p, &mut s.resourceid, &mut o.resourceid),
                            "apiversion" => k.string(2, p, &mut s.apiversion, &mut o.apiversion),
                            _ => Ok(Member::Left),
                        },
                    )?;
                    Ok(Member::Read)
                }
                "action" => {
                    k.first(9)?;
                    e.action = self.section(
                        p,
                        "action.",
                        o.action.take(),
                        |_, p, k, s: &mut Action, o, key| match key {
                            "name" => k.string(0, p, &mut s.name, &mut o.name),
                            "method" => k.string(1, p, &mut s.method, &mut o.method),
                            "severity" => k.string(2, p, &mut s.severity, &mut o.severity),
                            "status" => k.string(3, p, &mut s.status, &mut o.status),
                            _ => Ok(Member::Left),
                        },
                    )?;
                    Ok(Member::Read)
                }
                "network" => {
                    k.first(10)?;
                    e.network = self.section(
                        p,
                        "network.",
                        o.network.take(),
                        |_, p, k, s: &mut Network, o, key| match key {
                            "sourceip" => k.string(0, p, &mut s.sourceip, &mut o.sourceip),
                            "useragent" => k.string(1, p, &mut s.useragent, &mut o.useragent),
                            _ => Ok(Member::Left),
                        },
                    )?;
                    Ok(Member::Read)
                }
                "eventdata" => {
                    k.first(11)?;
                    e.eventdata = self.eventdata(p, o.eventdata.take())?;
                    Ok(Member::Read)
                }
                "security" => {
                    k.first(12)?;
                    e.security = self.section(
                        p,
                        "security.",
                        o.security.take(),
                        |_, p, k, s: &mut Security, o, key| match key {
                            "chain" => k.string(0, p, &mut s.chain, &mut o.chain),
                            "hash" => k.string(1, p, &mut s.hash, &mut o.hash),
                            "head" => k.string(2, p, &mut s.head, &mut o.head),
                            "kid" => k.string(3, p, &mut s.kid, &mut o.kid),
                            "length" => k.unsigned(4, p, &mut s.length),
                            "link" => k.string(5, p, &mut s.link, &mut o.link),
                            "prev" => k.string(6, p, &mut s.prev, &mut o.prev),
                            "seq" => k.unsigned(7, p, &mut s.seq),
                            "signature" => k.string(8, p, &mut s.signature, &mut o.signature),
                            _ => Ok(Member::Left),
                        },
                    )?;
                    Ok(Member::Read)
                }
                _ => {
                    self.note_unknown(String::new(), key);
                    Ok(Member::Left)
                }
            }
        })?;
        Ok(e)
    }

    fn eventdata(
        &mut self,
        p: &mut Parser<'_>,
        old: Option<EventData>,
    ) -> Result<Option<EventData>> {
        self.section(
            p,
            "eventdata.",
            old,
            |r, p, k, d: &mut EventData, o, key| {
                match key {
                    "requestpayload" => {
                        k.first(0)?;
                        let old = Value::Object(std::mem::take(&mut o.requestpayload));
                        d.requestpayload = payload(p.value_into(SECTION_DEPTH, old)?)?
                    }
                    "responsepayload" => {
                        k.first(1)?;
                        let old = Value::Object(std::mem::take(&mut o.responsepayload));
                        d.responsepayload = payload(p.value_into(SECTION_DEPTH, old)?)?
                    }
                    "metadata" => {
                        k.first(2)?;
                        d.metadata = r.section(
                            p,
                            "eventdata.metadata.",
                            o.metadata.take(),
                            |_, p, k, m: &mut Metadata, o, key| match key {
                                "issensitive" => {
                                    k.first(0)?;
                                    m.issensitive = boolean(p.value(SECTION_DEPTH)?)?;
                                    Ok(Member::Read)
                                }
                                "compliancecategory" => k.string(
                                    1,
                                    p,
                                    &mut m.compliancecategory,
                                    &mut o.compliancecategory,
                                ),
                                _ => Ok(Member::Left),
                            },
                        )?
                    }
                    _ => return Ok(Member::Left),
                }
                Ok(Member::Read)
            },
        )
    }

    /// Reads an optional section into a fresh `T`, lending `field` the
    /// section the previous line had (`old`) for its buffers; `field`
    /// leaves the values of keys it does not know, which the parser skips
    /// and which are recorded under `prefix`.
    fn section<T: Default>(
        &mut self,
        p: &mut Parser<'_>,
        prefix: &str,
        old: Option<T>,
        mut field: impl FnMut(
            &mut Self,
            &mut Parser<'_>,
            &mut KnownFields,
            &mut T,
            &mut T,
            &str,
        ) -> Result<Member>,
    ) -> Result<Option<T>> {
        match p.peek() {
            Some(b'{') => {}
            _ if p.null() => return Ok(None),
            _ => return Err(wrong_type(p, SECTION_DEPTH, "an object")),
        }
        let mut old = old.unwrap_or_default();
        let mut section = T::default();
        let mut known = KnownFields::default();
        p.members(SECTION_DEPTH, |p, key| {
            let read = field(self, p, &mut known, &mut section, &mut old, key)?;
            if let Member::Left = read {
                self.note_unknown(prefix.to_owned(), key);
            }
            Ok(read)
        })?;
        Ok(Some(section))
    }

    fn note_unknown(&mut self, mut path: String, key: &str) {
        // Keys are unique per object (the parser refuses repeats), so each
        // path comes once: no search, linear in the number of members.
        path.push_str(key);
        self.unknown.push(path);
    }
}

/// The model's fields of one object read so far, one bit each (numbered
/// within the object): a repeated field is refused here, without the
/// parser's search through the object's keys.
#[derive(Default)]
struct KnownFields(u32);

impl KnownFields {
    /// Marks field `bit` read; an error if it was already.
    fn first(&mut self, bit: u32) -> Result<()> {
        let mask = 1 << bit;
        if self.0 & mask != 0 {
            return Err(ParseError::new(ParseErrorKind::DuplicateKey));
        }
        self.0 |= mask;
        Ok(())
    }

    /// An optional string field, numbered `bit` (see [`set`]).
    fn string(
        &mut self,
        bit: u32,
        p: &mut Parser<'_>,
        slot: &mut Option<String>,
        old: &mut Option<String>,
    ) -> Result<Member> {
        self.first(bit)?;
        set(slot, old, p)?;
        Ok(Member::Read)
    }

    /// An optional chain counter, numbered `bit` (see [`unsigned`]).
    fn unsigned(&mut self, bit: u32, p: &mut Parser<'_>, slot: &mut Option<u64>) -> Result<Member> {
        self.first(bit)?;
        unsigned(slot, p)?;
        Ok(Member::Read)
    }
}

/// Depth budget used for values inside sections (the parser caps nesting).
const SECTION_DEPTH: usize = 2;

/// Consumes a value the field cannot hold and names its type (or the
/// syntax error inside it).
fn wrong_type(p: &mut Parser<'_>, depth: usize, expected: &'static str) -> ParseError {
    match p.value(depth) {
        Ok(value) => ParseError::expected(expected, &value),
        Err(e) => e,
    }
}

/// An optional string field: `null` is absent. `old` is the same field of
/// the previous line's event; its buffer is taken and refilled.
fn set(slot: &mut Option<String>, old: &mut Option<String>, p: &mut Parser<'_>) -> Result<()> {
    *slot = match p.peek() {
        Some(b'"') => {
            let mut text = old.take().unwrap_or_default();
            p.string_into(&mut text)?;
            Some(text)
        }
        _ if p.null() => None,
        _ => return Err(wrong_type(p, SECTION_DEPTH, "a string")),
    };
    Ok(())
}

/// An optional counter of the chain fields: a non-negative integer that fits
/// in a `u64`; `null` is absent. (Python ignores these members entirely.)
fn unsigned(slot: &mut Option<u64>, p: &mut Parser<'_>) -> Result<()> {
    *slot = match p.value(SECTION_DEPTH)? {
        Value::Null => None,
        Value::Number(n) if n.is_integer() => match n.as_i64().map(u64::try_from) {
            Some(Ok(v)) => Some(v),
            _ => {
                return Err(ParseError::expected(
                    "a non-negative integer below 2^63",
                    &Value::Number(n),
                ))
            }
        },
        other => {
            return Err(ParseError::expected(
                "a non-negative integer below 2^63",
                &other,
            ))
        }
    };
    Ok(())
}

/// A list of strings; `null` is refused, as Python refuses it.
fn strings(value: Value) -> Result<Vec<String>> {
    match value {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s),
                other => Err(ParseError::expected("a string", &other).in_index(i)),
            })
            .collect(),
        other => Err(ParseError::expected("an array of strings", &other)),
    }
}

/// A payload object; `null` is refused, as Python refuses it.
fn payload(value: Value) -> Result<Map> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(ParseError::expected("an object", &other)),
    }
}

/// Strictly `true`/`false`: pydantic's lax coercion of `"yes"` or `1` is not
/// carried over (see docs/wire-format.md).
fn boolean(value: Value) -> Result<bool> {
    match value {
        Value::Bool(b) => Ok(b),
        other => Err(ParseError::expected("a boolean", &other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        AuditEvent::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn wrong_types_name_the_field_path() {
        assert_eq!(
            error(r#"{"eventdata":{"requestpayload":[]}}"#),
            "eventdata.requestpayload: expected an object, found an array"
        );
        assert_eq!(
            error(r#"{"id":1}"#),
            "id: expected a string, found a number"
        );
        assert_eq!(
            error(r#"{"subject":{"groups":["a",2]}}"#),
            "subject.groups[1]: expected a string, found a number"
        );
        assert_eq!(
            error(r#"{"eventdata":{"metadata":{"issensitive":"yes"}}}"#),
            "eventdata.metadata.issensitive: expected a boolean, found a string"
        );
        assert_eq!(
            error(r#"{"action":"x"}"#),
            "action: expected an object, found a string"
        );
        assert_eq!(error("[]"), "event: expected an object, found an array");
    }

    #[test]
    fn unknown_members_are_reported_with_their_paths() {
        let parsed = AuditEvent::parse(
            r#"{"zz":1,"action":{"name":"n","extra":2},"eventdata":{"metadata":{"x":1}}}"#,
        )
        .unwrap();
        assert_eq!(
            parsed.unknown_fields,
            ["zz", "action.extra", "eventdata.metadata.x"]
        );
        assert_eq!(parsed.event.action.unwrap().name.as_deref(), Some("n"));
    }

    #[test]
    fn chain_members_of_security_are_read_not_reported() {
        let parsed = AuditEvent::parse(
            r#"{"security":{"chain":"c","hash":"h","head":"hh","kid":"k1","length":0,"link":"l","prev":"p","seq":7,"signature":"s","x":1}}"#,
        )
        .unwrap();
        assert_eq!(parsed.unknown_fields, ["security.x"]);
        assert_eq!(
            parsed.event.security,
            Some(Security {
                chain: Some("c".into()),
                hash: Some("h".into()),
                head: Some("hh".into()),
                kid: Some("k1".into()),
                length: Some(0),
                link: Some("l".into()),
                prev: Some("p".into()),
                seq: Some(7),
                signature: Some("s".into()),
            })
        );
        for bad in [r#""7""#, "-1", "1.0", "9223372036854775808", "true"] {
            let text = format!(r#"{{"security":{{"seq":{bad}}}}}"#);
            let message = error(&text);
            assert!(
                message.starts_with("security.seq: expected a non-negative integer"),
                "{bad}: {message}"
            );
        }
        let parsed = AuditEvent::parse(r#"{"security":{"seq":null,"length":null}}"#).unwrap();
        assert_eq!(parsed.event.security, Some(Security::default()));
    }

    #[test]
    fn nulls_are_absent_where_python_allows_them() {
        let parsed =
            AuditEvent::parse(r#"{"id":null,"action":null,"security":{"hash":null}}"#).unwrap();
        assert_eq!(parsed.event.id, None);
        assert_eq!(parsed.event.action, None);
        assert_eq!(parsed.event.security, Some(Security::default()));
        assert!(AuditEvent::parse(r#"{"subject":{"groups":null}}"#).is_err());
    }
}
