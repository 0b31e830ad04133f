//! The stream verifier: each line checked as it arrives, each chain as a
//! whole at the end.

use std::collections::{BTreeMap, HashSet};

use super::checked::{Checked, CheckedLine, LineChecker};
use super::state::ChainState;
use crate::keyring::Keyring;
use crate::report::{InvalidLine, LineFailure, StreamReport, Unauthenticated};
use crate::unmet::Unmet;
use crate::verify::Strictness;

/// Checks a stream line by line, in the order it was received, then the
/// chains as a whole in [`finish`](Self::finish).
///
/// Memory grows by about a hundred bytes per event: positions must be
/// remembered to tell a duplicate from a conflict and to find gaps.
#[derive(Debug)]
pub struct StreamVerifier<'k> {
    keys: &'k Keyring,
    /// Each chain seen, in the order first seen.
    chains: Vec<(String, ChainState)>,
    /// Where each chain is in `chains`.
    chain_index: BTreeMap<String, usize>,
    /// Where the chain of the last event recorded is in `chains`: a stream
    /// is mostly one chain, so most lines are matched to theirs by one
    /// comparison of their id.
    last_chain: usize,
    report: StreamReport,
    from_the_middle: bool,
    strictness: Strictness,
    strict_chains: bool,
    expected: Vec<String>,
}

impl<'k> StreamVerifier<'k> {
    /// A verifier trusting the keys of `keys`.
    pub fn new(keys: &'k Keyring) -> Self {
        StreamVerifier {
            keys,
            chains: Vec::new(),
            chain_index: BTreeMap::new(),
            last_chain: 0,
            report: StreamReport::default(),
            from_the_middle: false,
            strictness: Strictness::Strict,
            strict_chains: false,
            expected: Vec::new(),
        }
    }

    /// How closely each line must match its published form (strict by
    /// default; see [`Strictness`]). Leniently read, the members a re-encoding
    /// added or kept but no hash covers are reported as unauthenticated.
    #[must_use]
    pub fn strictness(mut self, strictness: Strictness) -> Self {
        self.strictness = strictness;
        self
    }

    /// Also fail ([`StreamReport::unmet`]) on a stream that proves less than it
    /// could: no chained event at all, a chain without a checkpoint, events
    /// after a chain's last checkpoint, or (unless reading
    /// [`from_the_middle`](Self::from_the_middle)) a chain that does not
    /// start at seq 1.
    #[must_use]
    pub fn strict_chains(mut self) -> Self {
        self.strict_chains = true;
        self
    }

    /// Also fail ([`StreamReport::unmet`]) when chain `id` is not in the stream.
    #[must_use]
    pub fn expect_chain(mut self, id: impl Into<String>) -> Self {
        self.expected.push(id.into());
        self
    }

    /// For a stream read from the middle (a consumer that started at the
    /// latest offset): each chain is checked from the first position seen,
    /// and the positions before it are not reported missing. The report
    /// says where each chain started and whether a checkpoint vouches for
    /// what came before ([`ChainReport::anchored`](crate::ChainReport::anchored)).
    #[must_use]
    pub fn from_the_middle(mut self) -> Self {
        self.from_the_middle = true;
        self
    }

    fn fail(&mut self, line: u64, chain: Option<String>, seq: Option<u64>, failure: LineFailure) {
        self.report.invalid.push(InvalidLine {
            line,
            chain,
            seq,
            failure,
        });
    }

    /// Counts a line that could not even be read (e.g. not UTF-8) as invalid.
    pub fn reject(&mut self, line: u64, reason: impl Into<String>) {
        self.report.lines += 1;
        self.fail(line, None, None, LineFailure::Parse(reason.into()));
    }

    /// Checks one line (an event or a checkpoint). `line` is its number in
    /// the stream, used in the report.
    pub fn feed(&mut self, line: u64, text: &str) {
        let checked = self.line_checker().check(text);
        self.record(line, checked);
    }

    /// What checks lines on their own ([`feed`](Self::feed)'s first half),
    /// on any thread: parse, published form, seal and link. Record each
    /// result with [`record`](Self::record) in stream order.
    pub fn line_checker(&self) -> LineChecker<'k> {
        LineChecker {
            keys: self.keys,
            strictness: self.strictness,
        }
    }

    /// Records a line checked by [`line_checker`](Self::line_checker):
    /// [`feed`](Self::feed)'s second half. Lines must be recorded in stream
    /// order, each with its number.
    pub fn record(&mut self, line: u64, checked: CheckedLine) {
        self.report.lines += 1;
        match checked.0 {
            Checked::Failed {
                chain,
                seq,
                failure,
            } => self.fail(line, chain, seq, failure),
            Checked::Unchained => self.report.unchained.push(line),
            Checked::Event {
                chain,
                seq,
                mut position,
                content,
                unknown,
            } => {
                position.line = line;
                let state = self.chain_state(chain.as_bytes());
                let failure = match state.entries.get(seq) {
                    None => {
                        state.entries.insert(seq, position);
                        None
                    }
                    Some(first)
                        if (first.hash, first.prev, first.link)
                            != (position.hash, position.prev, position.link) =>
                    {
                        Some(LineFailure::Conflict)
                    }
                    Some(_) => None,
                };
                // A conflict is the line's failure even when its seal fails too.
                match failure.or_else(|| content.err().map(LineFailure::Seal)) {
                    None => state.arrivals.push((seq, line)),
                    Some(failure) => {
                        let chain = Some(chain.into_string());
                        return self.fail(line, chain, Some(seq), failure);
                    }
                }
                self.unauthenticated(line, unknown);
            }
            Checked::Checkpoint {
                chain,
                mut checkpoint,
                unknown,
            } => {
                checkpoint.line = line;
                self.chain_state(chain.as_bytes())
                    .checkpoints
                    .push(checkpoint);
                self.unauthenticated(line, unknown);
            }
        }
    }

    /// The state of chain `id` (UTF-8: an id read from a line), made
    /// when the chain is new.
    fn chain_state(&mut self, id: &[u8]) -> &mut ChainState {
        let last_matches =
            (self.chains.get(self.last_chain)).is_some_and(|(known, _)| known.as_bytes() == id);
        if !last_matches {
            let id = std::str::from_utf8(id).expect("a chain id is read from text");
            self.last_chain = match self.chain_index.get(id) {
                Some(&index) => index,
                None => {
                    self.chain_index.insert(id.to_owned(), self.chains.len());
                    self.chains.push((id.to_owned(), ChainState::default()));
                    self.chains.len() - 1
                }
            };
        }
        &mut self.chains[self.last_chain].1
    }

    fn unauthenticated(&mut self, line: u64, unknown: Vec<String>) {
        if !unknown.is_empty() {
            self.report.unauthenticated.push(Unauthenticated {
                line,
                fields: unknown,
            });
        }
    }

    /// Checks each chain as a whole and returns the report.
    pub fn finish(mut self) -> StreamReport {
        let mut chains = std::mem::take(&mut self.chains);
        chains.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
        for (id, state) in chains {
            let chain = state.report(
                &id,
                self.keys,
                self.from_the_middle,
                &mut self.report.invalid,
            );
            self.report.chains.insert(id, chain);
        }
        self.report.unmet = self.unmet();
        self.report.invalid.sort_by_key(|i| i.line);
        let problem_lines: HashSet<u64> = self
            .report
            .invalid
            .iter()
            .map(|i| i.line)
            .chain(self.report.unchained.iter().copied())
            .chain(self.report.unauthenticated.iter().map(|u| u.line))
            .collect();
        self.report.valid = self.report.lines - problem_lines.len() as u64;
        self.report
    }

    /// The requirements of `strict_chains` and `expect_chain` not met.
    fn unmet(&self) -> Vec<Unmet> {
        let chains = &self.report.chains;
        let mut unmet: Vec<Unmet> = self
            .expected
            .iter()
            .filter(|id| !chains.contains_key(*id))
            .map(|id| Unmet::ChainAbsent { chain: id.clone() })
            .collect();
        if !self.strict_chains {
            return unmet;
        }
        if chains.values().all(|c| c.events == 0) {
            unmet.push(Unmet::NoEvents);
        }
        for (id, chain) in chains {
            let chain_id = || id.clone();
            match (chain.checkpointed, chain.last) {
                (None, _) => unmet.push(Unmet::NoCheckpoint { chain: chain_id() }),
                (Some(length), Some(last)) if last > length => unmet.push(Unmet::Uncheckpointed {
                    chain: chain_id(),
                    from: length + 1,
                    to: last,
                }),
                _ => {}
            }
            if let Some(first) = chain.first.filter(|&f| f > 1 && !self.from_the_middle) {
                unmet.push(Unmet::NotAnchored {
                    chain: chain_id(),
                    first,
                });
            }
        }
        unmet
    }
}
