//! Chains longer than one chunk of the verifier's positions (1,024): a
//! position there does not keep its `prev` when it follows the one before,
//! so forks, conflicts, duplicates, early arrivals and anchors across a
//! chunk's end must be reported exactly as for a short chain.

use super::*;

const LENGTH: usize = 2_600;

/// Line numbers (from 1) of the lines in `lines` that are `text`.
fn lines_of(lines: &[String], text: &str) -> Vec<u64> {
    (1..)
        .zip(lines)
        .filter(|(_, l)| *l == text)
        .map(|(n, _)| n)
        .collect()
}

#[test]
fn damage_across_a_chunk_end_is_reported_as_in_a_short_chain() {
    let key = hmac_key("k1", "secret");
    let keys = ring(&[&key]);
    let honest = sealed(LENGTH, 1_000, key.clone());
    // Another history under the same id and key.
    let mut other = ChainSealer::new(CHAIN, key).unwrap();
    let rewritten: Vec<String> = (0..1_025)
        .map(|i| other.seal_to_json(&mut event(10_000 + i)))
        .collect();
    let at = |seq: usize| honest.events[seq - 1].clone();

    let mut lines: Vec<String> = (1..=1_024).map(at).collect();
    // The other history's seq 1025, the first position of the second chunk.
    lines.push(rewritten[1_024].clone());
    for seq in 1_026..=LENGTH {
        match seq {
            2_000 => continue,
            1_501 => {
                lines.push(at(1_501));
                // Far ahead of the run: kept apart until the run reaches it.
                lines.push(at(2_000));
            }
            1_801 => {
                lines.push(at(1_801));
                lines.push(at(1_800));
            }
            _ => lines.push(at(seq)),
        }
    }
    // The honest seq 1025, after the other one took the position.
    lines.push(at(1_025));
    let report = verify(&keys, &lines, &honest.checkpoints);

    let failures: Vec<_> = report
        .invalid
        .iter()
        .map(|i| (i.line, i.seq, &i.failure))
        .collect();
    let conflict_line = lines.len() as u64;
    assert_eq!(
        failures,
        [
            (1_025, Some(1_025), &LineFailure::Fork),
            (1_026, Some(1_026), &LineFailure::Fork),
            (conflict_line, Some(1_025), &LineFailure::Conflict),
        ],
        "{report}"
    );
    let chain = &report.chains[CHAIN];
    assert_eq!(chain.events, LENGTH as u64);
    assert_eq!((chain.first, chain.last), (Some(1), Some(LENGTH as u64)));
    assert!(chain.missing.is_empty() && chain.truncated.is_none());
    assert_eq!(
        chain.duplicated,
        [Duplicated {
            seq: 1_800,
            extra: 1
        }]
    );
    let early = lines_of(&lines, &at(2_000));
    let reordered: Vec<_> = chain.reordered.iter().map(|r| (r.seq, r.line)).collect();
    assert_eq!(reordered, [(2_000, early[0])]);
    assert_eq!(lines_of(&lines, &at(1_800)).len(), 2);
}

#[test]
fn a_stream_read_from_the_middle_of_a_chunk_is_anchored_by_its_checkpoint() {
    let key = hmac_key("k1", "secret");
    let keys = ring(&[&key]);
    let honest = sealed(LENGTH, 1_000, key);
    // Checkpoints for 1,000, 2,000 and 2,600 events.
    assert_eq!(honest.checkpoints.len(), 3);
    for (from, anchored) in [(2_001, true), (1_500, false), (1_025, false)] {
        let verifier = StreamVerifier::new(&keys).from_the_middle();
        let report = verify_with(verifier, &honest.events[from - 1..], &honest.checkpoints);
        assert!(report.invalid.is_empty(), "{report}");
        let chain = &report.chains[CHAIN];
        assert_eq!(chain.first, Some(from as u64));
        assert_eq!(chain.anchored, anchored, "from {from}");
        assert!(chain.missing.is_empty(), "{report}");
    }
}
