//! How a stream is read: from the middle, from the docs, strictly, with
//! strict chain requirements.

use super::*;

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
