//! The text report of `auditlog verify --chain`: per chain, then per line,
//! then one summary line.

use std::fmt;
use std::ops::RangeInclusive;

use auditlog_core::printable;

use super::{ChainReport, Duplicated, Reordered, StreamReport, Unauthenticated};

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

impl fmt::Display for StreamReport {
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
                list(f, &chain.reordered, |f, Reordered { seq, line }| {
                    write!(f, "{seq} (line {line})")
                })?;
            }
            if !chain.duplicated.is_empty() {
                f.write_str("  duplicated (delivered again, not tampering): seq ")?;
                list(f, &chain.duplicated, |f, Duplicated { seq, extra }| {
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
        for Unauthenticated { line, fields } in self.unauthenticated.iter().take(LISTED * 5) {
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
            sum(|c| c.duplicated.iter().map(|d| d.extra).sum()),
            self.unchained.len(),
            self.unauthenticated.len(),
            self.unmet.len(),
        )
    }
}
