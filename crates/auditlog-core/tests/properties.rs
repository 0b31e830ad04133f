//! Properties of the model and its canonical form, over generated events:
//! the canonical text is a fixed point of parsing, pruned, sorted and ASCII;
//! the published form round-trips; parsing never panics, and every error
//! names a path that exists in the input.

use auditlog_core::{parse_value, AuditEvent, Map, ParseError, ParseErrorKind, Value};
use auditlog_testkit::strategies::{event, event_with_security, prunes_away, security, value};
use proptest::prelude::*;
use proptest::sample::{select, Index};

fn parse(text: &str) -> Result<AuditEvent, TestCaseError> {
    AuditEvent::from_json(text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))
}

/// Checks that no object member anywhere in `value` would be pruned.
fn assert_pruned(value: &Value, path: &str) -> Result<(), TestCaseError> {
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                let path = format!("{path}.{key}");
                prop_assert!(!prunes_away(member), "{path} should have been pruned");
                assert_pruned(member, &path)?;
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                assert_pruned(item, &format!("{path}[{i}]"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// canonical(parse(canonical(e))) == canonical(e).
    #[test]
    fn canonical_text_is_a_fixed_point_of_parsing(e in event_with_security()) {
        let canonical = e.canonical_json();
        let back = parse(&canonical)?;
        prop_assert_eq!(&back.canonical_json(), &canonical);
        prop_assert_eq!(back.security, None);
        prop_assert_eq!(AuditEvent::parse(&canonical).unwrap().unknown_fields, Vec::<String>::new());
    }

    /// ASCII only, no member that prunes, keys in code point order (a
    /// `BTreeMap<String, _>` iterates in code point order, and `to_json`
    /// writes that order with nothing pruned).
    #[test]
    fn canonical_text_is_ascii_pruned_and_sorted(e in event_with_security()) {
        let canonical = e.canonical_json();
        prop_assert!(
            canonical.bytes().all(|b| (0x20..=0x7e).contains(&b)),
            "not printable ASCII: {}", canonical
        );
        let tree = parse_value(&canonical).unwrap();
        prop_assert_eq!(tree.to_json(), canonical.as_str());
        let top = tree.as_object().unwrap();
        prop_assert!(!top.contains_key("security"));
        assert_pruned(&tree, "")?;
        if let Some(metadata) = e.eventdata.as_ref().and_then(|d| d.metadata.as_ref()) {
            // `issensitive` is always written when metadata is present.
            let written = &top["eventdata"].as_object().unwrap()["metadata"]
                .as_object().unwrap()["issensitive"];
            prop_assert_eq!(written, &Value::Bool(metadata.issensitive));
        }
    }

    /// `security` is never part of the canonical text.
    #[test]
    fn security_does_not_change_the_canonical_text(e in event(), s in security()) {
        let mut sealed = e.clone();
        sealed.security = Some(s);
        prop_assert_eq!(sealed.canonical_json(), e.canonical_json());
    }

    /// published(parse(published(e))) == published(e), and the canonical
    /// text and seal survive the trip.
    #[test]
    fn published_form_round_trips(e in event_with_security()) {
        let published = e.published_json();
        let back = parse(&published)?;
        prop_assert_eq!(&back.published_json(), &published);
        prop_assert_eq!(back.canonical_json(), e.canonical_json());
        let hash = |e: &AuditEvent| {
            e.security.as_ref().and_then(|s| s.hash.clone()).filter(|h| !h.is_empty())
        };
        prop_assert_eq!(hash(&back), hash(&e));
        if e.security.is_none() {
            prop_assert_eq!(&published, &e.canonical_json());
        }
    }

    /// Payload values keep exact integers, doubles and strings through text.
    #[test]
    fn payload_values_round_trip_through_text(v in value()) {
        let text = v.to_json();
        let back = parse_value(&text).unwrap();
        prop_assert_eq!(&back, &v);
        prop_assert_eq!(back.to_json(), text);
        prop_assert_eq!(back.canonical_json(), v.canonical_json());
    }
}

// ---- Parsing never panics, and errors name real paths. ----

/// Every string literal in `text`, decoded, as far as the text is JSON: the
/// keys the parser can have seen.
fn keys_in(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut keys = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < bytes.len() && bytes[i] != b'"' {
            i += if bytes[i] == b'\\' { 2 } else { 1 };
        }
        if i >= bytes.len() {
            break;
        }
        i += 1;
        // Any string may be where the parser looked for a key (an error
        // such as "expected ':' after the key" names a key without one).
        if let Ok(key) = serde_json::from_str::<String>(&text[start..i]) {
            keys.push(key);
        }
    }
    keys
}

/// True when `path` is a chain of members (`a.b`) and indices (`[0]`) whose
/// keys all occur in the text: a path that exists, at least in part, in
/// the input. Keys may themselves contain `.` or `[`, so every split is tried.
fn is_made_of(path: &str, keys: &[String]) -> bool {
    fn after_segment(rest: &str, keys: &[String]) -> bool {
        match rest.as_bytes().first() {
            None => true,
            Some(b'.') => segment(&rest[1..], keys),
            Some(b'[') => segment(rest, keys),
            Some(_) => false,
        }
    }
    fn segment(rest: &str, keys: &[String]) -> bool {
        if let Some(inner) = rest.strip_prefix('[') {
            if let Some(end) = inner.find(']') {
                let digits = &inner[..end];
                if !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && after_segment(&inner[end + 1..], keys)
                {
                    return true;
                }
            }
        }
        keys.iter()
            .any(|key| match rest.strip_prefix(key.as_str()) {
                // An empty key followed by `[` reads the same as no key: skip it
                // (and do not loop).
                Some(r) if key.is_empty() => {
                    (r.is_empty() || r.starts_with('.')) && after_segment(r, keys)
                }
                Some(r) => after_segment(r, keys),
                None => false,
            })
    }
    path.is_empty() || segment(path, keys)
}

fn check_error(text: &str, error: &ParseError) -> Result<(), TestCaseError> {
    let path = error.path();
    let shown = error.to_string();
    let field = if path.is_empty() { "event" } else { path };
    // Shown escaped: a key must not put a control character on the terminal.
    let field = auditlog_core::printable(field);
    prop_assert!(
        shown.starts_with(&format!("{field}: ")),
        "{shown:?} does not start with its path {path:?}"
    );
    prop_assert!(
        is_made_of(path, &keys_in(text)),
        "error path {path:?} is not in the input {text:?} ({shown})"
    );
    if let ParseErrorKind::Syntax { column, .. } = error.kind() {
        prop_assert!(
            (1..=text.chars().count() + 1).contains(column),
            "column {column} outside {text:?}"
        );
    }
    Ok(())
}

/// Parses `text`; on success the canonical form is still a fixed point, on
/// failure the error is checked.
fn parse_anything(text: &str) -> Result<(), TestCaseError> {
    match AuditEvent::parse(text) {
        Ok(parsed) => {
            let canonical = parsed.event.canonical_json();
            prop_assert_eq!(parse(&canonical)?.canonical_json(), canonical);
        }
        Err(error) => check_error(text, &error)?,
    }
    match parse_value(text) {
        Ok(v) => prop_assert_eq!(parse_value(&v.to_json()).unwrap(), v),
        Err(error) => check_error(text, &error)?,
    }
    Ok(())
}

/// Pieces of JSON (and of almost-JSON) to splice into valid events.
const SNIPPETS: &[&str] = &[
    "\"",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    " ",
    "null",
    "true",
    "0",
    "-",
    "1.5",
    "1e400",
    "-1e999",
    "NaN",
    "Infinity",
    "-Infinity",
    "\\",
    "\\u",
    "\\ud800",
    "\\udc00x",
    "\\ud83d\\ude00",
    "\\x",
    "\u{1}",
    "\u{7f}",
    "\u{e9}",
    "\u{1f600}",
    "\"a\":1",
    "{}",
    "[]",
    "\"\"",
    "01",
    "1.",
    ".5",
    "99999999999999999999999",
    "\"k\":{\"z\":[",
    "]]]]",
    "}}}}",
    "[[[[",
    "\"id\":",
    "\"groups\":",
];

#[derive(Debug, Clone)]
enum Edit {
    Delete(Index),
    Insert(Index, &'static str),
    Replace(Index, &'static str),
    Duplicate(Index, Index),
    Truncate(Index),
    Swap(Index, Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    let snippet = || select(SNIPPETS);
    prop_oneof![
        any::<Index>().prop_map(Edit::Delete),
        (any::<Index>(), snippet()).prop_map(|(i, s)| Edit::Insert(i, s)),
        (any::<Index>(), snippet()).prop_map(|(i, s)| Edit::Replace(i, s)),
        (any::<Index>(), any::<Index>()).prop_map(|(i, j)| Edit::Duplicate(i, j)),
        any::<Index>().prop_map(Edit::Truncate),
        (any::<Index>(), any::<Index>()).prop_map(|(i, j)| Edit::Swap(i, j)),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let at = |i: &Index, len: usize| i.index(len);
    match edit {
        Edit::Delete(i) => {
            chars.remove(at(i, chars.len()));
        }
        Edit::Insert(i, s) => {
            let i = at(i, chars.len() + 1);
            chars.splice(i..i, s.chars());
        }
        Edit::Replace(i, s) => {
            let i = at(i, chars.len());
            chars.splice(i..=i, s.chars());
        }
        Edit::Duplicate(i, j) => {
            let (a, b) = (at(i, chars.len()), at(j, chars.len()));
            let (a, b) = (a.min(b), a.max(b));
            let copy: Vec<char> = chars[a..=b].to_vec();
            chars.splice(a..a, copy);
        }
        Edit::Truncate(i) => chars.truncate(at(i, chars.len())),
        Edit::Swap(i, j) => {
            let (a, b) = (at(i, chars.len()), at(j, chars.len()));
            chars.swap(a, b);
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        parse_anything(&text)?;
    }

    #[test]
    fn json_like_text_never_panics(
        text in "[ \\[\\]{}\",:a-e0-9\\\\.eE+-]{0,60}|\\{\"[a-z]{0,3}\":[^\\n]{0,40}"
    ) {
        parse_anything(&text)?;
    }

    #[test]
    fn damaged_events_never_panic(
        e in event_with_security(),
        edits in proptest::collection::vec(edit(), 1..4),
    ) {
        let mut text = e.published_json();
        for edit in &edits {
            text = apply(&text, edit);
        }
        parse_anything(&text)?;
    }
}

// ---- A value of the wrong type is named by its exact path. ----

/// Where a value of another type is put into an otherwise valid event.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// A string field at this path.
    Text(&'static [&'static str]),
    /// A section (an optional object) at this path.
    Section(&'static [&'static str]),
    /// A payload (an object, `null` refused).
    Payload(&'static str),
    Groups,
    /// One element of `groups`.
    Group,
    IsSensitive,
}

const TARGETS: &[Target] = &[
    Target::Text(&["id"]),
    Target::Text(&["specversion"]),
    Target::Text(&["timestamp"]),
    Target::Text(&["traceid"]),
    Target::Text(&["transactionid"]),
    Target::Text(&["tenantid"]),
    Target::Text(&["subject", "userid"]),
    Target::Text(&["subject", "type"]),
    Target::Text(&["kubernetes", "namespacename"]),
    Target::Text(&["kubernetes", "podname"]),
    Target::Text(&["kubernetes", "containername"]),
    Target::Text(&["kubernetes", "nodename"]),
    Target::Text(&["objectref", "resource"]),
    Target::Text(&["objectref", "resourceid"]),
    Target::Text(&["objectref", "apiversion"]),
    Target::Text(&["action", "name"]),
    Target::Text(&["action", "method"]),
    Target::Text(&["action", "severity"]),
    Target::Text(&["action", "status"]),
    Target::Text(&["network", "sourceip"]),
    Target::Text(&["network", "useragent"]),
    Target::Text(&["eventdata", "metadata", "compliancecategory"]),
    Target::Text(&["security", "hash"]),
    Target::Text(&["security", "signature"]),
    Target::Section(&["subject"]),
    Target::Section(&["kubernetes"]),
    Target::Section(&["objectref"]),
    Target::Section(&["action"]),
    Target::Section(&["network"]),
    Target::Section(&["eventdata"]),
    Target::Section(&["security"]),
    Target::Section(&["eventdata", "metadata"]),
    Target::Payload("requestpayload"),
    Target::Payload("responsepayload"),
    Target::Groups,
    Target::Group,
    Target::IsSensitive,
];

/// The object at `path` inside `top`, made an (empty) object if it was not one.
fn object_at<'a>(top: &'a mut Map, path: &[&str]) -> &'a mut Map {
    let mut map = top;
    for key in path {
        let slot = map.entry((*key).to_owned()).or_insert(Value::Null);
        if !matches!(slot, Value::Object(_)) {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(inner) = slot else {
            unreachable!()
        };
        map = inner;
    }
    map
}

/// Puts `new` at `target`; returns the path of the error expected, if any.
fn put(top: &mut Map, target: Target, new: Value, at: Index) -> Option<String> {
    let wrong = |path: String, ok: bool| (!ok).then_some(path);
    match target {
        Target::Text(path) => {
            let ok = matches!(new, Value::Null | Value::String(_));
            let (last, parents) = path.split_last().unwrap();
            object_at(top, parents).insert((*last).to_owned(), new);
            wrong(path.join("."), ok)
        }
        Target::Section(path) => {
            // Objects get members the model does not know, so only the type
            // of the section itself is in question.
            let new = match new {
                Value::Object(map) => Value::Object(
                    map.into_iter()
                        .map(|(k, v)| (format!("x-{k}"), v))
                        .collect(),
                ),
                other => other,
            };
            let ok = matches!(new, Value::Null | Value::Object(_));
            let (last, parents) = path.split_last().unwrap();
            object_at(top, parents).insert((*last).to_owned(), new);
            wrong(path.join("."), ok)
        }
        Target::Payload(name) => {
            let ok = matches!(new, Value::Object(_));
            object_at(top, &["eventdata"]).insert(name.to_owned(), new);
            wrong(format!("eventdata.{name}"), ok)
        }
        Target::IsSensitive => {
            let ok = matches!(new, Value::Bool(_));
            object_at(top, &["eventdata", "metadata"]).insert("issensitive".to_owned(), new);
            wrong("eventdata.metadata.issensitive".to_owned(), ok)
        }
        Target::Groups | Target::Group => {
            let groups = match target {
                Target::Groups => new,
                _ => {
                    let mut items: Vec<Value> = ["g0", "g1", "g2"].map(Value::from).to_vec();
                    items.insert(at.index(items.len() + 1), new);
                    Value::Array(items)
                }
            };
            let expected = match &groups {
                Value::Array(items) => items
                    .iter()
                    .position(|item| !matches!(item, Value::String(_)))
                    .map(|i| format!("subject.groups[{i}]")),
                _ => Some("subject.groups".to_owned()),
            };
            object_at(top, &["subject"]).insert("groups".to_owned(), groups);
            expected
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// A value of any type at any field: accepted exactly where the model
    /// (and the Python reference) accepts that type, otherwise refused with
    /// the field's exact path.
    #[test]
    fn a_wrong_type_is_refused_with_the_exact_path(
        e in event_with_security(),
        target in select(TARGETS),
        new in value(),
        at in any::<Index>(),
    ) {
        let mut tree = parse_value(&e.published_json()).unwrap();
        let Value::Object(top) = &mut tree else { unreachable!() };
        let expected = put(top, target, new, at);
        let text = tree.to_json();
        match (AuditEvent::parse(&text), expected) {
            (Ok(_), None) => {}
            (Err(error), Some(path)) => {
                prop_assert_eq!(error.path(), path.as_str(), "{}", error);
                prop_assert!(
                    matches!(error.kind(), ParseErrorKind::ExpectedType { .. }),
                    "{}", error
                );
                check_error(&text, &error)?;
            }
            (Ok(_), Some(path)) => {
                prop_assert!(false, "accepted a wrong type at {path}: {text}");
            }
            (Err(error), None) => {
                prop_assert!(false, "refused a valid event ({error}): {text}");
            }
        }
    }
}

#[test]
fn path_checker_accepts_real_paths_and_refuses_invented_ones() {
    let text = r#"{"a.b":{"c":[{"d":1}]},"e":"f\u0067"}"#;
    let keys = keys_in(text);
    assert_eq!(keys, ["a.b", "c", "d", "e", "fg"]);
    for good in ["", "a.b", "a.b.c", "a.b.c[0]", "a.b.c[0].d", "e"] {
        assert!(is_made_of(good, &keys), "{good}");
    }
    for bad in ["x", "a", "a.b.x", "a.b.c[", "a.b.c[x]", "e.", "c[0]d"] {
        assert!(!is_made_of(bad, &keys), "{bad}");
    }
}
