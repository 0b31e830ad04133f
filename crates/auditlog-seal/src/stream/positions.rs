//! The positions of one chain, by seq: a run of consecutive seqs that most
//! streams are, a hash map for the rest.
//!
//! A chain read in order fills the run one seq after the other: finding
//! and storing a position is an index, not a hash of the seq, and the
//! positions lie in seq order for the checks of the chain as a whole.
//! Seqs are claimed by the lines, so anything outside the run (a gap, a seq
//! far ahead, one before the first seen) goes to the map rather than
//! growing the run.
//!
//! The run is kept small, since it holds every event of the stream: it is
//! stored in fixed chunks (no vector doubling, which copied every position
//! and had the kernel zero twice the pages), and a position in it does not
//! keep its `prev` when that is the hash of the position before it, which
//! it is in any chain without a fork. Such a `prev` is given back from the
//! position before it, so what [`Positions::get`] answers is exactly what
//! was inserted.

use std::collections::HashMap;

/// What the verifier remembers of one authentic position of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Position {
    pub(super) hash: [u8; 32],
    pub(super) prev: Option<[u8; 32]>,
    /// The link tag's fingerprint (`Verifier::check_link`): two copies
    /// of one event have equal tags.
    pub(super) link: [u8; 32],
    pub(super) rank: usize,
    pub(super) line: u64,
}

/// A position in the run, without its `prev` (see [`Positions::prevs`]).
#[derive(Debug)]
struct Kept {
    hash: [u8; 32],
    link: [u8; 32],
    rank: usize,
    line: u64,
}

/// Positions per chunk of the run: 80 KiB chunks.
const CHUNK: usize = 1024;

#[derive(Debug, Default)]
pub(super) struct Positions {
    /// Seq of the run's first position; meaningless while the run is empty.
    first: u64,
    /// Positions of seqs `first`, `first + 1`, ... with none missing, in
    /// chunks of `CHUNK` (every chunk but the last full).
    run: Vec<Vec<Kept>>,
    /// How many positions the run holds.
    run_len: usize,
    /// The `prev` of each position in the run that is not the hash of the
    /// position before it: the run's first, and any fork.
    prevs: HashMap<u64, Option<[u8; 32]>>,
    /// Every other seq: never one that the run covers.
    rest: HashMap<u64, Position>,
    /// Some position of the run has a lower key rank than the one before.
    rank_falls: bool,
}

/// The positions of a chain that are one run whose key ranks never fall,
/// as a chain read whole and in order is: all that the checks of the whole
/// chain need of them, without reading every position.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct UnbrokenRun {
    pub(super) first: u64,
    pub(super) len: u64,
    /// The `prev` of the first position.
    pub(super) first_prev: Option<[u8; 32]>,
    /// Seq and line of each position after the first whose `prev` is not
    /// the hash of the position before it, in seq order.
    pub(super) forks: Vec<(u64, u64)>,
}

impl Positions {
    pub(super) fn get(&self, seq: u64) -> Option<Position> {
        let Some(index) = self.run_index(seq) else {
            return self.rest.get(&seq).cloned();
        };
        let kept = self.kept(index)?;
        let prev = match self.prevs.get(&seq) {
            Some(&prev) => prev,
            None => Some(self.kept(index - 1)?.hash),
        };
        Some(Position {
            hash: kept.hash,
            prev,
            link: kept.link,
            rank: kept.rank,
            line: kept.line,
        })
    }

    /// True when `seq` has a position.
    pub(super) fn contains(&self, seq: u64) -> bool {
        match self.run_index(seq) {
            Some(index) => index < self.run_len,
            None => self.rest.contains_key(&seq),
        }
    }

    /// Stores the position of `seq`, which has none yet.
    pub(super) fn insert(&mut self, seq: u64, position: Position) {
        debug_assert!(!self.contains(seq), "seq {seq} stored twice");
        if self.run_len == 0 && self.rest.is_empty() {
            self.first = seq;
        }
        if self.run_index(seq) == Some(self.run_len) {
            self.push(seq, position);
            // The run may now reach seqs that arrived early.
            while let Some(next) = self.next_seq().filter(|_| !self.rest.is_empty()) {
                let Some(position) = self.rest.remove(&next) else {
                    break;
                };
                self.push(next, position);
            }
        } else {
            self.rest.insert(seq, position);
        }
    }

    /// Appends `position`, of seq `first + run_len`, to the run.
    fn push(&mut self, seq: u64, position: Position) {
        let before = (self.run_len.checked_sub(1)).and_then(|i| self.kept(i));
        let follows = before.is_some_and(|before| Some(before.hash) == position.prev);
        if before.is_some_and(|before| position.rank < before.rank) {
            self.rank_falls = true;
        }
        if !follows {
            self.prevs.insert(seq, position.prev);
        }
        if self.run.last().is_none_or(|chunk| chunk.len() == CHUNK) {
            self.run.push(Vec::with_capacity(CHUNK));
        }
        let chunk = self.run.last_mut().expect("a chunk with room");
        chunk.push(Kept {
            hash: position.hash,
            link: position.link,
            rank: position.rank,
            line: position.line,
        });
        self.run_len += 1;
    }

    /// The positions as an [`UnbrokenRun`], when they are one. Every `prev`
    /// the run kept but its first's is a fork: a position's `prev` is kept
    /// exactly when it is not the hash of the position before.
    pub(super) fn unbroken_run(&self) -> Option<UnbrokenRun> {
        if self.run_len == 0 || !self.rest.is_empty() || self.rank_falls {
            return None;
        }
        // Every kept `prev` is of a position in the run; were one not, its
        // fork must not be dropped silently: a verifier fails closed.
        let line = |seq: u64| {
            let index = seq
                .checked_sub(self.first)
                .and_then(|i| usize::try_from(i).ok());
            let kept = index.and_then(|index| self.kept(index));
            kept.expect("a kept prev is in the run").line
        };
        let mut forks: Vec<(u64, u64)> = (self.prevs.keys())
            .filter(|&&seq| seq != self.first)
            .map(|&seq| (seq, line(seq)))
            .collect();
        forks.sort_unstable();
        Some(UnbrokenRun {
            first: self.first,
            len: self.run_len as u64,
            first_prev: self.prevs.get(&self.first).copied().flatten(),
            forks,
        })
    }

    fn kept(&self, index: usize) -> Option<&Kept> {
        self.run.get(index / CHUNK)?.get(index % CHUNK)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.run_len + self.rest.len()
    }

    /// Every position in increasing order of seq, each as [`get`](Self::get)
    /// gives it, without a look-up per seq: the run is walked chunk by
    /// chunk, its kept `prev`s and the rest sorted once and taken beside it.
    /// The checks of a whole chain read every position, and a hash look-up
    /// of each in the kept `prev`s was most of their cost.
    pub(super) fn in_order(&self) -> impl Iterator<Item = (u64, Position)> + '_ {
        let mut prevs: Vec<(u64, Option<[u8; 32]>)> =
            self.prevs.iter().map(|(&seq, &prev)| (seq, prev)).collect();
        prevs.sort_unstable_by_key(|&(seq, _)| seq);
        let mut prevs = prevs.into_iter().peekable();
        // The hash of the position before, in the run: the `prev` of any
        // position whose own was not kept (the run's first always is).
        let mut before = None;
        let run = (self.run.iter().flatten().zip(0..)).map(move |(kept, index)| {
            let seq = self.first + index;
            let prev = match prevs.next_if(|&(kept_seq, _)| kept_seq == seq) {
                Some((_, prev)) => prev,
                None => before,
            };
            before = Some(kept.hash);
            let position = Position {
                hash: kept.hash,
                prev,
                link: kept.link,
                rank: kept.rank,
                line: kept.line,
            };
            (seq, position)
        });
        let mut rest: Vec<(u64, &Position)> = self.rest.iter().map(|(&seq, p)| (seq, p)).collect();
        rest.sort_unstable_by_key(|&(seq, _)| seq);
        let rest = rest.into_iter().map(|(seq, p)| (seq, p.clone()));
        // No seq is in both: merged by seq.
        let (mut run, mut rest) = (run.peekable(), rest.peekable());
        std::iter::from_fn(move || match (run.peek(), rest.peek()) {
            (Some((in_run, _)), Some((in_rest, _))) if in_rest < in_run => rest.next(),
            (Some(_), _) => run.next(),
            (None, _) => rest.next(),
        })
    }

    /// Where `seq` is or would go in the run: up to one past its end.
    fn run_index(&self, seq: u64) -> Option<usize> {
        let index = usize::try_from(seq.checked_sub(self.first)?).ok()?;
        (index <= self.run_len).then_some(index)
    }

    /// The seq after the run, if it has one.
    fn next_seq(&self) -> Option<u64> {
        self.first.checked_add(self.run_len as u64)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use proptest::prelude::*;

    fn hash(seq: u64) -> [u8; 32] {
        let mut hash = [0; 32];
        hash[..8].copy_from_slice(&seq.to_le_bytes());
        hash
    }

    /// The position of `seq` in a chain without forks: `prev` is the hash
    /// of `seq - 1`.
    fn position(seq: u64) -> Position {
        Position {
            hash: hash(seq),
            prev: seq.checked_sub(1).map(hash),
            link: [seq as u8; 32],
            rank: seq as usize % 3,
            line: seq,
        }
    }

    /// `seq` with another `prev`: none, or the hash of another seq.
    fn forked(seq: u64, prev: Option<u64>) -> Position {
        Position {
            prev: prev.map(|p| hash(p ^ 0xf0f0)),
            ..position(seq)
        }
    }

    fn seqs(positions: &Positions) -> Vec<u64> {
        positions.in_order().map(|(seq, _)| seq).collect()
    }

    proptest! {
        /// Whatever order seqs arrive in, forked or not, the positions
        /// answer like a map: each exactly as inserted, `prev` included.
        #[test]
        fn behaves_like_a_map(arrivals in proptest::collection::vec(
            (prop_oneof![0..40u64, Just(u64::MAX), Just(u64::MAX - 1), 1_000..1_010u64],
             prop_oneof![4 => Just(None), 1 => Just(Some(None)), 1 => (0..50u64).prop_map(|p| Some(Some(p)))]),
            0..80)
        ) {
            let mut positions = Positions::default();
            let mut model = BTreeMap::new();
            for (seq, fork) in arrivals {
                if model.contains_key(&seq) {
                    continue;
                }
                let position = match fork {
                    None => position(seq),
                    Some(prev) => forked(seq, prev),
                };
                positions.insert(seq, position.clone());
                model.insert(seq, position);
                prop_assert_eq!(positions.len(), model.len());
            }
            if let Some(run) = positions.unbroken_run() {
                prop_assert_eq!(run, run_as_walked(&positions));
            }
            let in_order: Vec<(u64, Position)> = positions.in_order().collect();
            prop_assert_eq!(in_order, model.clone().into_iter().collect::<Vec<_>>());
            for seq in (0..45).chain([999, 1_000, 1_011, u64::MAX - 2, u64::MAX - 1, u64::MAX]) {
                prop_assert_eq!(positions.get(seq), model.get(&seq).cloned());
                prop_assert_eq!(positions.contains(seq), model.contains_key(&seq));
            }
        }
    }

    /// What [`Positions::unbroken_run`] must say, read from every position.
    fn run_as_walked(positions: &Positions) -> UnbrokenRun {
        let walked: Vec<(u64, Position)> = positions.in_order().collect();
        let forks = walked
            .windows(2)
            .filter(|pair| pair[1].1.prev != Some(pair[0].1.hash))
            .map(|pair| (pair[1].0, pair[1].1.line))
            .collect();
        UnbrokenRun {
            first: walked[0].0,
            len: walked.len() as u64,
            first_prev: walked[0].1.prev,
            forks,
        }
    }

    #[test]
    fn an_unbroken_run_says_what_a_walk_over_it_finds() {
        let mut positions = Positions::default();
        assert_eq!(positions.unbroken_run(), None);
        let count = 2 * CHUNK as u64 + 9;
        for seq in 3..3 + count {
            let position = match seq {
                // Forks, one at a chunk's end, one at the last position.
                500 => forked(seq, Some(2)),
                1_026 => forked(seq, None),
                _ if seq == 2 + count => forked(seq, Some(5)),
                _ => position(seq),
            };
            positions.insert(
                seq,
                Position {
                    rank: 1,
                    ..position
                },
            );
        }
        let run = positions.unbroken_run().expect("one run, one key");
        assert_eq!(
            run.forks,
            [(500, 500), (1_026, 1_026), (2 + count, 2 + count)]
        );
        assert_eq!(run, run_as_walked(&positions));
        assert_eq!(run.first_prev, Some(hash(2)));
        // A newer key never makes the run broken; an older one after it does.
        positions.insert(
            3 + count,
            Position {
                rank: 2,
                ..position(3 + count)
            },
        );
        assert_eq!(positions.unbroken_run(), Some(run_as_walked(&positions)));
        positions.insert(
            4 + count,
            Position {
                rank: 1,
                ..position(4 + count)
            },
        );
        assert_eq!(positions.unbroken_run(), None);
        // A gap (an early arrival kept aside) does too.
        let mut gapped = Positions::default();
        for seq in [1, 2, 4] {
            gapped.insert(
                seq,
                Position {
                    rank: 0,
                    ..position(seq)
                },
            );
        }
        assert_eq!(gapped.unbroken_run(), None);
        gapped.insert(
            3,
            Position {
                rank: 0,
                ..position(3)
            },
        );
        assert_eq!(gapped.unbroken_run(), Some(run_as_walked(&gapped)));
    }

    #[test]
    fn a_chain_in_order_stays_in_the_run() {
        let mut positions = Positions::default();
        for seq in [5, 6, 8, 9, 7, 10] {
            positions.insert(seq, position(seq));
        }
        // 8 and 9 came early; 7 joined them to the run.
        assert_eq!(positions.run_len, 6);
        assert!(positions.rest.is_empty());
        assert_eq!(seqs(&positions), [5, 6, 7, 8, 9, 10]);
        positions.insert(3, position(3));
        assert_eq!(positions.rest.len(), 1);
        assert_eq!(positions.get(3), Some(position(3)));
        assert_eq!(seqs(&positions), [3, 5, 6, 7, 8, 9, 10]);
    }

    #[test]
    fn a_long_run_keeps_only_the_prevs_it_cannot_give_back() {
        let mut positions = Positions::default();
        let count = 3 * CHUNK as u64 + 5;
        for seq in 1..=count {
            let position = match seq {
                // Forks, one on each side of a chunk's end.
                1_500 => forked(seq, Some(7)),
                2_048 | 2_049 => forked(seq, None),
                _ => position(seq),
            };
            positions.insert(seq, position);
        }
        assert_eq!(positions.run_len as u64, count);
        assert_eq!(positions.run.len(), 4);
        assert!(positions.rest.is_empty());
        // The first (prev none) and the three forks.
        let mut kept: Vec<u64> = positions.prevs.keys().copied().collect();
        kept.sort_unstable();
        assert_eq!(kept, [1, 1_500, 2_048, 2_049]);
        for seq in 1..=count {
            let expected = match seq {
                1_500 => forked(seq, Some(7)),
                2_048 | 2_049 => forked(seq, None),
                _ => position(seq),
            };
            assert_eq!(positions.get(seq), Some(expected), "seq {seq}");
        }
        // Walked in order, every position is what `get` gives.
        let walked: Vec<(u64, Position)> = positions.in_order().collect();
        assert_eq!(walked.len() as u64, count);
        for (seq, position) in walked {
            assert_eq!(positions.get(seq), Some(position), "seq {seq}");
        }
        assert_eq!(positions.get(count + 1), None);
        assert_eq!(positions.get(0), None);
    }
}
