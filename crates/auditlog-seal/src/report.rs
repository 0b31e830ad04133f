//! Verifying a whole stream: each line on its own, then each chain as a
//! whole, reported the way CloudTrail's `validate-logs` reports: valid,
//! invalid (and which check), missing, reordered, duplicated, truncated,
//! unchained, unauthenticated.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::ops::RangeInclusive;

use auditlog_core::{AuditEvent, Security};
use sha2::{Digest, Sha256};

use crate::chain::{checkpoint_message, is_hash, link_message};
use crate::keyring::{is_valid_id, Keyring, Verifier};
use crate::published::uncovered_members;
use crate::unmet::Unmet;
use crate::verify::{decode_hex, first_difference};
use crate::{verify, Strictness, VerifyError};
use auditlog_core::printable;

/// Which check a line failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// Not an event.
    Parse(String),
    /// Strict reading: the line is not the event's published form; `offset`
    /// is the first byte where it differs.
    NotPublishedForm { offset: usize },
    /// The v1 seal: content hash or HMAC signature.
    Seal(VerifyError),
    /// A chain member is missing (its wire name, e.g. `security.link`).
    MissingField(&'static str),
    /// A chain member is there but malformed.
    Malformed(&'static str),
    /// `security.kid` names no key of the keyring.
    UnknownKey,
    /// `link` does not authenticate the chain fields under the named key:
    /// the chain id, position, previous hash or hash was changed, or another
    /// key made it.
    Link,
    /// Another authentic event has the same position with other content: the
    /// key holder sealed two histories (or reused a chain id).
    Conflict,
    /// `prev` is not the hash of the event before: the key holder sealed two
    /// histories (or reused a chain id).
    Fork,
    /// A checkpoint's `head` is not the hash of the event at its `length`,
    /// or not that of another checkpoint of the same length.
    CheckpointMismatch,
    /// Sealed with an older key of the keyring after a newer one was in use.
    KeyRollback { newer: String },
}

impl Failure {
    /// A stable machine name of the check, for the JSON report.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Parse(_) => "parse",
            Failure::NotPublishedForm { .. } => "not-published-form",
            Failure::Seal(VerifyError::MissingHash) => "missing-hash",
            Failure::Seal(VerifyError::HashMismatch) => "hash-mismatch",
            Failure::Seal(VerifyError::MissingSignature) => "missing-signature",
            Failure::Seal(VerifyError::SignatureMismatch) => "signature-mismatch",
            Failure::MissingField(_) => "missing-field",
            Failure::Malformed(_) => "malformed",
            Failure::UnknownKey => "unknown-key",
            Failure::Link => "link-mismatch",
            Failure::Conflict => "conflict",
            Failure::Fork => "fork",
            Failure::CheckpointMismatch => "checkpoint-mismatch",
            Failure::KeyRollback { .. } => "key-rollback",
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Parse(message) => write!(f, "not an event: {}", printable(message)),
            Failure::NotPublishedForm { offset } => write!(
                f,
                "not in published form: differs from byte {offset} (a relay that re-encodes JSON needs --lenient)"
            ),
            Failure::Seal(e) => e.fmt(f),
            Failure::MissingField(name) => write!(f, "no {name}: not a complete chain link"),
            Failure::Malformed(name) => write!(f, "malformed {name}"),
            Failure::UnknownKey => f.write_str("security.kid names no key of the keyring"),
            Failure::Link => f.write_str(
                "link mismatch: chain id, position, previous hash or hash changed after sealing, or another key made it",
            ),
            Failure::Conflict => f.write_str(
                "conflict: another authentic event holds this position (two histories under one key)",
            ),
            Failure::Fork => f.write_str(
                "fork: prev is not the hash of the event before (two histories under one key)",
            ),
            Failure::CheckpointMismatch => {
                f.write_str("checkpoint head is not the hash of the event at its length (two histories under one key)")
            }
            Failure::KeyRollback { newer } => {
                write!(
                    f,
                    "sealed with an older key after key {} was in use",
                    printable(newer)
                )
            }
        }
    }
}

/// A line that failed a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// 1-based line number, as fed.
    pub line: u64,
    /// The chain and position the line claims (only authenticated when the
    /// failure is about content).
    pub chain: Option<String>,
    pub seq: Option<u64>,
    pub failure: Failure,
}

/// What became of one chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainReport {
    /// Distinct positions held by an authentic link.
    pub events: u64,
    /// The lowest position seen.
    pub first: Option<u64>,
    /// The highest position seen.
    pub last: Option<u64>,
    /// Read from the middle: a checkpoint vouches for the events before
    /// `first` (its head is the `prev` of `first`), or `first` is 1.
    pub anchored: bool,
    /// Positions below the highest that no authentic event holds.
    pub missing: Vec<RangeInclusive<u64>>,
    /// Positions past the last event that a checkpoint says existed: the
    /// tail was cut off.
    pub truncated: Option<RangeInclusive<u64>>,
    /// Positions that arrived out of order, with the line of their first copy
    /// (the fewest events that, moved, would put the stream in order).
    pub reordered: Vec<(u64, u64)>,
    /// Positions that arrived more than once, with the number of extra
    /// copies: at-least-once delivery, not tampering.
    pub duplicated: Vec<(u64, u64)>,
    /// Valid checkpoints seen.
    pub checkpoints: u64,
    /// The greatest length a valid checkpoint vouches for.
    pub checkpointed: Option<u64>,
}

impl ChainReport {
    fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.truncated.is_none() && self.reordered.is_empty()
    }

    fn missing_count(&self) -> u64 {
        self.missing.iter().map(|r| r.end() - r.start() + 1).sum()
    }
}

/// The verdict on a stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Lines fed.
    pub lines: u64,
    /// Lines that passed every check (duplicates included).
    pub valid: u64,
    pub chains: BTreeMap<String, ChainReport>,
    pub invalid: Vec<Invalid>,
    /// Lines of sealed events that are in no chain: nothing says where they
    /// belong or whether others are missing.
    pub unchained: Vec<u64>,
    /// Lines with members that no hash or link covers, and their paths.
    pub unauthenticated: Vec<(u64, Vec<String>)>,
    /// Requirements of a strict chain check the stream did not meet.
    pub unmet: Vec<Unmet>,
}

impl Report {
    /// True when nothing is wrong. Duplicates alone keep a stream clean.
    pub fn is_clean(&self) -> bool {
        self.invalid.is_empty()
            && self.unchained.is_empty()
            && self.unauthenticated.is_empty()
            && self.unmet.is_empty()
            && self.chains.values().all(ChainReport::is_clean)
    }
}

impl Report {
    /// The report as one line of JSON (keys sorted), every item listed:
    ///
    /// `{"chains":{ID:{"anchored","checkpointed","checkpoints","duplicated":[{"extra","seq"}],
    /// "events","first","last","missing":[[FROM,TO]],"reordered":[{"line","seq"}],
    /// "truncated":[FROM,TO]|null}},"invalid":[{"chain","check","line","message","seq"}],
    /// "lines","ok","unauthenticated":[{"fields","line"}],"unchained":[LINE],
    /// "unmet":[{"chain","check","message"}],"valid"}`
    pub fn to_json(&self) -> String {
        use auditlog_core::{Map, Value};
        fn object<const N: usize>(members: [(&str, Value); N]) -> Value {
            Value::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            )
        }
        let range = |r: &RangeInclusive<u64>| Value::from(vec![*r.start(), *r.end()]);
        let chains: Map = self
            .chains
            .iter()
            .map(|(id, c)| {
                let chain = object([
                    ("events", c.events.into()),
                    ("first", c.first.into()),
                    ("last", c.last.into()),
                    ("anchored", c.anchored.into()),
                    (
                        "missing",
                        Value::Array(c.missing.iter().map(range).collect()),
                    ),
                    ("truncated", c.truncated.as_ref().map_or(Value::Null, range)),
                    (
                        "reordered",
                        Value::Array(
                            c.reordered
                                .iter()
                                .map(|&(seq, line)| {
                                    object([("seq", seq.into()), ("line", line.into())])
                                })
                                .collect(),
                        ),
                    ),
                    (
                        "duplicated",
                        Value::Array(
                            c.duplicated
                                .iter()
                                .map(|&(seq, extra)| {
                                    object([("seq", seq.into()), ("extra", extra.into())])
                                })
                                .collect(),
                        ),
                    ),
                    ("checkpoints", c.checkpoints.into()),
                    ("checkpointed", c.checkpointed.into()),
                ]);
                (id.clone(), chain)
            })
            .collect();
        let invalid = self
            .invalid
            .iter()
            .map(|i| {
                object([
                    ("line", i.line.into()),
                    ("chain", i.chain.clone().into()),
                    ("seq", i.seq.into()),
                    ("check", i.failure.code().into()),
                    ("message", i.failure.to_string().into()),
                ])
            })
            .collect();
        let unauthenticated = self
            .unauthenticated
            .iter()
            .map(|(line, fields)| {
                object([("line", (*line).into()), ("fields", fields.clone().into())])
            })
            .collect();
        let unmet = self
            .unmet
            .iter()
            .map(|u| {
                object([
                    ("check", u.code().into()),
                    ("chain", u.chain().into()),
                    ("message", u.to_string().into()),
                ])
            })
            .collect();
        object([
            ("ok", self.is_clean().into()),
            ("lines", self.lines.into()),
            ("valid", self.valid.into()),
            ("chains", Value::Object(chains)),
            ("invalid", Value::Array(invalid)),
            ("unchained", self.unchained.clone().into()),
            ("unauthenticated", Value::Array(unauthenticated)),
            ("unmet", Value::Array(unmet)),
        ])
        .to_json()
    }
}

/// At most this many items of a kind are listed in the text report.
const LISTED: usize = 20;

fn list<T>(
    f: &mut fmt::Formatter<'_>,
    items: &[T],
    item: impl Fn(&mut fmt::Formatter<'_>, &T) -> fmt::Result,
) -> fmt::Result {
    for (i, x) in items.iter().take(LISTED).enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        item(f, x)?;
    }
    if items.len() > LISTED {
        write!(f, ", ... and {} more", items.len() - LISTED)?;
    }
    writeln!(f)
}

fn range(f: &mut fmt::Formatter<'_>, r: &RangeInclusive<u64>) -> fmt::Result {
    if r.start() == r.end() {
        write!(f, "{}", r.start())
    } else {
        write!(f, "{}-{}", r.start(), r.end())
    }
}

impl fmt::Display for Report {
    /// The text report of `auditlog verify --chain`: per chain, then per
    /// line, then one summary line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (id, chain) in &self.chains {
            write!(f, "chain {id}: {} events", chain.events)?;
            if let Some(last) = chain.last {
                write!(f, " up to seq {last}")?;
            }
            match chain.checkpointed {
                Some(length) => writeln!(
                    f,
                    ", {} checkpoints, the last for {length} events",
                    chain.checkpoints
                )?,
                None => writeln!(f, ", no checkpoint: a cut-off tail would go unnoticed")?,
            }
            if !chain.missing.is_empty() {
                f.write_str("  MISSING seq ")?;
                list(f, &chain.missing, range)?;
            }
            if let Some(truncated) = &chain.truncated {
                f.write_str("  TRUNCATED seq ")?;
                range(f, truncated)?;
                writeln!(f, " (a checkpoint vouches for {} events)", truncated.end())?;
            }
            if !chain.reordered.is_empty() {
                f.write_str("  REORDERED seq ")?;
                list(f, &chain.reordered, |f, (seq, line)| {
                    write!(f, "{seq} (line {line})")
                })?;
            }
            if !chain.duplicated.is_empty() {
                f.write_str("  duplicated (delivered again, not tampering): seq ")?;
                list(f, &chain.duplicated, |f, (seq, extra)| {
                    write!(f, "{seq} (+{extra})")
                })?;
            }
            if let Some(first) = chain
                .first
                .filter(|&f| f > 1 && chain.missing.first().is_none_or(|m| *m.start() > 1))
            {
                writeln!(
                    f,
                    "  note: read from seq {first}; the events before are {}",
                    if chain.anchored {
                        "vouched for by a checkpoint, not checked"
                    } else {
                        "not checked"
                    }
                )?;
            }
            if let (Some(last), Some(length)) = (chain.last, chain.checkpointed) {
                if last > length {
                    writeln!(
                        f,
                        "  note: seq {}-{last} are not yet covered by a checkpoint",
                        length + 1
                    )?;
                }
            }
        }
        for invalid in self.invalid.iter().take(LISTED * 5) {
            write!(f, "INVALID line {}", invalid.line)?;
            if let Some(chain) = &invalid.chain {
                write!(f, " (chain {}", printable(chain))?;
                if let Some(seq) = invalid.seq {
                    write!(f, ", seq {seq}")?;
                }
                f.write_str(")")?;
            }
            writeln!(f, ": {}", invalid.failure)?;
        }
        if self.invalid.len() > LISTED * 5 {
            writeln!(
                f,
                "INVALID ... and {} more lines",
                self.invalid.len() - LISTED * 5
            )?;
        }
        if !self.unchained.is_empty() {
            f.write_str("UNCHAINED (sealed, but in no chain) lines ")?;
            list(f, &self.unchained, |f, line| write!(f, "{line}"))?;
        }
        for (line, fields) in self.unauthenticated.iter().take(LISTED * 5) {
            let fields: Vec<_> = fields.iter().map(|field| printable(field)).collect();
            writeln!(
                f,
                "UNAUTHENTICATED line {line}: fields no hash or link covers: {}",
                fields.join(", ")
            )?;
        }
        for unmet in &self.unmet {
            writeln!(f, "UNMET: {unmet}")?;
        }
        let sum = |g: fn(&ChainReport) -> u64| self.chains.values().map(g).sum::<u64>();
        writeln!(
            f,
            "{}: {} lines, {} chains: {} valid, {} invalid, {} missing, {} truncated, {} reordered, {} duplicated, {} unchained, {} unauthenticated, {} unmet",
            if self.is_clean() { "OK" } else { "FAILED" },
            self.lines,
            self.chains.len(),
            self.valid,
            self.invalid.len(),
            sum(ChainReport::missing_count),
            sum(|c| c.truncated.as_ref().map_or(0, |r| r.end() - r.start() + 1)),
            sum(|c| c.reordered.len() as u64),
            sum(|c| c.duplicated.iter().map(|(_, n)| n).sum()),
            self.unchained.len(),
            self.unauthenticated.len(),
            self.unmet.len(),
        )
    }
}

/// Checks a stream line by line, in the order it was received, then the
/// chains as a whole in [`finish`](Self::finish).
///
/// Memory grows by about a hundred bytes per event: positions must be
/// remembered to tell a duplicate from a conflict and to find gaps.
#[derive(Debug)]
pub struct StreamVerifier<'k> {
    keys: &'k Keyring,
    chains: BTreeMap<String, ChainState>,
    report: Report,
    from_the_middle: bool,
    strictness: Strictness,
    strict_chains: bool,
    expected: Vec<String>,
}

#[derive(Debug, Default)]
struct ChainState {
    entries: HashMap<u64, Entry>,
    /// Positions with valid content, in arrival order, with their lines.
    arrivals: Vec<(u64, u64)>,
    checkpoints: Vec<SeenCheckpoint>,
}

#[derive(Debug, PartialEq, Eq)]
struct Entry {
    hash: [u8; 32],
    prev: Option<[u8; 32]>,
    /// SHA-256 of the link tag: two copies of one event have equal tags.
    link: [u8; 32],
    rank: usize,
    line: u64,
}

#[derive(Debug)]
struct SeenCheckpoint {
    length: u64,
    head: Option<[u8; 32]>,
    line: u64,
}

fn bytes32(hash: &str) -> [u8; 32] {
    decode_hex(hash)
        .and_then(|b| b.try_into().ok())
        .expect("checked to be 64 hex digits")
}

/// Members no check covers, beside those the model does not know: a
/// `signature` under an Ed25519 key (only an HMAC key checks it) and a `head`
/// on an event (only checkpoints have one, under their link).
fn uncovered(security: &Security, verifier: &Verifier, mut unknown: Vec<String>) -> Vec<String> {
    if security.signature.is_some() && verifier.hmac_key().is_none() {
        unknown.push("security.signature".into());
    }
    if security.head.is_some() && security.seq.is_some() {
        unknown.push("security.head".into());
    }
    unknown
}

/// The chain members every link has, checked for presence and form.
struct Common<'a> {
    chain: &'a str,
    kid: &'a str,
    hash: &'a str,
    link: &'a str,
}

fn common(security: &Security) -> Result<Common<'_>, Failure> {
    let chain = security
        .chain
        .as_deref()
        .ok_or(Failure::MissingField("security.chain"))?;
    if !is_valid_id(chain) {
        return Err(Failure::Malformed("security.chain"));
    }
    let kid = security
        .kid
        .as_deref()
        .ok_or(Failure::MissingField("security.kid"))?;
    if !is_valid_id(kid) {
        return Err(Failure::Malformed("security.kid"));
    }
    let hash = security.hash.as_deref().unwrap_or("");
    if !is_hash(hash) {
        return Err(Failure::Seal(VerifyError::HashMismatch));
    }
    let link = security
        .link
        .as_deref()
        .ok_or(Failure::MissingField("security.link"))?;
    Ok(Common {
        chain,
        kid,
        hash,
        link,
    })
}

impl<'k> StreamVerifier<'k> {
    /// A verifier trusting the keys of `keys`.
    pub fn new(keys: &'k Keyring) -> Self {
        StreamVerifier {
            keys,
            chains: BTreeMap::new(),
            report: Report::default(),
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

    /// Also fail ([`Report::unmet`]) on a stream that proves less than it
    /// could: no chained event at all, a chain without a checkpoint, events
    /// after a chain's last checkpoint, or (unless reading
    /// [`from_the_middle`](Self::from_the_middle)) a chain that does not
    /// start at seq 1.
    #[must_use]
    pub fn strict_chains(mut self) -> Self {
        self.strict_chains = true;
        self
    }

    /// Also fail ([`Report::unmet`]) when chain `id` is not in the stream.
    #[must_use]
    pub fn expect_chain(mut self, id: impl Into<String>) -> Self {
        self.expected.push(id.into());
        self
    }

    /// For a stream read from the middle (a consumer that started at the
    /// latest offset): each chain is checked from the first position seen,
    /// and the positions before it are not reported missing. The report
    /// says where each chain started and whether a checkpoint vouches for
    /// what came before ([`ChainReport::anchored`]).
    #[must_use]
    pub fn from_the_middle(mut self) -> Self {
        self.from_the_middle = true;
        self
    }

    fn fail(&mut self, line: u64, security: Option<&Security>, failure: Failure) {
        self.report.invalid.push(Invalid {
            line,
            chain: security.and_then(|s| s.chain.clone()),
            seq: security.and_then(|s| s.seq),
            failure,
        });
    }

    /// Counts a line that could not even be read (e.g. not UTF-8) as invalid.
    pub fn reject(&mut self, line: u64, reason: impl Into<String>) {
        self.report.lines += 1;
        self.fail(line, None, Failure::Parse(reason.into()));
    }

    /// Checks one line (an event or a checkpoint). `line` is its number in
    /// the stream, used in the report.
    pub fn feed(&mut self, line: u64, text: &str) {
        self.report.lines += 1;
        let parsed = match AuditEvent::parse(text) {
            Ok(parsed) => parsed,
            Err(e) => return self.fail(line, None, Failure::Parse(e.to_string())),
        };
        let event = &parsed.event;
        let unknown = match self.strictness {
            Strictness::Strict => match first_difference(text, event) {
                Some(offset) => {
                    let failure = Failure::NotPublishedForm { offset };
                    return self.fail(line, event.security.as_ref(), failure);
                }
                None => Vec::new(),
            },
            Strictness::Lenient => uncovered_members(text, event),
        };
        let Some(security) = event.security.as_ref().filter(|s| s.hash.is_some()) else {
            return self.fail(line, None, Failure::Seal(VerifyError::MissingHash));
        };
        match (security.seq, security.length) {
            (None, None) => {
                // No chain: only the v1 seal can be checked, with a key that
                // answers for any id if there is one.
                let key = self.keys.lookup("").and_then(|(_, v)| v.hmac_key());
                match verify(event, key) {
                    Err(e) => self.fail(line, Some(security), Failure::Seal(e)),
                    Ok(()) => self.report.unchained.push(line),
                }
            }
            (Some(_), Some(_)) => self.fail(
                line,
                Some(security),
                Failure::Malformed("security: both seq and length"),
            ),
            (Some(seq), None) => {
                if let Err(failure) = self.event(line, event, security, seq, unknown) {
                    self.fail(line, Some(security), failure);
                }
            }
            (None, Some(length)) => {
                if let Err(failure) = self.checkpoint(line, event, security, length, unknown) {
                    self.fail(line, Some(security), failure);
                }
            }
        }
    }

    fn event(
        &mut self,
        line: u64,
        event: &AuditEvent,
        security: &Security,
        seq: u64,
        unknown: Vec<String>,
    ) -> Result<(), Failure> {
        let c = common(security)?;
        if seq == 0 {
            return Err(Failure::Malformed("security.seq"));
        }
        let prev = match (seq, security.prev.as_deref()) {
            (1, None) => None,
            (1, Some(_)) => return Err(Failure::Malformed("security.prev")),
            (_, None) => return Err(Failure::MissingField("security.prev")),
            (_, Some(prev)) if is_hash(prev) => Some(prev),
            (_, Some(_)) => return Err(Failure::Malformed("security.prev")),
        };
        let (rank, verifier) = self.keys.lookup(c.kid).ok_or(Failure::UnknownKey)?;
        if !verifier.check(&link_message(c.chain, seq, prev, c.hash, c.kid), c.link) {
            return Err(Failure::Link);
        }
        // The position is authentic from here on; the content may not be.
        let content = verify(event, verifier.hmac_key());
        let entry = Entry {
            hash: bytes32(c.hash),
            prev: prev.map(bytes32),
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
                return Err(Failure::Conflict)
            }
            Some(_) => {}
        }
        content.map_err(Failure::Seal)?;
        state.arrivals.push((seq, line));
        self.unauthenticated(line, uncovered(security, verifier, unknown));
        Ok(())
    }

    fn checkpoint(
        &mut self,
        line: u64,
        event: &AuditEvent,
        security: &Security,
        length: u64,
        unknown: Vec<String>,
    ) -> Result<(), Failure> {
        let c = common(security)?;
        if security.prev.is_some() {
            return Err(Failure::Malformed("security.prev"));
        }
        let head = match (length, security.head.as_deref()) {
            (0, None) => None,
            (0, Some(_)) => return Err(Failure::Malformed("security.head")),
            (_, None) => return Err(Failure::MissingField("security.head")),
            (_, Some(head)) if is_hash(head) => Some(head),
            (_, Some(_)) => return Err(Failure::Malformed("security.head")),
        };
        let (_, verifier) = self.keys.lookup(c.kid).ok_or(Failure::UnknownKey)?;
        if !verifier.check(
            &checkpoint_message(c.chain, length, head, c.hash, c.kid),
            c.link,
        ) {
            return Err(Failure::Link);
        }
        verify(event, verifier.hmac_key()).map_err(Failure::Seal)?;
        let unknown = uncovered(security, verifier, unknown);
        self.chains
            .entry(c.chain.to_owned())
            .or_default()
            .checkpoints
            .push(SeenCheckpoint {
                length,
                head: head.map(bytes32),
                line,
            });
        self.unauthenticated(line, unknown);
        Ok(())
    }

    fn unauthenticated(&mut self, line: u64, unknown: Vec<String>) {
        if !unknown.is_empty() {
            self.report.unauthenticated.push((line, unknown));
        }
    }

    /// Checks each chain as a whole and returns the report.
    pub fn finish(mut self) -> Report {
        let chains = std::mem::take(&mut self.chains);
        for (id, state) in chains {
            let chain = self.chain_report(&id, &state);
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
            .chain(self.report.unauthenticated.iter().map(|(line, _)| *line))
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

    fn chain_report(&mut self, id: &str, state: &ChainState) -> ChainReport {
        let mut seqs: Vec<u64> = state.entries.keys().copied().collect();
        seqs.sort_unstable();
        let mut report = ChainReport {
            events: seqs.len() as u64,
            last: seqs.last().copied(),
            checkpoints: state.checkpoints.len() as u64,
            checkpointed: state.checkpoints.iter().map(|c| c.length).max(),
            ..ChainReport::default()
        };

        report.first = seqs.first().copied();
        report.anchored = report.first == Some(1);
        let mut expected = 1;
        if let (true, Some(&first)) = (self.from_the_middle, seqs.first()) {
            expected = first;
            let prev = state.entries[&first].prev;
            report.anchored = first == 1
                || state
                    .checkpoints
                    .iter()
                    .any(|c| c.length == first - 1 && c.head == prev);
        }
        for &seq in &seqs {
            if seq > expected {
                report.missing.push(expected..=seq - 1);
            }
            expected = seq + 1;
        }
        let last = report.last.unwrap_or(0);
        if let Some(length) = report.checkpointed.filter(|&l| l > last) {
            report.truncated = Some(last + 1..=length);
        }

        let keys = self.keys;
        let mut fail = |line: u64, seq: Option<u64>, failure: Failure| {
            self.report.invalid.push(Invalid {
                line,
                chain: Some(id.to_owned()),
                seq,
                failure,
            });
        };
        let mut newest_rank = 0;
        for (i, &seq) in seqs.iter().enumerate() {
            let entry = &state.entries[&seq];
            if i > 0 && seqs[i - 1] == seq - 1 {
                let before = &state.entries[&(seq - 1)];
                if entry.prev != Some(before.hash) {
                    fail(entry.line, Some(seq), Failure::Fork);
                }
            }
            if entry.rank < newest_rank {
                let newer = keys.kid_at(newest_rank).unwrap_or("?").to_owned();
                fail(entry.line, Some(seq), Failure::KeyRollback { newer });
            }
            newest_rank = newest_rank.max(entry.rank);
        }
        // A checkpoint disagrees with the event at its length, or with an
        // earlier checkpoint of the same length (when that event is gone).
        let mut heads: HashMap<u64, Option<[u8; 32]>> = HashMap::new();
        for checkpoint in &state.checkpoints {
            let head = match state.entries.get(&checkpoint.length) {
                Some(entry) => Some(entry.hash),
                None => *heads.entry(checkpoint.length).or_insert(checkpoint.head),
            };
            if checkpoint.length > 0 && checkpoint.head != head {
                fail(checkpoint.line, None, Failure::CheckpointMismatch);
            }
        }

        let mut copies: BTreeMap<u64, u64> = BTreeMap::new();
        for &(seq, _) in &state.arrivals {
            *copies.entry(seq).or_default() += 1;
        }
        report.duplicated = copies
            .into_iter()
            .filter(|&(_, n)| n > 1)
            .map(|(seq, n)| (seq, n - 1))
            .collect();
        report.reordered = out_of_order(&state.arrivals);
        report
    }
}

/// Positions none of whose copies lies on a longest increasing run of the
/// arrivals, each with the line of its first copy. A copy delivered again
/// later is a duplicate, not out of order, because its first copy is on the run.
fn out_of_order(arrivals: &[(u64, u64)]) -> Vec<(u64, u64)> {
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
    let mut out: Vec<(u64, u64)> = arrivals
        .iter()
        .filter(|(seq, _)| !in_order.contains(seq) && reported.insert(*seq))
        .copied()
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
            .map(|(seq, _)| seq)
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
