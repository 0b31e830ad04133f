//! Properties of sealing over generated events: seal then verify holds (with
//! and without a key, and fails with the wrong one); changing any field's
//! value, adding a non-empty field or removing a present one breaks the
//! hash; adding an empty one does not (it is pruned).
//!
//! The event strategies are auditlog-testkit's.

// Fields are addressed by number (closures capture it), names only shown.
#![allow(clippy::needless_range_loop)]

use auditlog_core::{AuditEvent, Map, Value};
use auditlog_seal::{
    compute_hash, seal, sign, verify, verify_json, verify_json_as, SigningKey, Strictness,
    VerifyError, VerifyJsonError,
};
use auditlog_testkit::strategies::{
    empty_value, event, key, leaf, metadata, non_empty_text, prunes_away, text, value,
};
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use proptest::sample::Index;
use sha2::{Digest, Sha256};

/// A signing key: any non-empty text, non-ASCII included.
fn secret() -> impl Strategy<Value = String> {
    "\\PC{1,16}"
}

fn signing_key(secret: &str) -> SigningKey {
    SigningKey::new(secret).unwrap()
}

fn sealed(e: &AuditEvent, key: Option<&SigningKey>) -> AuditEvent {
    let mut e = e.clone();
    seal(&mut e, key);
    e
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The hash is the SHA-256 of the canonical text and the signature the
    /// HMAC of the hash, computed here independently.
    #[test]
    fn hash_and_signature_are_what_the_spec_says(e in event(), secret in secret()) {
        let hash = compute_hash(&e);
        prop_assert_eq!(&hash, &hex::encode(Sha256::digest(e.canonical_json().as_bytes())));
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(hash.as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        prop_assert_eq!(sign(&hash, &signing_key(&secret)), signature.clone());
        let e = sealed(&e, Some(&signing_key(&secret)));
        let security = e.security.unwrap();
        prop_assert_eq!(security.hash, Some(hash));
        prop_assert_eq!(security.signature, Some(signature));
    }

    #[test]
    fn seal_then_verify_holds(e in event(), secret in secret()) {
        let key = signing_key(&secret);
        let other = signing_key(&format!("{secret}x"));

        let signed = sealed(&e, Some(&key));
        prop_assert_eq!(verify(&signed, Some(&key)), Ok(()));
        prop_assert_eq!(verify(&signed, None), Ok(()));
        prop_assert_eq!(verify(&signed, Some(&other)), Err(VerifyError::SignatureMismatch));

        // On the wire and back.
        let published = signed.published_json();
        let verified = verify_json(&published, Some(&key))
            .map_err(|error| TestCaseError::fail(format!("{error}: {published}")))?;
        prop_assert!(verify_json_as(&published, Some(&key), Strictness::Lenient).is_ok());
        prop_assert_eq!(verified.event.canonical_json(), e.canonical_json());
        prop_assert_eq!(
            verify_json(&published, Some(&other)),
            Err(VerifyJsonError::Seal(VerifyError::SignatureMismatch))
        );

        let unsigned = sealed(&e, None);
        prop_assert_eq!(unsigned.security.as_ref().unwrap().signature.as_deref(), None);
        prop_assert_eq!(verify(&unsigned, None), Ok(()));
        prop_assert_eq!(verify(&unsigned, Some(&key)), Err(VerifyError::MissingSignature));

        prop_assert_eq!(verify(&e, None), Err(VerifyError::MissingHash));
        let mut no_hash = signed.clone();
        no_hash.security.as_mut().unwrap().hash = Some(String::new());
        prop_assert_eq!(verify(&no_hash, Some(&key)), Err(VerifyError::MissingHash));
    }
}

// ---- Where an event can be changed. ----

/// The string fields of the model, by wire path.
const STRING_FIELDS: [&str; 22] = [
    "id",
    "specversion",
    "timestamp",
    "traceid",
    "transactionid",
    "tenantid",
    "subject.userid",
    "subject.type",
    "kubernetes.namespacename",
    "kubernetes.podname",
    "kubernetes.containername",
    "kubernetes.nodename",
    "objectref.resource",
    "objectref.resourceid",
    "objectref.apiversion",
    "action.name",
    "action.method",
    "action.severity",
    "action.status",
    "network.sourceip",
    "network.useragent",
    "eventdata.metadata.compliancecategory",
];

/// Index of `eventdata.metadata.compliancecategory`: setting it creates
/// `metadata`, which is never empty (`issensitive` is always written).
const COMPLIANCE: usize = 21;

fn open<T: Default>(slot: &mut Option<T>) -> &mut T {
    slot.get_or_insert_with(T::default)
}

/// The string field number `i`, creating its section if needed.
fn field_mut(e: &mut AuditEvent, i: usize) -> &mut Option<String> {
    match i {
        0 => &mut e.id,
        1 => &mut e.specversion,
        2 => &mut e.timestamp,
        3 => &mut e.traceid,
        4 => &mut e.transactionid,
        5 => &mut e.tenantid,
        6 => &mut open(&mut e.subject).userid,
        7 => &mut open(&mut e.subject).user_type,
        8 => &mut open(&mut e.kubernetes).namespacename,
        9 => &mut open(&mut e.kubernetes).podname,
        10 => &mut open(&mut e.kubernetes).containername,
        11 => &mut open(&mut e.kubernetes).nodename,
        12 => &mut open(&mut e.objectref).resource,
        13 => &mut open(&mut e.objectref).resourceid,
        14 => &mut open(&mut e.objectref).apiversion,
        15 => &mut open(&mut e.action).name,
        16 => &mut open(&mut e.action).method,
        17 => &mut open(&mut e.action).severity,
        18 => &mut open(&mut e.action).status,
        19 => &mut open(&mut e.network).sourceip,
        20 => &mut open(&mut e.network).useragent,
        COMPLIANCE => &mut open(&mut open(&mut e.eventdata).metadata).compliancecategory,
        _ => unreachable!(),
    }
}

fn field(e: &AuditEvent, i: usize) -> Option<String> {
    field_mut(&mut e.clone(), i).clone()
}

fn has_metadata(e: &AuditEvent) -> bool {
    e.eventdata.as_ref().is_some_and(|d| d.metadata.is_some())
}

const SECTIONS: [&str; 6] = [
    "subject",
    "kubernetes",
    "objectref",
    "action",
    "network",
    "eventdata",
];

fn section_present(e: &AuditEvent, i: usize) -> bool {
    match i {
        0 => e.subject.is_some(),
        1 => e.kubernetes.is_some(),
        2 => e.objectref.is_some(),
        3 => e.action.is_some(),
        4 => e.network.is_some(),
        _ => e.eventdata.is_some(),
    }
}

/// Sets section `i` to `None` or to an empty section.
fn set_section(e: &mut AuditEvent, i: usize, present: bool) {
    fn set<T: Default>(slot: &mut Option<T>, present: bool) {
        *slot = present.then(T::default);
    }
    match i {
        0 => set(&mut e.subject, present),
        1 => set(&mut e.kubernetes, present),
        2 => set(&mut e.objectref, present),
        3 => set(&mut e.action, present),
        4 => set(&mut e.network, present),
        _ => set(&mut e.eventdata, present),
    }
}

/// Whether section `i` is written in the canonical text, decided from the
/// spec: some string field in it is non-empty, or `groups` is, or (for
/// `eventdata`) metadata is present or a payload has a member that stays.
fn section_survives(e: &AuditEvent, i: usize) -> bool {
    let strings = STRING_FIELDS
        .iter()
        .enumerate()
        .filter(|(j, name)| *j != COMPLIANCE && name.starts_with(&format!("{}.", SECTIONS[i])))
        .any(|(j, _)| field(e, j).is_some_and(|s| !s.is_empty()));
    strings
        || match i {
            0 => e.subject.as_ref().is_some_and(|s| !s.groups.is_empty()),
            5 => e.eventdata.as_ref().is_some_and(|d| {
                d.metadata.is_some()
                    || !prunes_away(&Value::Object(d.requestpayload.clone()))
                    || !prunes_away(&Value::Object(d.responsepayload.clone()))
            }),
            _ => false,
        }
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A place in a payload: which one, and the steps to it (empty: the
/// payload object itself).
#[derive(Debug, Clone)]
struct Place {
    request: bool,
    steps: Vec<Step>,
}

/// The places of the payloads: the nodes written in the canonical text
/// (`alive`), the scalars among them and the empty containers inside arrays
/// (`leaves`), and every object and array (where members can be added).
#[derive(Debug, Default)]
struct Places {
    alive: Vec<Place>,
    leaves: Vec<Place>,
    objects: Vec<Place>,
    arrays: Vec<Place>,
}

fn places(e: &AuditEvent) -> Places {
    let mut out = Places::default();
    if let Some(data) = &e.eventdata {
        for (request, map) in [(true, &data.requestpayload), (false, &data.responsepayload)] {
            out.objects.push(Place {
                request,
                steps: Vec::new(),
            });
            for (key, member) in map {
                let mut steps = vec![Step::Key(key.clone())];
                walk(member, request, &mut steps, false, true, &mut out);
            }
        }
    }
    out
}

fn walk(
    value: &Value,
    request: bool,
    steps: &mut Vec<Step>,
    in_array: bool,
    parent_alive: bool,
    out: &mut Places,
) {
    // Inside arrays nothing is dropped; in objects, what prunes away is.
    let alive = parent_alive && (in_array || !prunes_away(value));
    let place = || Place {
        request,
        steps: steps.clone(),
    };
    if alive {
        out.alive.push(place());
    }
    match value {
        Value::Object(map) => {
            out.objects.push(place());
            if alive && in_array && map.is_empty() {
                out.leaves.push(place());
            }
            for (key, member) in map {
                steps.push(Step::Key(key.clone()));
                walk(member, request, steps, false, alive, out);
                steps.pop();
            }
        }
        Value::Array(items) => {
            out.arrays.push(place());
            if alive && in_array && items.is_empty() {
                out.leaves.push(place());
            }
            for (i, item) in items.iter().enumerate() {
                steps.push(Step::Index(i));
                walk(item, request, steps, true, alive, out);
                steps.pop();
            }
        }
        _ => {
            if alive {
                out.leaves.push(place());
            }
        }
    }
}

fn payload_mut(e: &mut AuditEvent, request: bool) -> &mut Map {
    let data = open(&mut e.eventdata);
    if request {
        &mut data.requestpayload
    } else {
        &mut data.responsepayload
    }
}

/// The value at a non-empty path.
fn at<'a>(map: &'a mut Map, steps: &[Step]) -> &'a mut Value {
    let (Step::Key(first), rest) = steps.split_first().unwrap() else {
        unreachable!("a payload's members have keys")
    };
    let mut value = map.get_mut(first).unwrap();
    for step in rest {
        value = match (step, value) {
            (Step::Key(k), Value::Object(m)) => m.get_mut(k).unwrap(),
            (Step::Index(i), Value::Array(a)) => &mut a[*i],
            _ => unreachable!(),
        };
    }
    value
}

/// The object at a place (the payload itself for an empty path).
fn object_at<'a>(e: &'a mut AuditEvent, place: &Place) -> &'a mut Map {
    let map = payload_mut(e, place.request);
    if place.steps.is_empty() {
        return map;
    }
    match at(map, &place.steps) {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn remove_at(e: &mut AuditEvent, place: &Place) {
    let (last, parent) = place.steps.split_last().unwrap();
    let map = payload_mut(e, place.request);
    match (last, parent.is_empty()) {
        (Step::Key(k), true) => {
            map.remove(k);
        }
        (Step::Key(k), false) => match at(map, parent) {
            Value::Object(m) => _ = m.remove(k),
            _ => unreachable!(),
        },
        (Step::Index(i), false) => match at(map, parent) {
            Value::Array(a) => _ = a.remove(*i),
            _ => unreachable!(),
        },
        (Step::Index(_), true) => unreachable!(),
    }
}

/// A key not in `map` (or whose value prunes away, so it is not written).
fn free_key(map: &Map, mut key: String) -> String {
    while map.get(&key).is_some_and(|v| !prunes_away(v)) {
        key.push('\u{1}');
    }
    key
}

/// A change to apply, with what it is for messages.
type Mutation = (String, Box<dyn Fn(&mut AuditEvent)>);

/// Inputs for mutations, drawn by proptest.
#[derive(Debug, Clone)]
struct Draw {
    text: String,
    leaf: Value,
    value: Value,
    empty: Value,
    key: String,
    metadata: auditlog_core::Metadata,
}

fn draw() -> impl Strategy<Value = Draw> {
    (
        non_empty_text(),
        leaf(),
        value(),
        empty_value(),
        key(),
        metadata(),
    )
        .prop_map(|(text, leaf, value, empty, key, metadata)| Draw {
            text,
            leaf,
            value,
            empty,
            key,
            metadata,
        })
}

/// A different non-empty string.
fn other_text(old: &str, new: &str) -> String {
    if old == new {
        format!("{old}x")
    } else {
        new.to_owned()
    }
}

/// Changes of a present value to another value.
fn changes(e: &AuditEvent, d: &Draw) -> Vec<Mutation> {
    let mut out: Vec<Mutation> = Vec::new();
    for i in 0..STRING_FIELDS.len() {
        if let Some(old) = field(e, i).filter(|s| !s.is_empty()) {
            let new = other_text(&old, &d.text);
            out.push((
                format!("{} := {new:?}", STRING_FIELDS[i]),
                Box::new(move |e: &mut AuditEvent| *field_mut(e, i) = Some(new.clone())),
            ));
        }
    }
    if let Some(subject) = &e.subject {
        for (j, old) in subject.groups.iter().enumerate() {
            let new = other_text(old, &d.text);
            out.push((
                format!("subject.groups[{j}] := {new:?}"),
                Box::new(move |e: &mut AuditEvent| {
                    e.subject.as_mut().unwrap().groups[j] = new.clone()
                }),
            ));
        }
    }
    if has_metadata(e) {
        out.push((
            "flip eventdata.metadata.issensitive".into(),
            Box::new(|e: &mut AuditEvent| {
                let m = e.eventdata.as_mut().unwrap().metadata.as_mut().unwrap();
                m.issensitive = !m.issensitive;
            }),
        ));
    }
    for place in places(e).leaves {
        let in_object = matches!(place.steps.last(), Some(Step::Key(_)));
        let old = at(payload_mut(&mut e.clone(), place.request), &place.steps).clone();
        let new = [
            d.leaf.clone(),
            Value::from("\u{1}changed"),
            Value::Bool(true),
            Value::Bool(false),
        ]
        .into_iter()
        .find(|new| new.to_json() != old.to_json() && !(in_object && prunes_away(new)))
        .unwrap();
        out.push((
            format!("payload {place:?} := {new:?} (was {old:?})"),
            Box::new(move |e: &mut AuditEvent| {
                *at(payload_mut(e, place.request), &place.steps) = new.clone()
            }),
        ));
    }
    out
}

/// Removals of something that is written.
fn removals(e: &AuditEvent) -> Vec<Mutation> {
    let mut out: Vec<Mutation> = Vec::new();
    for i in 0..STRING_FIELDS.len() {
        if field(e, i).is_some_and(|s| !s.is_empty()) {
            out.push((
                format!("remove {}", STRING_FIELDS[i]),
                Box::new(move |e: &mut AuditEvent| *field_mut(e, i) = None),
            ));
        }
    }
    if let Some(subject) = &e.subject {
        if !subject.groups.is_empty() {
            out.push((
                "remove subject.groups".into(),
                Box::new(|e: &mut AuditEvent| e.subject.as_mut().unwrap().groups.clear()),
            ));
        }
        for j in 0..subject.groups.len() {
            out.push((
                format!("remove subject.groups[{j}]"),
                Box::new(move |e: &mut AuditEvent| {
                    _ = e.subject.as_mut().unwrap().groups.remove(j)
                }),
            ));
        }
    }
    if has_metadata(e) {
        out.push((
            "remove eventdata.metadata".into(),
            Box::new(|e: &mut AuditEvent| e.eventdata.as_mut().unwrap().metadata = None),
        ));
    }
    for i in 0..SECTIONS.len() {
        if section_survives(e, i) {
            out.push((
                format!("remove {}", SECTIONS[i]),
                Box::new(move |e: &mut AuditEvent| set_section(e, i, false)),
            ));
        }
    }
    for place in places(e).alive {
        out.push((
            format!("remove payload {place:?}"),
            Box::new(move |e: &mut AuditEvent| remove_at(e, &place)),
        ));
    }
    out
}

/// Additions of something non-empty where it was not written.
fn additions(e: &AuditEvent, d: &Draw) -> Vec<Mutation> {
    let mut out: Vec<Mutation> = Vec::new();
    for i in 0..STRING_FIELDS.len() {
        if field(e, i).is_none_or(|s| s.is_empty()) {
            let new = d.text.clone();
            out.push((
                format!("add {} = {new:?}", STRING_FIELDS[i]),
                Box::new(move |e: &mut AuditEvent| *field_mut(e, i) = Some(new.clone())),
            ));
        }
    }
    let group = d.key.clone();
    out.push((
        format!("add a group {group:?}"),
        Box::new(move |e: &mut AuditEvent| open(&mut e.subject).groups.push(group.clone())),
    ));
    if !has_metadata(e) {
        let metadata = d.metadata.clone();
        out.push((
            format!("add eventdata.metadata = {metadata:?}"),
            Box::new(move |e: &mut AuditEvent| {
                open(&mut e.eventdata).metadata = Some(metadata.clone())
            }),
        ));
    }
    // A payload member that stays: anything but what prunes away.
    let member = if prunes_away(&d.value) {
        Value::from(d.text.clone())
    } else {
        d.value.clone()
    };
    let places = places(e);
    for place in places.objects {
        let key = free_key(object_at(&mut e.clone(), &place), d.key.clone());
        let member = member.clone();
        out.push((
            format!("add payload {place:?} . {key:?} = {member:?}"),
            Box::new(move |e: &mut AuditEvent| {
                _ = object_at(e, &place).insert(key.clone(), member.clone())
            }),
        ));
    }
    for place in places.arrays {
        // Inside an array, even null or {} is written.
        let item = d.value.clone();
        out.push((
            format!("push onto payload {place:?}: {item:?}"),
            Box::new(move |e: &mut AuditEvent| {
                match at(payload_mut(e, place.request), &place.steps) {
                    Value::Array(items) => items.push(item.clone()),
                    _ => unreachable!(),
                }
            }),
        ));
    }
    if e.eventdata.is_none() {
        let key = d.key.clone();
        out.push((
            format!("add eventdata.requestpayload.{key:?} = {member:?}"),
            Box::new(move |e: &mut AuditEvent| {
                _ = payload_mut(e, true).insert(key.clone(), member.clone())
            }),
        ));
    }
    out
}

/// Additions of empty things: all pruned, so the hash does not change.
fn empty_additions(e: &AuditEvent, d: &Draw) -> Vec<Mutation> {
    let mut out: Vec<Mutation> = Vec::new();
    for i in 0..STRING_FIELDS.len() {
        if i == COMPLIANCE && !has_metadata(e) {
            // It would create metadata, which is never empty.
            continue;
        }
        match field(e, i).as_deref() {
            None => out.push((
                format!("add {} = \"\"", STRING_FIELDS[i]),
                Box::new(move |e: &mut AuditEvent| *field_mut(e, i) = Some(String::new())),
            )),
            Some("") => out.push((
                format!("remove the empty {}", STRING_FIELDS[i]),
                Box::new(move |e: &mut AuditEvent| *field_mut(e, i) = None),
            )),
            Some(_) => {}
        }
    }
    for i in 0..SECTIONS.len() {
        if !section_present(e, i) {
            out.push((
                format!("add an empty {}", SECTIONS[i]),
                Box::new(move |e: &mut AuditEvent| set_section(e, i, true)),
            ));
        }
    }
    if let Some(subject) = &e.subject {
        if subject.groups.is_empty() {
            out.push((
                "set subject.groups to []".into(),
                Box::new(|e: &mut AuditEvent| e.subject.as_mut().unwrap().groups = Vec::new()),
            ));
        }
    }
    let places = places(e);
    for place in places.objects {
        let map = object_at(&mut e.clone(), &place).clone();
        let key = free_key(&map, d.key.clone());
        // Over a member that is itself pruned, or a new one.
        let empty = d.empty.clone();
        out.push((
            format!("add payload {place:?} . {key:?} = {empty:?}"),
            Box::new(move |e: &mut AuditEvent| {
                _ = object_at(e, &place).insert(key.clone(), empty.clone())
            }),
        ));
    }
    let key = d.key.clone();
    let empty = d.empty.clone();
    if e.eventdata.is_none() {
        out.push((
            format!("add eventdata.responsepayload.{key:?} = {empty:?}"),
            Box::new(move |e: &mut AuditEvent| {
                _ = payload_mut(e, false).insert(key.clone(), empty.clone())
            }),
        ));
    }
    out
}

/// Applies mutation number `pick` of `mutations` to a copy of `e`.
fn mutate(e: &AuditEvent, mutations: &[Mutation], pick: &Index) -> (String, AuditEvent) {
    let (what, change) = &mutations[pick.index(mutations.len())];
    let mut changed = e.clone();
    change(&mut changed);
    (what.clone(), changed)
}

/// Checks that `changed` no longer verifies, by the hash, with or without
/// the key, as a struct and on the wire.
fn assert_broken(
    what: &str,
    original: &AuditEvent,
    changed: &AuditEvent,
    key: &SigningKey,
) -> Result<(), TestCaseError> {
    prop_assert_ne!(
        changed.canonical_json(),
        original.canonical_json(),
        "{} left the canonical text as it was",
        what
    );
    prop_assert_eq!(
        verify(changed, Some(key)),
        Err(VerifyError::HashMismatch),
        "{}",
        what
    );
    prop_assert_eq!(
        verify(changed, None),
        Err(VerifyError::HashMismatch),
        "{}",
        what
    );
    prop_assert_eq!(
        verify_json(&changed.published_json(), Some(key)).map(|_| ()),
        Err(VerifyJsonError::Seal(VerifyError::HashMismatch)),
        "{}",
        what
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any field's value (envelope, section fields, a group, issensitive, a
    /// payload leaf) changed after sealing: the hash no longer matches.
    #[test]
    fn changing_any_value_breaks_the_hash(
        e in event(), secret in secret(), d in draw(), pick in any::<Index>(),
    ) {
        let key = signing_key(&secret);
        let e = sealed(&e, Some(&key));
        let mutations = changes(&e, &d);
        prop_assume!(!mutations.is_empty());
        let (what, changed) = mutate(&e, &mutations, &pick);
        assert_broken(&what, &e, &changed, &key)?;
    }

    #[test]
    fn removing_a_present_field_breaks_the_hash(
        e in event(), secret in secret(), pick in any::<Index>(),
    ) {
        let key = signing_key(&secret);
        let e = sealed(&e, Some(&key));
        let mutations = removals(&e);
        prop_assume!(!mutations.is_empty());
        let (what, changed) = mutate(&e, &mutations, &pick);
        assert_broken(&what, &e, &changed, &key)?;
    }

    #[test]
    fn adding_a_non_empty_field_breaks_the_hash(
        e in event(), secret in secret(), d in draw(), pick in any::<Index>(),
    ) {
        let key = signing_key(&secret);
        let e = sealed(&e, Some(&key));
        let mutations = additions(&e, &d);
        let (what, changed) = mutate(&e, &mutations, &pick);
        assert_broken(&what, &e, &changed, &key)?;
    }

    /// null, "", [] and {} (nested too) are pruned: adding them anywhere a
    /// member can go leaves the hash, and the seal, as they were.
    #[test]
    fn adding_an_empty_field_keeps_the_hash(
        e in event(), secret in secret(), d in draw(), pick in any::<Index>(),
    ) {
        let key = signing_key(&secret);
        let e = sealed(&e, Some(&key));
        let mutations = empty_additions(&e, &d);
        prop_assume!(!mutations.is_empty());
        let (what, changed) = mutate(&e, &mutations, &pick);
        prop_assert_eq!(changed.canonical_json(), e.canonical_json(), "{}", what);
        prop_assert_eq!(compute_hash(&changed), compute_hash(&e), "{}", what);
        prop_assert_eq!(verify(&changed, Some(&key)), Ok(()), "{}", what);
    }

    /// Empty metadata is not nothing: `issensitive` is written (false), as
    /// in the Python reference, so adding it changes the hash.
    #[test]
    fn adding_empty_metadata_changes_the_hash(e in event()) {
        prop_assume!(!has_metadata(&e));
        let mut with = e.clone();
        open(&mut with.eventdata).metadata = Some(Default::default());
        prop_assert_ne!(compute_hash(&with), compute_hash(&e));
        let canonical = with.canonical_json();
        prop_assert!(
            canonical.contains(r#""metadata":{"issensitive":false}"#),
            "{}",
            canonical
        );
    }

    /// A group that is empty text still counts: elements of arrays are
    /// never dropped.
    #[test]
    fn an_empty_group_is_kept(e in event(), at in any::<Index>()) {
        let mut with = e.clone();
        let groups = &mut open(&mut with.subject).groups;
        groups.insert(at.index(groups.len() + 1), String::new());
        prop_assert_ne!(compute_hash(&with), compute_hash(&e));
    }

    /// Payload keys and strings: the text decides the hash, whatever the
    /// characters.
    #[test]
    fn payload_strings_of_different_text_hash_differently(
        a in text(), b in text(), k in key(),
    ) {
        prop_assume!(a != b && !a.is_empty() && !b.is_empty());
        let with = |s: &str| {
            let mut e = AuditEvent::default();
            payload_mut(&mut e, true).insert(k.clone(), Value::from(s));
            compute_hash(&e)
        };
        prop_assert_ne!(with(&a), with(&b));
    }
}
