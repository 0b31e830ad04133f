//! Proptest strategies for whole [`AuditEvent`]s and payload [`Value`]s,
//! shared by the property tests of `auditlog-core` and `auditlog-seal`.
//!
//! Every section, random subsets of fields, empties (`None`, `""`, `[]`,
//! `{}`) at every depth, non-ASCII, astral and control characters, keys that
//! need code point ordering, exact big integers and finite doubles across
//! every notation range.

use auditlog_core::{
    Action, AuditEvent, EventData, Kubernetes, Map, Metadata, Network, Number, ObjectRef, Security,
    Subject, Value,
};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;

/// Characters with a rule of their own in the canonical form.
pub const SPECIAL_CHARS: &[char] = &[
    '"',
    '\\',
    '/',
    '\u{0}',
    '\u{8}',
    '\u{9}',
    '\u{a}',
    '\u{c}',
    '\u{d}',
    '\u{1f}',
    ' ',
    '~',
    '\u{7f}',
    '\u{80}',
    '\u{85}',
    '\u{e9}',
    '\u{2028}',
    '\u{e000}',
    '\u{fffd}',
    '\u{ffff}',
    '\u{10000}',
    '\u{1f600}',
    '\u{10ffff}',
];

/// Keys whose order differs between code points, UTF-16 and naive byte
/// assumptions, plus some that look like paths.
pub const KEYS: &[&str] = &[
    "a",
    "b",
    "A",
    "Z",
    "_",
    "aa",
    "",
    "\u{e9}",
    "e",
    "\u{7f}",
    "\u{0}",
    "\u{e000}",
    "\u{ffff}",
    "\u{10000}",
    "\u{1f600}",
    "a.b",
    "[0]",
    "name",
    "groups",
];

/// Doubles at the edges of Python's notation ranges and of the format.
pub const FLOATS: &[f64] = &[
    0.0,
    -0.0,
    1.0,
    100.0,
    0.1,
    0.0001,
    0.00001,
    1e15,
    1e16,
    1e22,
    5e-324,
    f64::MIN_POSITIVE,
    f64::MAX,
    f64::MIN,
    -2.5e-7,
];

/// A character: mostly plain letters, often one with a rule of its own
/// ([`SPECIAL_CHARS`]), sometimes any at all.
pub fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => proptest::char::range('a', 'c'),
        3 => select(SPECIAL_CHARS),
        2 => any::<char>(),
    ]
}

/// Any string, often empty.
pub fn text() -> impl Strategy<Value = String> {
    vec(any_char(), 0..6).prop_map(|chars| chars.into_iter().collect())
}

/// A string that is never pruned.
pub fn non_empty_text() -> impl Strategy<Value = String> {
    vec(any_char(), 1..6).prop_map(|chars| chars.into_iter().collect())
}

/// An optional string field: absent, empty, or a string.
pub fn optional_string() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        2 => Just(None),
        1 => Just(Some(String::new())),
        5 => non_empty_text().prop_map(Some),
    ]
}

/// An object key: one of [`KEYS`] (ordering traps) or any [`text`].
pub fn key() -> impl Strategy<Value = String> {
    prop_oneof![select(KEYS).prop_map(String::from), text()]
}

/// A finite double: the edge cases above or any bit pattern that is finite.
pub fn finite_f64() -> impl Strategy<Value = f64> {
    use proptest::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    prop_oneof![
        select(FLOATS),
        POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO,
        (-1_000_000i64..1_000_000).prop_map(|n| n as f64 / 100.0),
    ]
}

/// An exact integer: small, `i64`, or up to 60 digits.
pub fn integer() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        (-100i64..100).prop_map(Number::from),
        "-?[1-9][0-9]{18,60}".prop_map(|digits| Number::from_integer_str(&digits).unwrap()),
    ]
}

/// A number: an exact [`integer`] or a [`finite_f64`].
pub fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        integer(),
        finite_f64().prop_map(|f| Number::from_f64(f).unwrap()),
    ]
}

/// A scalar, `""` and `null` included.
pub fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        3 => number().prop_map(Value::Number),
        3 => text().prop_map(Value::String),
    ]
}

/// Any payload value, nested up to four levels, with empty arrays and
/// objects at every depth.
pub fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(key(), inner, 0..4).prop_map(Value::Object),
        ]
    })
}

/// Something that prunes away inside an object: null, "", [], {} or an
/// object of those.
pub fn empty_value() -> impl Strategy<Value = Value> {
    let flat = prop_oneof![
        Just(Value::Null),
        Just(Value::String(String::new())),
        Just(Value::Array(Vec::new())),
        Just(Value::Object(Map::new())),
    ];
    flat.prop_recursive(3, 12, 3, |inner| {
        btree_map(key(), inner, 1..3).prop_map(Value::Object)
    })
}

/// A request or response payload: up to four members of any [`value`].
pub fn payload() -> impl Strategy<Value = Map> {
    btree_map(key(), value(), 0..5)
}

fn hex64() -> impl Strategy<Value = Option<String>> {
    option::of("[0-9a-f]{64}")
}

/// A `subject` section, any field absent or empty.
pub fn subject() -> impl Strategy<Value = Subject> {
    (optional_string(), optional_string(), vec(text(), 0..4)).prop_map(
        |(userid, user_type, groups)| Subject {
            userid,
            user_type,
            groups,
        },
    )
}

/// A `kubernetes` section, any field absent or empty.
pub fn kubernetes() -> impl Strategy<Value = Kubernetes> {
    (
        optional_string(),
        optional_string(),
        optional_string(),
        optional_string(),
    )
        .prop_map(
            |(namespacename, podname, containername, nodename)| Kubernetes {
                namespacename,
                podname,
                containername,
                nodename,
            },
        )
}

/// An `objectref` section, any field absent or empty.
pub fn objectref() -> impl Strategy<Value = ObjectRef> {
    (optional_string(), optional_string(), optional_string()).prop_map(
        |(resource, resourceid, apiversion)| ObjectRef {
            resource,
            resourceid,
            apiversion,
        },
    )
}

/// An `action` section: the usual severities and statuses, or any text.
pub fn action() -> impl Strategy<Value = Action> {
    let severity = prop_oneof![
        Just(None),
        select(&["INFO", "WARNING", "ERROR"][..]).prop_map(|s| Some(s.to_owned())),
        optional_string(),
    ];
    let status = prop_oneof![
        Just(None),
        select(&["SUCCESS", "FAILURE"][..]).prop_map(|s| Some(s.to_owned())),
        optional_string(),
    ];
    (optional_string(), optional_string(), severity, status).prop_map(
        |(name, method, severity, status)| Action {
            name,
            method,
            severity,
            status,
        },
    )
}

/// A `network` section, any field absent or empty.
pub fn network() -> impl Strategy<Value = Network> {
    (optional_string(), optional_string()).prop_map(|(sourceip, useragent)| Network {
        sourceip,
        useragent,
    })
}

/// An `eventdata.metadata` section.
pub fn metadata() -> impl Strategy<Value = Metadata> {
    (any::<bool>(), optional_string()).prop_map(|(issensitive, compliancecategory)| Metadata {
        issensitive,
        compliancecategory,
    })
}

/// An `eventdata` section: both payloads, metadata sometimes.
pub fn eventdata() -> impl Strategy<Value = EventData> {
    (payload(), payload(), option::of(metadata())).prop_map(
        |(requestpayload, responsepayload, metadata)| EventData {
            requestpayload,
            responsepayload,
            metadata,
        },
    )
}

/// A `security` block with or without a (random, not matching) hash and
/// signature.
pub fn security() -> impl Strategy<Value = Security> {
    (hex64(), hex64()).prop_map(|(hash, signature)| Security {
        hash,
        signature,
        ..Security::default()
    })
}

/// A whole event, `security` left out.
pub fn event() -> impl Strategy<Value = AuditEvent> {
    let envelope = (
        optional_string(),
        optional_string(),
        optional_string(),
        optional_string(),
        optional_string(),
        optional_string(),
    );
    let sections = (
        option::weighted(0.6, subject()),
        option::weighted(0.6, kubernetes()),
        option::weighted(0.6, objectref()),
        option::weighted(0.6, action()),
        option::weighted(0.6, network()),
        option::weighted(0.7, eventdata()),
    );
    (envelope, sections).prop_map(
        |(
            (id, specversion, timestamp, traceid, transactionid, tenantid),
            (subject, kubernetes, objectref, action, network, eventdata),
        )| AuditEvent {
            id,
            specversion,
            timestamp,
            traceid,
            transactionid,
            tenantid,
            subject,
            kubernetes,
            objectref,
            action,
            network,
            eventdata,
            security: None,
        },
    )
}

/// A whole event, sometimes with a `security` block.
pub fn event_with_security() -> impl Strategy<Value = AuditEvent> {
    (event(), option::of(security())).prop_map(|(mut event, security)| {
        event.security = security;
        event
    })
}

/// True when `value`, as an object member, is dropped by pruning: null,
/// `""`, `[]`, or an object whose members all prune away. Written from the
/// spec, independently of the crate's serializer.
pub fn prunes_away(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.values().all(prunes_away),
        Value::Bool(_) | Value::Number(_) => false,
    }
}
