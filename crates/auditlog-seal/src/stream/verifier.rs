//! The stream verifier: each line checked as it arrives, each chain as a
//! whole at the end.

use std::collections::{BTreeMap, HashSet};

use auditlog_core::{AuditEvent, Security};
use sha2::{Digest, Sha256};

use super::members::{common, uncovered};
use super::state::{ChainState, Position, SeenCheckpoint};
use crate::keyring::Keyring;
use crate::published::uncovered_members;
use crate::report::{InvalidLine, LineFailure, StreamReport, Unauthenticated};
use crate::unmet::Unmet;
use crate::verify::{published_form_hash, verify_hash, Strictness, VerifyError};
use crate::wire::{checkpoint_message, hash_bytes, is_hash, link_message};

/// Checks a stream line by line, in the order it was received, then the
/// chains as a whole in [`finish`](Self::finish).
///
/// Memory grows by about a hundred bytes per event: positions must be
/// remembered to tell a duplicate from a conflict and to find gaps.
#[derive(Debug)]
pub struct StreamVerifier<'k> {
    keys: &'k Keyring,
    chains: BTreeMap<String, ChainState>,
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
            chains: BTreeMap::new(),
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

    fn fail(&mut self, line: u64, security: Option<&Security>, failure: LineFailure) {
        self.report.invalid.push(InvalidLine {
            line,
            chain: security.and_then(|s| s.chain.clone()),
            seq: security.and_then(|s| s.seq),
            failure,
        });
    }

    /// Counts a line that could not even be read (e.g. not UTF-8) as invalid.
    pub fn reject(&mut self, line: u64, reason: impl Into<String>) {
        self.report.lines += 1;
        self.fail(line, None, LineFailure::Parse(reason.into()));
    }

    /// Checks one line (an event or a checkpoint). `line` is its number in
    /// the stream, used in the report.
    pub fn feed(&mut self, line: u64, text: &str) {
        self.report.lines += 1;
        let parsed = match AuditEvent::parse(text) {
            Ok(parsed) => parsed,
            Err(e) => return self.fail(line, None, LineFailure::Parse(e.to_string())),
        };
        let event = &parsed.event;
        // Strict reading hashes the same serialization it compares with.
        let (unknown, hash) = match self.strictness {
            Strictness::Strict => match published_form_hash(text, event) {
                Err(offset) => {
                    let failure = LineFailure::NotPublishedForm { offset };
                    return self.fail(line, event.security.as_ref(), failure);
                }
                Ok(hash) => (Vec::new(), Some(hash)),
            },
            Strictness::Lenient => (uncovered_members(text, event), None),
        };
        let hash = hash.as_deref();
        let Some(security) = event.security.as_ref().filter(|s| s.hash.is_some()) else {
            return self.fail(line, None, LineFailure::Seal(VerifyError::MissingHash));
        };
        match (security.seq, security.length) {
            (None, None) => {
                // No chain: only the v1 seal can be checked, with a key that
                // answers for any id if there is one.
                let key = self.keys.lookup("").and_then(|(_, v)| v.hmac_key());
                match verify_hash(event, hash, key) {
                    Err(e) => self.fail(line, Some(security), LineFailure::Seal(e)),
                    Ok(()) => self.report.unchained.push(line),
                }
            }
            (Some(_), Some(_)) => self.fail(
                line,
                Some(security),
                LineFailure::Malformed("security: both seq and length"),
            ),
            (Some(seq), None) => {
                if let Err(failure) = self.event(line, event, hash, security, seq, unknown) {
                    self.fail(line, Some(security), failure);
                }
            }
            (None, Some(length)) => {
                if let Err(failure) = self.checkpoint(line, event, hash, security, length, unknown) {
                    self.fail(line, Some(security), failure);
                }
            }
        }
    }

    fn event(
        &mut self,
        line: u64,
        event: &AuditEvent,
        hash: Option<&str>,
        security: &Security,
        seq: u64,
        unknown: Vec<String>,
    ) -> Result<(), LineFailure> {
        let c = common(security)?;
        if seq == 0 {
            return Err(LineFailure::Malformed("security.seq"));
        }
        let prev = match (seq, security.prev.as_deref()) {
            (1, None) => None,
            (1, Some(_)) => return Err(LineFailure::Malformed("security.prev")),
            (_, None) => return Err(LineFailure::MissingField("security.prev")),
            (_, Some(prev)) if is_hash(prev) => Some(prev),
            (_, Some(_)) => return Err(LineFailure::Malformed("security.prev")),
        };
        let (rank, verifier) = self.keys.lookup(c.kid).ok_or(LineFailure::UnknownKey)?;
        if !verifier.check(&link_message(c.chain, seq, prev, c.hash, c.kid), c.link) {
            return Err(LineFailure::Link);
        }
        // The position is authentic from here on; the content may not be.
        let content = verify_hash(event, hash, verifier.hmac_key());
        let entry = Position {
            hash: hash_bytes(c.hash),
            prev: prev.map(hash_bytes),
            link: Sha256::digest(c.link.as_bytes()).into(),
            rank,
            line,
        };
        let state = self.chains.entry(c.chain.to_owned()).or_default();
        match state.entries.get(&seq) {
            None => {
                state.entries.insert(seq, entry);
            }
            Some(first)
                if (first.hash, first.prev, first.link) != (entry.hash, entry.prev, entry.link) =>
            {
                return Err(LineFailure::Conflict)
            }
            Some(_) => {}
        }
        content.map_err(LineFailure::Seal)?;
        state.arrivals.push((seq, line));
        self.unauthenticated(line, uncovered(security, verifier, unknown));
        Ok(())
    }

    fn checkpoint(
        &mut self,
        line: u64,
        event: &AuditEvent,
        hash: Option<&str>,
        security: &Security,
        length: u64,
        unknown: Vec<String>,
    ) -> Result<(), LineFailure> {
        let c = common(security)?;
        if security.prev.is_some() {
            return Err(LineFailure::Malformed("security.prev"));
        }
        let head = match (length, security.head.as_deref()) {
            (0, None) => None,
            (0, Some(_)) => return Err(LineFailure::Malformed("security.head")),
            (_, None) => return Err(LineFailure::MissingField("security.head")),
            (_, Some(head)) if is_hash(head) => Some(head),
            (_, Some(_)) => return Err(LineFailure::Malformed("security.head")),
        };
        let (_, verifier) = self.keys.lookup(c.kid).ok_or(LineFailure::UnknownKey)?;
        if !verifier.check(
            &checkpoint_message(c.chain, length, head, c.hash, c.kid),
            c.link,
        ) {
            return Err(LineFailure::Link);
        }
        verify_hash(event, hash, verifier.hmac_key()).map_err(LineFailure::Seal)?;
        let unknown = uncovered(security, verifier, unknown);
        self.chains
            .entry(c.chain.to_owned())
            .or_default()
            .checkpoints
            .push(SeenCheckpoint {
                length,
                head: head.map(hash_bytes),
                line,
            });
        self.unauthenticated(line, unknown);
        Ok(())
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
        let chains = std::mem::take(&mut self.chains);
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
