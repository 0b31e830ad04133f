//! What the verifier remembers of each chain, and the checks of the chain as
//! a whole that run once the stream has ended.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::positions::Positions;
use crate::keyring::Keyring;
use crate::report::{ChainReport, Duplicated, InvalidLine, LineFailure, Reordered};

#[derive(Debug, Default)]
pub(super) struct ChainState {
    pub(super) entries: Positions,
    /// Positions with valid content, in arrival order, with their lines.
    pub(super) arrivals: Vec<(u64, u64)>,
    pub(super) checkpoints: Vec<SeenCheckpoint>,
}

#[derive(Debug)]
pub(super) struct SeenCheckpoint {
    pub(super) length: u64,
    pub(super) head: Option<[u8; 32]>,
    pub(super) line: u64,
}

impl ChainState {
    /// The chain as a whole: gaps, truncation, reordering, duplicates, and
    /// the failures only the whole chain shows (forks, key rollbacks,
    /// checkpoint mismatches), added to `invalid`.
    pub(super) fn report(
        &self,
        id: &str,
        keys: &Keyring,
        from_the_middle: bool,
        invalid: &mut Vec<InvalidLine>,
    ) -> ChainReport {
        let state = self;
        let mut report = ChainReport {
            checkpoints: state.checkpoints.len() as u64,
            checkpointed: state.checkpoints.iter().map(|c| c.length).max(),
            ..ChainReport::default()
        };
        let mut fail = |line: u64, seq: Option<u64>, failure: LineFailure| {
            invalid.push(InvalidLine {
                line,
                chain: Some(id.to_owned()),
                seq,
                failure,
            });
        };

        if let Some(run) = state.entries.unbroken_run() {
            // What the walk below would find, from the run's bounds and
            // kept `prev`s alone: a run has no gap, a fork only where it
            // kept a `prev`, no key rolled back. This runs after the last
            // line, on one thread: a walk over a long chain was most of it.
            report.events = run.len;
            report.first = Some(run.first);
            report.last = Some(run.first + (run.len - 1));
            report.anchored = run.first == 1;
            let mut expected = 1;
            if from_the_middle {
                expected = run.first;
                report.anchored = run.first == 1
                    || state
                        .checkpoints
                        .iter()
                        .any(|c| c.length == run.first - 1 && c.head == run.first_prev);
            }
            if run.first > expected {
                report.missing.push(expected..=run.first - 1);
            }
            for (seq, line) in run.forks {
                fail(line, Some(seq), LineFailure::Fork);
            }
        } else {
            walk(state, &mut report, keys, from_the_middle, &mut fail);
        }
        let last = report.last.unwrap_or(0);
        if let Some(length) = report.checkpointed.filter(|&l| l > last) {
            report.truncated = Some(last + 1..=length);
        }

        // A checkpoint disagrees with the event at its length, or with an
        // earlier checkpoint of the same length (when that event is gone).
        let mut heads: HashMap<u64, Option<[u8; 32]>> = HashMap::new();
        for checkpoint in &state.checkpoints {
            let head = match state.entries.get(checkpoint.length) {
                Some(entry) => Some(entry.hash),
                None => *heads.entry(checkpoint.length).or_insert(checkpoint.head),
            };
            if checkpoint.length > 0 && checkpoint.head != head {
                fail(checkpoint.line, None, LineFailure::CheckpointMismatch);
            }
        }

        // Each seq once and in order, as a chain read from its source is:
        // nothing duplicated and nothing out of order.
        if state.arrivals.windows(2).all(|pair| pair[0].0 < pair[1].0) {
            return report;
        }
        let mut copies: BTreeMap<u64, u64> = BTreeMap::new();
        for &(seq, _) in &state.arrivals {
            *copies.entry(seq).or_default() += 1;
        }
        report.duplicated = copies
            .into_iter()
            .filter(|&(_, n)| n > 1)
            .map(|(seq, n)| Duplicated { seq, extra: n - 1 })
            .collect();
        report.reordered = out_of_order(&state.arrivals);
        report
    }
}

/// One walk over the positions of `state` in seq order: gaps, forks, key
/// rollbacks.
fn walk(
    state: &ChainState,
    report: &mut ChainReport,
    keys: &Keyring,
    from_the_middle: bool,
    fail: &mut impl FnMut(u64, Option<u64>, LineFailure),
) {
    let mut positions = state.entries.in_order().peekable();
    report.first = positions.peek().map(|&(seq, _)| seq);
    report.anchored = report.first == Some(1);
    let mut expected = 1;
    if let (true, Some((first, entry))) = (from_the_middle, positions.peek()) {
        expected = *first;
        report.anchored = *first == 1
            || state
                .checkpoints
                .iter()
                .any(|c| c.length == first - 1 && c.head == entry.prev);
    }
    let mut newest_rank = 0;
    let mut before: Option<(u64, [u8; 32])> = None;
    for (seq, entry) in positions {
        report.events += 1;
        report.last = Some(seq);
        if seq > expected {
            report.missing.push(expected..=seq - 1);
        }
        expected = seq + 1;
        if let Some((_, hash)) = before.filter(|&(s, _)| s + 1 == seq) {
            if entry.prev != Some(hash) {
                fail(entry.line, Some(seq), LineFailure::Fork);
            }
        }
        before = Some((seq, entry.hash));
        if entry.rank < newest_rank {
            let newer = keys.kid_at(newest_rank).unwrap_or("?").to_owned();
            fail(entry.line, Some(seq), LineFailure::KeyRollback { newer });
        }
        newest_rank = newest_rank.max(entry.rank);
    }
}

/// Positions none of whose copies lies on a longest increasing run of the
/// arrivals, each with the line of its first copy. A copy delivered again
/// later is a duplicate, not out of order, because its first copy is on the run.
fn out_of_order(arrivals: &[(u64, u64)]) -> Vec<Reordered> {
    // Patience sorting: tails[k] ends the best run of length k + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut parent = vec![None; arrivals.len()];
    for (i, &(seq, _)) in arrivals.iter().enumerate() {
        let at = tails.partition_point(|&j| arrivals[j].0 < seq);
        if at > 0 {
            parent[i] = Some(tails[at - 1]);
        }
        if at == tails.len() {
            tails.push(i);
        } else {
            tails[at] = i;
        }
    }
    let mut in_order = HashSet::new();
    let mut next = tails.last().copied();
    while let Some(i) = next {
        in_order.insert(arrivals[i].0);
        next = parent[i];
    }
    let mut reported = HashSet::new();
    let mut out: Vec<Reordered> = arrivals
        .iter()
        .filter(|(seq, _)| !in_order.contains(seq) && reported.insert(*seq))
        .map(|&(seq, line)| Reordered { seq, line })
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::out_of_order;

    fn arrivals(seqs: &[u64]) -> Vec<(u64, u64)> {
        seqs.iter().copied().zip(1..).collect()
    }

    fn reordered(seqs: &[u64]) -> Vec<u64> {
        out_of_order(&arrivals(seqs))
            .into_iter()
            .map(|r| r.seq)
            .collect()
    }

    #[test]
    fn redelivered_runs_are_not_out_of_order() {
        assert_eq!(reordered(&[1, 2, 3, 4, 5, 3, 4, 5, 6]), Vec::<u64>::new());
        assert_eq!(reordered(&[1, 2, 3, 1, 2, 3]), Vec::<u64>::new());
        // An early copy of an event that also arrives in place is a duplicate.
        assert_eq!(reordered(&[1, 5, 2, 3, 4, 5, 6]), Vec::<u64>::new());
    }

    #[test]
    fn the_fewest_moved_events_are_reported() {
        assert_eq!(reordered(&[1, 2, 4, 3, 5]).len(), 1);
        assert_eq!(reordered(&[1, 7, 3, 4, 5, 6, 2, 8]), [2, 7]);
        assert_eq!(reordered(&[5, 1, 2, 3, 4]), [5]);
        assert_eq!(reordered(&[2, 1]).len(), 1);
    }
}
