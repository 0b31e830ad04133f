//! The v1 event model: a flat envelope plus nested sections, all optional.

use crate::error::{ParseError, Result};
use crate::parse::parse_value;
use crate::value::{Map, Value};

/// The default `specversion` the builder writes.
pub const SPEC_VERSION: &str = "1.0";

/// One audit event: who did what, to which resource, from where, with what
/// result. Field names are the wire names (`tenantid`, `sourceip`, ...).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditEvent {
    pub id: Option<String>,
    pub specversion: Option<String>,
    pub timestamp: Option<String>,
    pub traceid: Option<String>,
    pub transactionid: Option<String>,
    pub tenantid: Option<String>,
    pub subject: Option<Subject>,
    pub kubernetes: Option<Kubernetes>,
    pub objectref: Option<ObjectRef>,
    pub action: Option<Action>,
    pub network: Option<Network>,
    pub eventdata: Option<EventData>,
    /// Hash and signature; never part of the canonical (hashed) text.
    pub security: Option<Security>,
}

/// Who acted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Subject {
    pub userid: Option<String>,
    /// Wire name `type`, e.g. `USER` or `SERVICE`.
    pub user_type: Option<String>,
    pub groups: Vec<String>,
}

/// Where the emitting workload runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kubernetes {
    pub namespacename: Option<String>,
    pub podname: Option<String>,
    pub containername: Option<String>,
    pub nodename: Option<String>,
}

/// What was acted upon.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectRef {
    pub resource: Option<String>,
    pub resourceid: Option<String>,
    pub apiversion: Option<String>,
}

/// What was done and how it ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Action {
    pub name: Option<String>,
    pub method: Option<String>,
    /// `INFO`, `WARNING` or `ERROR` (see [`Severity`](crate::Severity)).
    pub severity: Option<String>,
    /// `SUCCESS` or `FAILURE` (see [`Outcome`](crate::Outcome)).
    pub status: Option<String>,
}

/// Where the request came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Network {
    pub sourceip: Option<String>,
    pub useragent: Option<String>,
}

/// Payloads and their classification.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventData {
    pub requestpayload: Map,
    pub responsepayload: Map,
    pub metadata: Option<Metadata>,
}

/// Classification of the payloads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    /// Always written when `metadata` is present, `false` included.
    pub issensitive: bool,
    pub compliancecategory: Option<String>,
}

/// The seal: lowercase hex SHA-256 of the canonical text and, when a key is
/// configured, the HMAC-SHA256 of that hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Security {
    pub hash: Option<String>,
    pub signature: Option<String>,
}

/// An event parsed from JSON together with what the model does not know.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedEvent {
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

    /// Parses an event from JSON text, reporting members the model does not know.
    pub fn parse(text: &str) -> Result<ParsedEvent> {
        Self::from_value(parse_value(text)?)
    }

    /// Converts a parsed JSON value into an event, checking every field's type.
    pub fn from_value(value: Value) -> Result<ParsedEvent> {
        let mut reader = Reader::default();
        let event = reader.event(value)?;
        Ok(ParsedEvent {
            event,
            unknown_fields: reader.unknown,
        })
    }
}

/// Walks a JSON value into the model, collecting unknown members.
#[derive(Default)]
struct Reader {
    unknown: Vec<String>,
}

impl Reader {
    /// Unpacks an object, or reports `expected an object`.
    fn object(value: Value) -> Result<Map> {
        match value {
            Value::Object(map) => Ok(map),
            other => Err(ParseError::expected("an object", &other)),
        }
    }

    fn section<T>(
        &mut self,
        name: &str,
        value: Option<Value>,
        read: impl FnOnce(&mut Self, Map) -> Result<T>,
    ) -> Result<Option<T>> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(value) => {
                let map = Self::object(value).map_err(|e| e.in_key(name))?;
                let before = self.unknown.len();
                let section = read(self, map).map_err(|e| e.in_key(name))?;
                for path in &mut self.unknown[before..] {
                    *path = format!("{name}.{path}");
                }
                Ok(Some(section))
            }
        }
    }

    fn leftovers(&mut self, map: Map) {
        self.unknown.extend(map.into_keys());
    }

    fn event(&mut self, value: Value) -> Result<AuditEvent> {
        let mut map = Self::object(value)?;
        let event = AuditEvent {
            id: string(&mut map, "id")?,
            specversion: string(&mut map, "specversion")?,
            timestamp: string(&mut map, "timestamp")?,
            traceid: string(&mut map, "traceid")?,
            transactionid: string(&mut map, "transactionid")?,
            tenantid: string(&mut map, "tenantid")?,
            subject: self.section("subject", map.remove("subject"), |r, mut m| {
                let subject = Subject {
                    userid: string(&mut m, "userid")?,
                    user_type: string(&mut m, "type")?,
                    groups: strings(&mut m, "groups")?,
                };
                r.leftovers(m);
                Ok(subject)
            })?,
            kubernetes: self.section("kubernetes", map.remove("kubernetes"), |r, mut m| {
                let kubernetes = Kubernetes {
                    namespacename: string(&mut m, "namespacename")?,
                    podname: string(&mut m, "podname")?,
                    containername: string(&mut m, "containername")?,
                    nodename: string(&mut m, "nodename")?,
                };
                r.leftovers(m);
                Ok(kubernetes)
            })?,
            objectref: self.section("objectref", map.remove("objectref"), |r, mut m| {
                let objectref = ObjectRef {
                    resource: string(&mut m, "resource")?,
                    resourceid: string(&mut m, "resourceid")?,
                    apiversion: string(&mut m, "apiversion")?,
                };
                r.leftovers(m);
                Ok(objectref)
            })?,
            action: self.section("action", map.remove("action"), |r, mut m| {
                let action = Action {
                    name: string(&mut m, "name")?,
                    method: string(&mut m, "method")?,
                    severity: string(&mut m, "severity")?,
                    status: string(&mut m, "status")?,
                };
                r.leftovers(m);
                Ok(action)
            })?,
            network: self.section("network", map.remove("network"), |r, mut m| {
                let network = Network {
                    sourceip: string(&mut m, "sourceip")?,
                    useragent: string(&mut m, "useragent")?,
                };
                r.leftovers(m);
                Ok(network)
            })?,
            eventdata: self.section("eventdata", map.remove("eventdata"), |r, mut m| {
                let eventdata = EventData {
                    requestpayload: payload(&mut m, "requestpayload")?,
                    responsepayload: payload(&mut m, "responsepayload")?,
                    metadata: r.section("metadata", m.remove("metadata"), |r, mut m| {
                        let metadata = Metadata {
                            issensitive: boolean(&mut m, "issensitive")?,
                            compliancecategory: string(&mut m, "compliancecategory")?,
                        };
                        r.leftovers(m);
                        Ok(metadata)
                    })?,
                };
                r.leftovers(m);
                Ok(eventdata)
            })?,
            security: self.section("security", map.remove("security"), |r, mut m| {
                let security = Security {
                    hash: string(&mut m, "hash")?,
                    signature: string(&mut m, "signature")?,
                };
                r.leftovers(m);
                Ok(security)
            })?,
        };
        self.leftovers(map);
        Ok(event)
    }
}

/// An optional string field: absent and `null` are `None`.
fn string(map: &mut Map, key: &str) -> Result<Option<String>> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ParseError::expected("a string", &other).in_key(key)),
    }
}

/// A list of strings: absent is empty; `null` is refused, as Python refuses it.
fn strings(map: &mut Map, key: &str) -> Result<Vec<String>> {
    match map.remove(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s),
                other => Err(ParseError::expected("a string", &other)
                    .in_index(i)
                    .in_key(key)),
            })
            .collect(),
        Some(other) => Err(ParseError::expected("an array of strings", &other).in_key(key)),
    }
}

/// A payload object: absent is empty; `null` is refused, as Python refuses it.
fn payload(map: &mut Map, key: &str) -> Result<Map> {
    match map.remove(key) {
        None => Ok(Map::new()),
        Some(value) => Reader::object(value).map_err(|e| e.in_key(key)),
    }
}

/// A boolean: absent is `false`. Strictly `true`/`false`: pydantic's lax
/// coercion of `"yes"` or `1` is not carried over (see docs/wire-format.md).
fn boolean(map: &mut Map, key: &str) -> Result<bool> {
    match map.remove(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(b),
        Some(other) => Err(ParseError::expected("a boolean", &other).in_key(key)),
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
            ["action.extra", "eventdata.metadata.x", "zz"]
        );
        assert_eq!(parsed.event.action.unwrap().name.as_deref(), Some("n"));
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
