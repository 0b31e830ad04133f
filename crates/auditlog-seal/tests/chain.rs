//! Chains end to end: sealed streams, what each kind of damage is reported
//! as, key rotation, Ed25519, and the Python reference accepting chained
//! events unchanged.

use std::io::Write;
use std::process::{Command, Stdio};

use auditlog_core::{AuditEvent, Map, Value};
use auditlog_seal::{
    ChainKey, ChainSealer, Duplicated, Keyring, LineFailure, SigningKey, StreamReport,
    StreamVerifier, Strictness, Unauthenticated, Unmet, VerifyError,
};
use proptest::prelude::*;
use proptest::sample::Index;

const CHAIN: &str = "orders-api-0";

fn hmac_key(kid: &str, secret: &str) -> ChainKey {
    ChainKey::hmac(kid, SigningKey::new(secret).unwrap()).unwrap()
}

fn ring(keys: &[&ChainKey]) -> Keyring {
    let mut ring = Keyring::new();
    for key in keys {
        ring.add((*key).clone()).unwrap();
    }
    ring
}

fn event(i: usize) -> AuditEvent {
    let mut payload = Map::new();
    payload.insert("n".into(), Value::from(i as i64));
    payload.insert("note".into(), Value::from("é😀\"x\""));
    AuditEvent::builder()
        .id(format!("00000000-0000-4000-8000-{i:012}"))
        .timestamp("2026-11-23T08:15:30.123456+00:00")
        .tenant_id("t-1")
        .action_name("orders.create")
        .request_payload(payload)
        .build()
}

/// `n` sealed events and the checkpoints, kept apart as a verifier that
/// stores checkpoints separately would have them (one every `every` events
/// and one at the end).
struct Stream {
    events: Vec<String>,
    checkpoints: Vec<String>,
}

fn sealed(n: usize, every: u64, key: ChainKey) -> Stream {
    let mut sealer = ChainSealer::new(CHAIN, key)
        .unwrap()
        .checkpoint_every(every);
    let mut stream = Stream {
        events: Vec::new(),
        checkpoints: Vec::new(),
    };
    for i in 0..n {
        stream.events.push(sealer.seal_to_json(&mut event(i)));
        if sealer.checkpoint_due() {
            stream
                .checkpoints
                .push(sealer.checkpoint().published_json());
        }
    }
    stream
        .checkpoints
        .push(sealer.checkpoint().published_json());
    stream
}

fn verify(keys: &Keyring, events: &[String], checkpoints: &[String]) -> StreamReport {
    verify_with(StreamVerifier::new(keys), events, checkpoints)
}

fn verify_with(
    mut verifier: StreamVerifier<'_>,
    events: &[String],
    checkpoints: &[String],
) -> StreamReport {
    for (line, text) in (1..).zip(events.iter().chain(checkpoints)) {
        verifier.feed(line, text);
    }
    verifier.finish()
}

fn seqs(ranges: &[std::ops::RangeInclusive<u64>]) -> Vec<u64> {
    ranges.iter().flat_map(|r| r.clone()).collect()
}

#[test]
fn a_clean_stream_is_clean_and_says_so() {
    let key = hmac_key("k1", "secret");
    let stream = sealed(10, 4, key.clone());
    let report = verify(&ring(&[&key]), &stream.events, &stream.checkpoints);
    assert!(report.is_clean(), "{report}");
    let chain = &report.chains[CHAIN];
    assert_eq!(chain.events, 10);
    assert_eq!(chain.checkpointed, Some(10));
    assert_eq!(chain.checkpoints, 3);
    assert_eq!(report.valid, 13);
    assert!(report
        .to_string()
        .starts_with("chain orders-api-0: 10 events up to seq 10, 3 checkpoints"));
    assert!(report.to_string().ends_with("OK: 13 lines, 1 chains: 13 valid, 0 invalid, 0 missing, 0 truncated, 0 reordered, 0 duplicated, 0 unchained, 0 unauthenticated, 0 unmet\n"), "{report}");
}

#[test]
fn each_kind_of_damage_is_named() {
    let key = hmac_key("k1", "secret");
    let keys = ring(&[&key]);
    let stream = sealed(12, 100, key);
    let mut events = stream.events.clone();
    // Line 3 edited, event 5 deleted, 8 and 9 swapped, 2 delivered again,
    // the last two cut off, an unsigned event and a foreign member added.
    events[2] = events[2].replace("orders.create", "orders.delete");
    events.swap(7, 8);
    events.insert(9, events[1].clone());
    events.remove(4);
    events.truncate(events.len() - 2);
    let mut plain = event(99);
    auditlog_seal::seal(&mut plain, None);
    events.push(plain.published_json());
    events.push(events[0].replacen('{', r#"{"approved":true,"#, 1));
    // Read leniently, the line with a foreign member is an unauthenticated
    // copy of event 1 (strictly, it is not in published form: see below).
    let lenient = StreamVerifier::new(&keys).strictness(Strictness::Lenient);
    let report = verify_with(lenient, &events, &stream.checkpoints);
    assert!(!report.is_clean());
    let chain = &report.chains[CHAIN];
    assert_eq!(chain.missing, [5..=5]);
    assert_eq!(chain.truncated, Some(11..=12));
    assert_eq!(chain.reordered.len(), 1);
    assert!([8, 9].contains(&chain.reordered[0].seq), "{report}");
    // Event 1 arrived twice more (the copy with the foreign member is still
    // event 1), event 2 once more.
    assert_eq!(
        chain.duplicated,
        [
            Duplicated { seq: 1, extra: 1 },
            Duplicated { seq: 2, extra: 1 }
        ]
    );
    assert_eq!(report.invalid.len(), 1, "{report}");
    assert_eq!(report.invalid[0].line, 3);
    assert_eq!(report.invalid[0].seq, Some(3));
    assert_eq!(
        report.invalid[0].failure,
        LineFailure::Seal(VerifyError::HashMismatch)
    );
    assert_eq!(report.unchained, [11]);
    assert_eq!(
        report.unauthenticated,
        [Unauthenticated {
            line: 12,
            fields: vec!["approved".to_owned()]
        }]
    );
    let json = report.to_json();
    for expected in [
        r#""missing":[[5,5]]"#,
        r#""truncated":[11,12]"#,
        r#""duplicated":[{"extra":1,"seq":1},{"extra":1,"seq":2}]"#,
        r#""invalid":[{"chain":"orders-api-0","check":"hash-mismatch","line":3,"message":"hash mismatch: the content changed after sealing","seq":3}]"#,
        r#""unchained":[11]"#,
        r#""unauthenticated":[{"fields":["approved"],"line":12}]"#,
        r#""ok":false"#,
    ] {
        assert!(json.contains(expected), "{expected}\n{json}");
    }
    assert!(auditlog_core::parse_value(&json).is_ok());
    let text = report.to_string();
    for expected in [
        "MISSING seq 5\n",
        "TRUNCATED seq 11-12 (a checkpoint vouches for 12 events)",
        "duplicated (delivered again, not tampering): seq 1 (+1), 2 (+1)",
        "INVALID line 3 (chain orders-api-0, seq 3): hash mismatch",
        "UNCHAINED (sealed, but in no chain) lines 11\n",
        "UNAUTHENTICATED line 12: fields no hash or link covers: approved",
        "FAILED: 13 lines",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
}

#[test]
fn changed_chain_fields_break_the_link() {
    let key = hmac_key("k1", "secret");
    let keys = ring(&[&key]);
    let stream = sealed(3, 100, key);
    let second = &stream.events[1];
    let cases = [
        second.replace(r#""seq":2"#, r#""seq":4"#),
        second.replace(r#""chain":"orders-api-0""#, r#""chain":"orders-api-1""#),
    ];
    for (i, edited) in cases.iter().enumerate() {
        assert_ne!(edited, second);
        let report = verify(&keys, std::slice::from_ref(edited), &[]);
        assert_eq!(report.invalid[0].failure, LineFailure::Link, "case {i}");
    }
    // prev pointing elsewhere: replace its first hex digit.
    let security = AuditEvent::from_json(second).unwrap().security.unwrap();
    let prev = security.prev.unwrap();
    let flipped = format!(
        "{}{}",
        if prev.starts_with('0') { '1' } else { '0' },
        &prev[1..]
    );
    let edited = second.replace(&prev, &flipped);
    let report = verify(&keys, &[edited], &[]);
    assert_eq!(report.invalid[0].failure, LineFailure::Link);

    // A link without a key id, or with an id the keyring does not know.
    let no_kid = second.replace(r#""kid":"k1","#, "");
    assert_eq!(
        verify(&keys, &[no_kid], &[]).invalid[0].failure,
        LineFailure::MissingField("security.kid")
    );
    let other_kid = second.replace(r#""kid":"k1""#, r#""kid":"k9""#);
    assert_eq!(
        verify(&keys, &[other_kid], &[]).invalid[0].failure,
        LineFailure::UnknownKey
    );
}

#[test]
fn rotated_keys_verify_old_events_and_going_back_is_reported() {
    let (k1, k2) = (hmac_key("2026-10", "old"), hmac_key("2026-11", "new"));
    let mut sealer = ChainSealer::new(CHAIN, k1.clone()).unwrap();
    let mut lines: Vec<String> = (0..3).map(|i| sealer.seal_to_json(&mut event(i))).collect();
    sealer.rotate(k2.clone());
    lines.extend((3..6).map(|i| sealer.seal_to_json(&mut event(i))));
    let checkpoint = sealer.checkpoint().published_json();

    let mut keys = ring(&[&k1, &k2]);
    keys.retire("2026-10");
    let report = verify(&keys, &lines, std::slice::from_ref(&checkpoint));
    assert!(report.is_clean(), "{report}");

    // Without the retired key its events cannot be checked.
    let report = verify(&ring(&[&k2]), &lines, std::slice::from_ref(&checkpoint));
    assert_eq!(
        report.invalid.iter().map(|i| i.line).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(report
        .invalid
        .iter()
        .all(|i| i.failure == LineFailure::UnknownKey));

    // Sealing with the old key again after the new one was in use.
    sealer.rotate(k1);
    lines.push(sealer.seal_to_json(&mut event(6)));
    let report = verify(&keys, &lines, &[]);
    assert_eq!(report.invalid.len(), 1, "{report}");
    assert_eq!(report.invalid[0].line, 7);
    assert_eq!(
        report.invalid[0].failure,
        LineFailure::KeyRollback {
            newer: "2026-11".into()
        }
    );
}

#[test]
fn ed25519_chains_verify_with_the_public_key_alone() {
    let key = ChainKey::ed25519("ed-1", &[42; 32]).unwrap();
    let public = key.public_key().unwrap();
    let stream = sealed(5, 2, key);
    let mut keys = Keyring::new();
    keys.add_public("ed-1", &public).unwrap();
    let report = verify(&keys, &stream.events, &stream.checkpoints);
    assert!(report.is_clean(), "{report}");
    let any = Keyring::any_kid_ed25519(&public).unwrap();
    assert!(verify(&any, &stream.events, &stream.checkpoints).is_clean());

    let tampered = stream.events[3].replace("orders.create", "orders.delete");
    let report = verify(&keys, &[tampered], &[]);
    assert_eq!(
        report.invalid[0].failure,
        LineFailure::Seal(VerifyError::HashMismatch)
    );

    // Nothing checks a `signature` under an Ed25519 key: it is reported.
    let with_signature = stream.events[0].replace(
        r#""seq":1}"#,
        &format!(r#""seq":1,"signature":"{}"}}"#, "ab".repeat(32)),
    );
    assert_ne!(with_signature, stream.events[0]);
    let report = verify(&keys, &[with_signature], &[]);
    assert_eq!(
        report.unauthenticated,
        [Unauthenticated {
            line: 1,
            fields: vec!["security.signature".to_owned()]
        }]
    );
    assert!(report.invalid.is_empty());

    // Another key pair, or an HMAC key under the same id, does not verify.
    let mut other = Keyring::new();
    other
        .add_public(
            "ed-1",
            &ChainKey::ed25519("x", &[43; 32])
                .unwrap()
                .public_key()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        verify(&other, &stream.events[..1], &[]).invalid[0].failure,
        LineFailure::Link
    );
    let hmac_same_id = ring(&[&hmac_key("ed-1", "secret")]);
    assert_eq!(
        verify(&hmac_same_id, &stream.events[..1], &[]).invalid[0].failure,
        LineFailure::Link
    );
}

#[test]
fn two_histories_under_one_key_are_conflicts_not_duplicates() {
    let key = hmac_key("k1", "secret");
    let keys = ring(&[&key]);
    let honest = sealed(4, 100, key.clone());
    // A second sealer reusing the chain id (a restart that forgot its state,
    // or a key holder rewriting history).
    let mut other = ChainSealer::new(CHAIN, key).unwrap();
    let rewritten: Vec<String> = (10..14)
        .map(|i| other.seal_to_json(&mut event(i)))
        .collect();
    let other_checkpoint = other.checkpoint().published_json();

    let mut lines = honest.events.clone();
    lines.push(rewritten[2].clone());
    let report = verify(&keys, &lines, &[other_checkpoint]);
    assert_eq!(report.invalid.len(), 2, "{report}");
    assert_eq!(report.invalid[0].failure, LineFailure::Conflict);
    assert_eq!(report.invalid[0].line, 5);
    assert_eq!(report.invalid[1].failure, LineFailure::CheckpointMismatch);

    // Checkpoints of two histories, with the events they vouch for cut off.
    let honest_checkpoint = &honest.checkpoints[0];
    let report = verify(
        &keys,
        &honest.events[..2],
        &[
            honest_checkpoint.clone(),
            other.checkpoint().published_json(),
        ],
    );
    let failures: Vec<_> = report
        .invalid
        .iter()
        .map(|i| (i.line, &i.failure))
        .collect();
    assert_eq!(
        failures,
        [(4, &LineFailure::CheckpointMismatch)],
        "{report}"
    );
    assert_eq!(report.chains[CHAIN].truncated, Some(3..=4));

    // Spliced histories: event 3 of the other chain in place of the honest 3.
    let mut spliced = honest.events.clone();
    spliced[2] = rewritten[2].clone();
    let report = verify(&keys, &spliced, &[]);
    let failures: Vec<_> = report
        .invalid
        .iter()
        .map(|i| (i.line, &i.failure))
        .collect();
    assert_eq!(
        failures,
        [(3, &LineFailure::Fork), (4, &LineFailure::Fork)],
        "{report}"
    );
}

#[test]
fn checkpoints_are_authenticated_too() {
    let key = hmac_key("k1", "secret");
    let keys = ring(&[&key]);
    let stream = sealed(3, 100, key);
    let checkpoint = &stream.checkpoints[0];
    let longer = checkpoint.replace(r#""length":3"#, r#""length":30"#);
    let report = verify(&keys, &stream.events, &[longer]);
    assert_eq!(report.invalid[0].failure, LineFailure::Link);
    assert_eq!(report.chains[CHAIN].truncated, None);
}

// ---- Property tests: random damage, each reported as what it is. ----

#[derive(Debug, Clone)]
enum Damage {
    /// Delete some events (by index into the original stream).
    Delete(Vec<Index>),
    /// Cut the stream after this many events (at least one is cut).
    Truncate(Index),
    /// Move one event elsewhere.
    Move(Index, Index),
    /// Change an event's content.
    Edit(Index),
    /// Change an event's position or chain.
    Reposition(Index),
    /// Insert an event sealed with a key the verifier does not trust, under
    /// the same key id.
    Forge(Index),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        prop::collection::vec(any::<Index>(), 1..4).prop_map(Damage::Delete),
        any::<Index>().prop_map(Damage::Truncate),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Damage::Move(a, b)),
        any::<Index>().prop_map(Damage::Edit),
        any::<Index>().prop_map(Damage::Reposition),
        any::<Index>().prop_map(Damage::Forge),
    ]
}

/// Redelivery: copies of runs of events appended after them, as an
/// at-least-once consumer or producer retry does.
fn redeliver(events: &[String], runs: &[(Index, Index)]) -> Vec<String> {
    let mut out = events.to_vec();
    for (at, len) in runs {
        if out.is_empty() {
            break;
        }
        let end = at.index(out.len()) + 1;
        let start = end - 1 - len.index(end.min(5));
        let copies: Vec<String> = out[start..end].to_vec();
        out.splice(end..end, copies);
    }
    out
}

fn clean_stream_raises_no_alarm(
    key: ChainKey,
    n: usize,
    every: u64,
    runs: &[(Index, Index)],
) -> Result<(), TestCaseError> {
    let keys = ring(&[&key]);
    let stream = sealed(n, every, key);
    let events = redeliver(&stream.events, runs);
    let report = verify(&keys, &events, &stream.checkpoints);
    prop_assert!(report.is_clean(), "{}", report);
    let chain = &report.chains[CHAIN];
    let extra: u64 = chain.duplicated.iter().map(|d| d.extra).sum();
    prop_assert_eq!(extra as usize, events.len() - n);
    prop_assert_eq!(
        report.valid as usize,
        events.len() + stream.checkpoints.len()
    );
    Ok(())
}

proptest! {
    // Ed25519 is slow in debug builds: fewer and shorter streams.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn clean_ed25519_streams_raise_no_alarm(
        n in 1usize..12,
        every in 1u64..5,
        runs in prop::collection::vec((any::<Index>(), any::<Index>()), 0..3),
    ) {
        clean_stream_raises_no_alarm(ChainKey::ed25519("k1", &[9; 32]).unwrap(), n, every, &runs)?;
    }
}

fn no_damage_but(report: &StreamReport) -> (bool, bool, bool, bool, bool) {
    let chain = report.chains.get(CHAIN).cloned().unwrap_or_default();
    (
        !chain.missing.is_empty(),
        chain.truncated.is_some(),
        !chain.reordered.is_empty(),
        !report.invalid.is_empty(),
        !report.unchained.is_empty() || !report.unauthenticated.is_empty(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn clean_streams_with_or_without_duplicates_raise_no_alarm(
        n in 1usize..40,
        every in 1u64..10,
        runs in prop::collection::vec((any::<Index>(), any::<Index>()), 0..4),
    ) {
        clean_stream_raises_no_alarm(hmac_key("k1", "secret"), n, every, &runs)?;
    }

    #[test]
    fn damage_is_detected_and_reported_as_what_it_is(
        n in 2usize..40,
        every in 1u64..10,
        damage in damage(),
        runs in prop::collection::vec((any::<Index>(), any::<Index>()), 0..3),
    ) {
        let key = hmac_key("k1", "secret");
        let keys = ring(&[&key]);
        let stream = sealed(n, every, key);
        let mut events = stream.events.clone();
        // (missing, truncated, reordered, invalid, unchained/unauthenticated)
        let expected: (bool, bool, bool, bool, bool);
        match &damage {
            Damage::Delete(indices) => {
                let mut gone: Vec<usize> = indices.iter().map(|i| i.index(n)).collect();
                gone.sort_unstable();
                gone.dedup();
                for &i in gone.iter().rev() {
                    events.remove(i);
                }
                // Deleted events before the last survivor are missing; those
                // after it are a cut-off tail.
                let survivors: Vec<usize> = (0..n).filter(|i| !gone.contains(i)).collect();
                let last = survivors.last().map_or(0, |&i| i as u64 + 1);
                let missing: Vec<u64> = gone.iter().map(|&i| i as u64 + 1).filter(|&s| s < last).collect();
                let truncated = (last as usize) < n;
                let report = verify(&keys, &redeliver(&events, &runs), &stream.checkpoints);
                let chain = report.chains.get(CHAIN).cloned().unwrap_or_default();
                prop_assert_eq!(seqs(&chain.missing), missing.clone(), "{}", report);
                prop_assert_eq!(chain.truncated.clone(), truncated.then(|| last + 1..=n as u64));
                expected = (!missing.is_empty(), truncated, false, false, false);
            }
            Damage::Truncate(at) => {
                let keep = at.index(n);
                events.truncate(keep);
                let report = verify(&keys, &redeliver(&events, &runs), &stream.checkpoints);
                let chain = report.chains.get(CHAIN).cloned().unwrap_or_default();
                prop_assert_eq!(chain.truncated.clone(), Some(keep as u64 + 1..=n as u64), "{}", report);
                expected = (false, true, false, false, false);
            }
            Damage::Move(from, to) => {
                let (from, to) = (from.index(n), to.index(n));
                prop_assume!(from != to);
                let moved = events.remove(from);
                events.insert(to, moved);
                // Redelivery is left out here: a redelivered run could put a
                // copy of the moved event back in place.
                let report = verify(&keys, &events, &stream.checkpoints);
                let chain = &report.chains[CHAIN];
                prop_assert_eq!(chain.reordered.len(), 1, "{}", report);
                let seq = chain.reordered[0].seq as usize - 1;
                prop_assert!(seq == from || (from.abs_diff(to) == 1 && seq == to), "{}", report);
                expected = (false, false, true, false, false);
            }
            Damage::Edit(i) => {
                let i = i.index(n);
                events[i] = events[i].replace("orders.create", "orders.cancel");
                let report = verify(&keys, &events, &stream.checkpoints);
                prop_assert_eq!(report.invalid.len(), 1);
                prop_assert_eq!(report.invalid[0].line, i as u64 + 1);
                prop_assert_eq!(&report.invalid[0].failure, &LineFailure::Seal(VerifyError::HashMismatch));
                expected = (false, false, false, true, false);
            }
            Damage::Reposition(i) => {
                let i = i.index(n);
                let seq = format!(r#""seq":{}"#, i + 1);
                events[i] = events[i].replace(&seq, r#""seq":1000"#);
                let report = verify(&keys, &events, &stream.checkpoints);
                prop_assert_eq!(report.invalid.len(), 1);
                // The first event has no `prev`, so moved elsewhere it lacks one.
                let failure = &report.invalid[0].failure;
                prop_assert!(
                    *failure == LineFailure::Link
                        || (i == 0 && *failure == LineFailure::MissingField("security.prev")),
                    "{}", report
                );
                // Its real place is now empty: missing, or a cut-off tail.
                let chain = &report.chains[CHAIN];
                let hole = i as u64 + 1;
                prop_assert!(seqs(&chain.missing).contains(&hole) || chain.truncated == Some(hole..=n as u64), "{}", report);
                expected = (i + 1 < n, i + 1 == n, false, true, false);
            }
            Damage::Forge(at) => {
                let mut forger = ChainSealer::new(CHAIN, hmac_key("k1", "guessed")).unwrap();
                let forged = forger.seal_to_json(&mut event(1000));
                let at = at.index(n + 1);
                events.insert(at, forged);
                let report = verify(&keys, &events, &stream.checkpoints);
                prop_assert_eq!(report.invalid.len(), 1);
                prop_assert_eq!(report.invalid[0].line, at as u64 + 1);
                prop_assert_eq!(&report.invalid[0].failure, &LineFailure::Link);
                expected = (false, false, false, true, false);
            }
        }
        let report = verify(&keys, &events, &stream.checkpoints);
        prop_assert!(!report.is_clean(), "{:?}: {}", damage, report);
        prop_assert_eq!(no_damage_but(&report), expected, "{:?}: {}", damage, report);
    }
}

// ---- The Python reference accepts chained events unchanged. ----

fn reference_dir() -> std::path::PathBuf {
    std::env::var_os("AUDITLOG_PYTHON_REFERENCE")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference")
        })
}

/// Runs the reference library's own `verify()` on each line with `key` and
/// returns its verdicts.
fn python_verify(lines: &[String], key: Option<&str>) -> Vec<bool> {
    let dir = reference_dir();
    assert!(
        dir.join("security.py").exists(),
        "the Python reference is not at {} (set AUDITLOG_PYTHON_REFERENCE)",
        dir.display()
    );
    let script = "import json, sys\n\
        sys.path.insert(0, sys.argv[1])\n\
        from models import AuditLogEvent\n\
        from security import verify\n\
        key = sys.argv[2] or None\n\
        for line in sys.stdin:\n\
        \x20   print(json.dumps(verify(AuditLogEvent.model_validate_json(line), key)))\n";
    let mut child = Command::new("python3")
        .args(["-c", script, dir.to_str().unwrap(), key.unwrap_or("")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let input = lines.join("\n") + "\n";
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the reference failed");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| l == "true")
        .collect()
}

#[test]
fn the_python_reference_verifies_chained_events_and_checkpoints_unchanged() {
    let key = hmac_key("k1", "secret");
    let stream = sealed(20, 7, key);
    let lines: Vec<String> = stream
        .events
        .iter()
        .chain(&stream.checkpoints)
        .cloned()
        .collect();
    assert!(python_verify(&lines, Some("secret")).iter().all(|&ok| ok));
    assert_eq!(python_verify(&lines, Some("secret")).len(), lines.len());
    // And it is a real check: a changed event or another key fails there.
    let tampered = lines[0].replace("orders.create", "orders.delete");
    assert_eq!(python_verify(&[tampered], Some("secret")), [false]);
    assert_eq!(python_verify(&lines[..1], Some("other")), [false]);

    // Ed25519 chains carry no HMAC signature: Python checks the hash only.
    let ed = sealed(3, 100, ChainKey::ed25519("ed-1", &[5; 32]).unwrap());
    assert_eq!(python_verify(&ed.events, None), [true, true, true]);
}

#[test]
fn the_oracle_hashes_chained_events_as_we_do() {
    let key = hmac_key("k1", "secret");
    let stream = sealed(10, 4, key);
    let oracle = reference_dir().join("oracle.py");
    let mut child = Command::new("python3")
        .args([oracle.to_str().unwrap(), "secret"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let lines: Vec<&String> = stream.events.iter().chain(&stream.checkpoints).collect();
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    let answers: Vec<&str> = output.lines().collect();
    assert_eq!(answers.len(), lines.len());
    for (line, answer) in lines.iter().zip(answers) {
        let event = AuditEvent::from_json(line).unwrap();
        let security = event.security.as_ref().unwrap();
        let answer = auditlog_core::parse_value(answer).unwrap();
        let answer = answer.as_object().unwrap();
        assert_eq!(
            answer["canonical"].as_str(),
            Some(event.canonical_json().as_str())
        );
        assert_eq!(answer["hash"].as_str(), security.hash.as_deref());
        assert_eq!(answer["signature"].as_str(), security.signature.as_deref());
    }
}

// ---- Several kinds of damage at once, against a model of the stream. ----

#[derive(Debug, Clone)]
enum Op {
    Delete(Index),
    Move(Index, Index),
    Edit(Index),
    Forge(Index),
    Truncate(Index),
    Redeliver(Index, Index),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<Index>().prop_map(Op::Delete),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Op::Move(a, b)),
        any::<Index>().prop_map(Op::Edit),
        any::<Index>().prop_map(Op::Forge),
        any::<Index>().prop_map(Op::Truncate),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Op::Redeliver(a, b)),
    ]
}

/// A line of the damaged stream: which event it was (`None`: forged) and
/// whether its content was changed.
#[derive(Debug, Clone)]
struct Item {
    seq: Option<u64>,
    edited: bool,
    text: String,
}

/// Length of the longest strictly increasing subsequence, the plain
/// quadratic way (independent of the verifier's patience sorting).
fn longest_increasing(seqs: &[u64]) -> usize {
    let mut best = vec![1; seqs.len()];
    for i in 0..seqs.len() {
        for j in 0..i {
            if seqs[j] < seqs[i] {
                best[i] = best[i].max(best[j] + 1);
            }
        }
    }
    best.into_iter().max().unwrap_or(0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn combined_damage_is_reported_exactly(
        n in 1usize..30,
        every in 1u64..8,
        ops in prop::collection::vec(op(), 1..6),
    ) {
        let key = hmac_key("k1", "secret");
        let keys = ring(&[&key]);
        let stream = sealed(n, every, key);
        let mut items: Vec<Item> = (1..)
            .zip(&stream.events)
            .map(|(seq, text)| Item { seq: Some(seq), edited: false, text: text.clone() })
            .collect();
        let mut forger = ChainSealer::new(CHAIN, hmac_key("k1", "guessed")).unwrap();
        for op in &ops {
            let len = items.len();
            match op {
                Op::Delete(i) if len > 0 => {
                    items.remove(i.index(len));
                }
                Op::Move(from, to) if len > 0 => {
                    let item = items.remove(from.index(len));
                    items.insert(to.index(len), item);
                }
                Op::Edit(i) if len > 0 => {
                    let item = &mut items[i.index(len)];
                    item.text = item.text.replace("orders.create", "orders.cancel");
                    item.edited = true;
                }
                Op::Forge(at) => {
                    let text = forger.seal_to_json(&mut event(1000));
                    items.insert(at.index(len + 1), Item { seq: None, edited: false, text });
                }
                Op::Truncate(at) if len > 0 => items.truncate(at.index(len)),
                Op::Redeliver(at, run) if len > 0 => {
                    let end = at.index(len) + 1;
                    let start = end - 1 - run.index(end.min(5));
                    let copies = items[start..end].to_vec();
                    items.splice(end..end, copies);
                }
                _ => {}
            }
        }
        let texts: Vec<String> = items.iter().map(|i| i.text.clone()).collect();
        let report = verify(&keys, &texts, &stream.checkpoints);

        // What the model says the report must contain.
        let invalid = items.iter().any(|i| i.edited || i.seq.is_none());
        let present: std::collections::BTreeSet<u64> = items.iter().filter_map(|i| i.seq).collect();
        let incomplete = present.len() != n;
        let arrivals: Vec<u64> = items.iter().filter(|i| !i.edited).filter_map(|i| i.seq).collect();
        let distinct: std::collections::BTreeSet<u64> = arrivals.iter().copied().collect();
        let reordered = longest_increasing(&arrivals) < distinct.len();

        let chain = report.chains.get(CHAIN).cloned().unwrap_or_default();
        prop_assert_eq!(!report.invalid.is_empty(), invalid, "{:?}\n{}", ops, report);
        prop_assert_eq!(!chain.missing.is_empty() || chain.truncated.is_some(), incomplete, "{:?}\n{}", ops, report);
        prop_assert_eq!(!chain.reordered.is_empty(), reordered, "{:?}\n{}", ops, report);
        prop_assert!(report.unchained.is_empty() && report.unauthenticated.is_empty());
        prop_assert_eq!(report.is_clean(), !(invalid || incomplete || reordered));
        // Every gap is a position no line holds, every held position is no gap.
        let gaps: Vec<u64> = seqs(&chain.missing).into_iter().chain(chain.truncated.clone().into_iter().flatten()).collect();
        let expected_gaps: Vec<u64> = (1..=n as u64).filter(|s| !present.contains(s)).collect();
        prop_assert_eq!(gaps, expected_gaps, "{:?}\n{}", ops, report);
        // Duplicates are counted exactly: valid copies beyond the first.
        let extra: u64 = chain.duplicated.iter().map(|d| d.extra).sum();
        prop_assert_eq!(extra as usize, arrivals.len() - distinct.len());
    }
}

#[test]
fn a_stream_read_from_the_middle_is_checked_from_where_it_starts() {
    let key = hmac_key("k1", "secret");
    let keys = ring(&[&key]);
    let mut sealer = ChainSealer::new(CHAIN, key).unwrap();
    let mut lines: Vec<String> = (0..4).map(|i| sealer.seal_to_json(&mut event(i))).collect();
    lines.push(sealer.checkpoint().published_json());
    lines.extend((4..8).map(|i| sealer.seal_to_json(&mut event(i))));
    let read = |lines: &[String], middle: bool| {
        let mut verifier = StreamVerifier::new(&keys);
        if middle {
            verifier = verifier.from_the_middle();
        }
        for (line, text) in (1..).zip(lines) {
            verifier.feed(line, text);
        }
        verifier.finish()
    };

    // From the start, the skipped events are missing.
    let report = read(&lines[4..], false);
    assert_eq!(report.chains[CHAIN].missing, [1..=4]);
    // From the middle, right after a checkpoint: anchored and clean.
    let report = read(&lines[4..], true);
    assert!(report.is_clean(), "{report}");
    let chain = &report.chains[CHAIN];
    assert_eq!((chain.first, chain.anchored), (Some(5), true));
    assert!(
        report.to_string().contains(
            "note: read from seq 5; the events before are vouched for by a checkpoint, not checked"
        ),
        "{report}"
    );
    // Elsewhere: clean, not anchored; gaps after the start still count.
    let report = read(&lines[6..], true);
    assert!(report.is_clean(), "{report}");
    assert!(!report.chains[CHAIN].anchored);
    let mut gap = lines[6..].to_vec();
    gap.remove(1);
    let report = read(&gap, true);
    assert_eq!(report.chains[CHAIN].missing, [7..=7]);
}

#[test]
fn the_sealed_lines_of_docs_integrity_md_verify_as_a_chain() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/integrity.md"),
    )
    .unwrap();
    let start = doc.find("```json\n{\"action\"").expect("the example") + "```json\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let lines: Vec<String> = doc[start..end].lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3);
    let keys = Keyring::any_kid_hmac(SigningKey::new("k").unwrap());
    let report = verify(&keys, &lines, &[]);
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.chains["c1"].checkpointed, Some(2));
    // They are what `seal --chain c1` makes of the two inputs the doc shows.
    let key = ChainKey::hmac("default", SigningKey::new("k").unwrap()).unwrap();
    let mut sealer = ChainSealer::new("c1", key).unwrap();
    for (input, sealed) in [r#"{"id":"a","action":{"name":"x"}}"#, r#"{"id":"b"}"#]
        .into_iter()
        .zip(&lines)
    {
        let mut event = AuditEvent::from_json(input).unwrap();
        assert_eq!(&sealer.seal_to_json(&mut event), sealed);
    }
}

#[test]
fn strictly_read_a_line_must_be_its_published_form() {
    let key = hmac_key("k1", "secret");
    let keys = ring(&[&key]);
    let stream = sealed(3, 100, key);
    let mut events = stream.events.clone();
    // A member the hash prunes, and a re-spelled line of the same event.
    events[0] = events[0].replacen('{', r#"{"traceid":"","#, 1);
    events[1] = events[1].replacen(r#""specversion":"1.0""#, r#""specversion" : "1.0""#, 1);
    let report = verify(&keys, &events, &stream.checkpoints);
    let failures: Vec<_> = report
        .invalid
        .iter()
        .map(|i| (i.line, i.failure.clone()))
        .collect();
    assert!(
        matches!(
            failures.as_slice(),
            [
                (1, LineFailure::NotPublishedForm { offset: 2 }),
                (2, LineFailure::NotPublishedForm { .. })
            ]
        ),
        "{report}"
    );
    assert!(
        report.to_string().contains("not in published form"),
        "{report}"
    );
    // Leniently, the spacing is fine and the pruned member is unauthenticated.
    let lenient = StreamVerifier::new(&keys).strictness(Strictness::Lenient);
    let report = verify_with(lenient, &events, &stream.checkpoints);
    assert!(report.invalid.is_empty(), "{report}");
    assert_eq!(
        report.unauthenticated,
        [Unauthenticated {
            line: 1,
            fields: vec!["traceid".to_owned()]
        }]
    );
}

#[test]
fn strict_chains_fail_streams_that_prove_too_little() {
    let key = hmac_key("k1", "secret");
    let keys = ring(&[&key]);
    let strict = || StreamVerifier::new(&keys).strict_chains();
    let stream = sealed(6, 100, key.clone());

    // Complete and checkpointed: clean under the strict check too.
    let report = verify_with(strict(), &stream.events, &stream.checkpoints);
    assert!(report.is_clean(), "{report}");

    // Nothing at all.
    let report = verify_with(strict(), &[], &[]);
    assert_eq!(report.unmet, [Unmet::NoEvents]);
    assert!(!report.is_clean());
    assert!(
        verify(&keys, &[], &[]).is_clean(),
        "only the strict check asks"
    );

    // No checkpoint.
    let report = verify_with(strict(), &stream.events, &[]);
    assert_eq!(
        report.unmet,
        [Unmet::NoCheckpoint {
            chain: CHAIN.into()
        }]
    );
    assert!(verify(&keys, &stream.events, &[]).is_clean());

    // Events after the last checkpoint.
    let mut sealer = ChainSealer::new(CHAIN, key).unwrap();
    let mut events: Vec<String> = (0..3).map(|i| sealer.seal_to_json(&mut event(i))).collect();
    events.push(sealer.checkpoint().published_json());
    events.extend((3..5).map(|i| sealer.seal_to_json(&mut event(i))));
    let report = verify_with(strict(), &events, &[]);
    assert_eq!(
        report.unmet,
        [Unmet::Uncheckpointed {
            chain: CHAIN.into(),
            from: 4,
            to: 5
        }],
        "{report}"
    );
    assert!(report
        .to_string()
        .contains("UNMET: chain orders-api-0: seq 4-5 come after the last checkpoint"));

    // Read from the middle: allowed only with from_the_middle.
    let tail = &stream.events[2..];
    let report = verify_with(strict(), tail, &stream.checkpoints);
    assert!(
        report.unmet.contains(&Unmet::NotAnchored {
            chain: CHAIN.into(),
            first: 3
        }),
        "{report}"
    );
    let report = verify_with(strict().from_the_middle(), tail, &stream.checkpoints);
    assert!(report.unmet.is_empty(), "{report}");

    // An expected chain that is absent, strict or not.
    let report = verify_with(
        StreamVerifier::new(&keys)
            .expect_chain("billing-0")
            .expect_chain(CHAIN),
        &stream.events,
        &stream.checkpoints,
    );
    assert_eq!(
        report.unmet,
        [Unmet::ChainAbsent {
            chain: "billing-0".into()
        }]
    );
    assert!(report
        .to_json()
        .contains(r#""unmet":[{"chain":"billing-0","check":"chain-absent","#));
}
