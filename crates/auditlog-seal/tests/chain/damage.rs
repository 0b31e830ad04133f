//! Each kind of damage to a sealed stream, named for what it is: missing,
//! reordered, duplicated, forged links, rotated keys, Ed25519, conflicts.

use super::*;

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
