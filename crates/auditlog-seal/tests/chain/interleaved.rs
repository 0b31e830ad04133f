//! Several chains in one stream, their lines interleaved: each chain is
//! reported as it is when read alone, whatever its id (short, the prefix of
//! another, longer than an id a checked line carries inline) and whatever
//! its damage. The verifier matches a line to the chain of the line before
//! it by comparing ids; these streams change chain on every line.

use super::*;

const SHORT: &str = "a";
const PREFIXED: &str = "a-2";

fn long_id() -> String {
    format!("svc/{}", "y".repeat(90))
}

/// `n` events of chain `id` and its checkpoints (one every `every` events
/// and one at the end).
fn chain_of(id: &str, n: usize, every: u64, key: &ChainKey) -> (Vec<String>, Vec<String>) {
    let mut sealer = ChainSealer::new(id, key.clone())
        .unwrap()
        .checkpoint_every(every);
    let mut events = Vec::new();
    let mut checkpoints = Vec::new();
    for i in 0..n {
        events.push(sealer.seal_to_json(&mut event(i)));
        if sealer.checkpoint_due() {
            checkpoints.push(sealer.checkpoint().published_json());
        }
    }
    checkpoints.push(sealer.checkpoint().published_json());
    (events, checkpoints)
}

/// The damaged chains, each as its lines in order: events, then checkpoints.
fn damaged_chains(key: &ChainKey) -> Vec<(String, Vec<String>)> {
    // Short id: the link of seq 5 changed (one hex digit), seq 3 missing.
    let (mut short, short_checkpoints) = chain_of(SHORT, 12, 5, key);
    let digit = short[4].find(r#""link":""#).unwrap() + 8;
    let flipped = if &short[4][digit..=digit] == "0" {
        "1"
    } else {
        "0"
    };
    short[4].replace_range(digit..=digit, flipped);
    short.remove(2);
    // An id the short one is a prefix of: seq 2 delivered again later,
    // seqs 6 and 7 swapped.
    let (mut prefixed, prefixed_checkpoints) = chain_of(PREFIXED, 12, 5, key);
    prefixed.insert(9, prefixed[1].clone());
    prefixed.swap(5, 6);
    // A long id: seq 4's content changed; seq 9 from another history under
    // the same key (a fork at 9 and 10); a copy of that history's seq 5 (a
    // conflict); the last two events cut off.
    let long_id = long_id();
    let (mut long, long_checkpoints) = chain_of(&long_id, 12, 5, key);
    let mut other = ChainSealer::new(long_id.as_str(), key.clone()).unwrap();
    let rewritten: Vec<String> = (100..109)
        .map(|i| other.seal_to_json(&mut event(i)))
        .collect();
    long[3] = long[3].replace("orders.create", "orders.delete");
    long[8] = rewritten[8].clone();
    long.truncate(10);
    long.push(rewritten[4].clone());
    vec![
        (SHORT.to_owned(), [short, short_checkpoints].concat()),
        (
            PREFIXED.to_owned(),
            [prefixed, prefixed_checkpoints].concat(),
        ),
        (long_id, [long, long_checkpoints].concat()),
    ]
}

/// A chain's report with the line of each reordered event given as its
/// text: the same event has another line number in another stream.
fn as_text(chain: &ChainReport, lines: &[String]) -> (ChainReport, Vec<String>) {
    let mut chain = chain.clone();
    let texts = (chain.reordered.iter_mut())
        .map(|r| std::mem::take(&mut r.line))
        .map(|line| lines[usize::try_from(line).unwrap() - 1].clone())
        .collect();
    (chain, texts)
}

/// The failures of a report, each with the text of its line, in a stable
/// order.
fn failures(report: &StreamReport, lines: &[String]) -> Vec<String> {
    let mut failures: Vec<String> = report
        .invalid
        .iter()
        .map(|i| {
            let text = &lines[usize::try_from(i.line).unwrap() - 1];
            format!("{:?} {:?} {:?} {text}", i.chain, i.seq, i.failure)
        })
        .collect();
    failures.sort();
    failures
}

#[test]
fn interleaved_chains_are_each_reported_as_when_read_alone() {
    let key = hmac_key("k1", "secret");
    let keys = ring(&[&key]);
    let chains = damaged_chains(&key);
    // One line of each chain in turn.
    let longest = chains.iter().map(|(_, lines)| lines.len()).max().unwrap();
    let stream: Vec<String> = (0..longest)
        .flat_map(|i| chains.iter().filter_map(move |(_, lines)| lines.get(i)))
        .cloned()
        .collect();
    let together = verify(&keys, &stream, &[]);

    assert_eq!(together.chains.len(), 3, "{together}");
    let mut alone_failures = Vec::new();
    for (id, lines) in &chains {
        let alone = verify(&keys, lines, &[]);
        assert_eq!(
            as_text(&together.chains[id], &stream),
            as_text(&alone.chains[id], lines),
            "chain {id}"
        );
        alone_failures.extend(failures(&alone, lines));
    }
    alone_failures.sort();
    assert_eq!(failures(&together, &stream), alone_failures);
    assert_eq!(together.lines, stream.len() as u64);

    // And each chain's damage is what was done to it.
    let short = &together.chains[SHORT];
    assert_eq!(short.missing, [3..=3, 5..=5], "{together}");
    let prefixed = &together.chains[PREFIXED];
    assert_eq!(prefixed.duplicated, [Duplicated { seq: 2, extra: 1 }]);
    assert_eq!(prefixed.reordered.len(), 1, "{together}");
    assert!(prefixed.missing.is_empty());
    let long = &together.chains[&long_id()];
    assert_eq!(long.truncated, Some(11..=12));
    assert!(long.missing.is_empty());
    let invalid: Vec<(&str, Option<u64>, &LineFailure)> = together
        .invalid
        .iter()
        .map(|i| (i.chain.as_deref().unwrap(), i.seq, &i.failure))
        .collect();
    let long_id = long_id();
    assert_eq!(
        invalid,
        [
            (SHORT, Some(5), &LineFailure::Link),
            (
                long_id.as_str(),
                Some(4),
                &LineFailure::Seal(VerifyError::HashMismatch)
            ),
            (long_id.as_str(), Some(9), &LineFailure::Fork),
            (long_id.as_str(), Some(10), &LineFailure::Fork),
            (long_id.as_str(), Some(5), &LineFailure::Conflict),
        ],
        "{together}"
    );
}
