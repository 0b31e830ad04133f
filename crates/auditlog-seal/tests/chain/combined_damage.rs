//! Several kinds of damage at once, against a model of the stream.

use super::*;

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
