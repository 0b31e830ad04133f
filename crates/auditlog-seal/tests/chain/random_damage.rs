//! Property tests: random damage, each reported as what it is.

use super::*;

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
