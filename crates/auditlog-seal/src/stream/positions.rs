//! The positions of one chain, by seq: a vector for the run of consecutive
//! seqs that most streams are, a hash map for the rest.
//!
//! A chain read in order fills the vector one seq after the other: finding
//! and storing a position is an index, not a hash of the seq, and the
//! positions lie in seq order for the checks of the chain as a whole.
//! Seqs are claimed by the lines, so anything outside the run (a gap, a seq
//! far ahead, one before the first seen) goes to the map rather than
//! growing the vector.

use std::collections::HashMap;

/// What the verifier remembers of one authentic position of a chain.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Position {
    pub(super) hash: [u8; 32],
    pub(super) prev: Option<[u8; 32]>,
    /// The link tag's fingerprint (`checked::link_fingerprint`): two copies
    /// of one event have equal tags.
    pub(super) link: [u8; 32],
    pub(super) rank: usize,
    pub(super) line: u64,
}

#[derive(Debug, Default)]
pub(super) struct Positions {
    /// Seq of `run[0]`; meaningless while `run` is empty.
    first: u64,
    /// Positions of seqs `first`, `first + 1`, ... with none missing.
    run: Vec<Position>,
    /// Every other seq: never one that `run` covers.
    rest: HashMap<u64, Position>,
}

impl Positions {
    pub(super) fn get(&self, seq: u64) -> Option<&Position> {
        match self.run_index(seq) {
            Some(index) => self.run.get(index),
            None => self.rest.get(&seq),
        }
    }

    /// Stores the position of `seq`, which has none yet.
    pub(super) fn insert(&mut self, seq: u64, position: Position) {
        debug_assert!(self.get(seq).is_none(), "seq {seq} stored twice");
        if self.run.is_empty() && self.rest.is_empty() {
            self.first = seq;
        }
        if self.run_index(seq) == Some(self.run.len()) {
            self.run.push(position);
            // The run may now reach seqs that arrived early.
            while !self.rest.is_empty() {
                let Some(next) = self.next_seq().and_then(|s| self.rest.remove(&s)) else {
                    break;
                };
                self.run.push(next);
            }
        } else {
            self.rest.insert(seq, position);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.run.len() + self.rest.len()
    }

    /// Every seq stored, in increasing order.
    pub(super) fn seqs(&self) -> Vec<u64> {
        let run = (0..self.run.len() as u64).map(|i| self.first + i);
        let mut seqs: Vec<u64> = run.chain(self.rest.keys().copied()).collect();
        if !self.rest.is_empty() {
            seqs.sort_unstable();
        }
        seqs
    }

    /// Where `seq` is or would go in `run`: up to one past its end.
    fn run_index(&self, seq: u64) -> Option<usize> {
        let index = usize::try_from(seq.checked_sub(self.first)?).ok()?;
        (index <= self.run.len()).then_some(index)
    }

    /// The seq after the run, if it has one.
    fn next_seq(&self) -> Option<u64> {
        self.first.checked_add(self.run.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use proptest::prelude::*;

    fn position(seq: u64) -> Position {
        Position {
            hash: [seq as u8; 32],
            prev: None,
            link: [0; 32],
            rank: 0,
            line: seq,
        }
    }

    proptest! {
        /// Whatever order seqs arrive in, the positions answer like a map.
        #[test]
        fn behaves_like_a_map(seqs in proptest::collection::vec(
            prop_oneof![0..40u64, Just(u64::MAX), Just(u64::MAX - 1), 1_000..1_010u64], 0..80)
        ) {
            let mut positions = Positions::default();
            let mut model = BTreeMap::new();
            for seq in seqs {
                if model.contains_key(&seq) {
                    continue;
                }
                positions.insert(seq, position(seq));
                model.insert(seq, seq);
                prop_assert_eq!(positions.len(), model.len());
            }
            let keys: Vec<u64> = model.keys().copied().collect();
            prop_assert_eq!(positions.seqs(), keys);
            for seq in (0..45).chain([999, 1_000, 1_011, u64::MAX - 2, u64::MAX - 1, u64::MAX]) {
                prop_assert_eq!(positions.get(seq).map(|p| p.line), model.get(&seq).copied());
            }
        }
    }

    #[test]
    fn a_chain_in_order_stays_in_the_run() {
        let mut positions = Positions::default();
        for seq in [5, 6, 8, 9, 7, 10] {
            positions.insert(seq, position(seq));
        }
        // 8 and 9 came early; 7 joined them to the run.
        assert_eq!(positions.run.len(), 6);
        assert!(positions.rest.is_empty());
        assert_eq!(positions.seqs(), [5, 6, 7, 8, 9, 10]);
        positions.insert(3, position(3));
        assert_eq!(positions.rest.len(), 1);
        assert_eq!(positions.get(3).map(|p| p.line), Some(3));
        assert_eq!(positions.seqs(), [3, 5, 6, 7, 8, 9, 10]);
    }
}
