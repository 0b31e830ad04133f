//! How verification accepts a pruned stream: one that starts after seq 1
//! passes only when a valid checkpoint (the anchor) vouches for what came
//! before its first event (its head is that event's `prev`, which the
//! verifier checks as [`ChainReport::anchored`]) **and** the stream's latest
//! recorded prune cut there. Rows deleted from the start without a prune,
//! an anchor removed, forged or edited, a prune record edited: each fails.

use std::collections::BTreeMap;

use auditlog_core::{printable, AuditEvent, Value};
use auditlog_seal::{ChainReport, StreamReport};

/// `action.name` of the event a prune records in the stream it pruned.
pub const PRUNE_ACTION: &str = "auditlog.retention.prune";

/// The `requestpayload` member of a prune event holding its cut.
pub(crate) const CUT_MEMBER: &str = "cut";

/// The latest cut each stream's prune events record.
#[derive(Debug, Default)]
pub(crate) struct Cuts(BTreeMap<String, u64>);

impl Cuts {
    /// Notes `event` if it records a prune (rows are read in seq order, so
    /// the last noted is the latest).
    pub(crate) fn note(&mut self, stream: &str, event: &AuditEvent) {
        let is_prune = event
            .action
            .as_ref()
            .and_then(|a| a.name.as_deref())
            .is_some_and(|name| name == PRUNE_ACTION);
        if !is_prune {
            return;
        }
        let cut = event
            .eventdata
            .as_ref()
            .and_then(|d| d.requestpayload.get(CUT_MEMBER))
            .and_then(|v| match v {
                Value::String(text) => text.parse().ok(),
                _ => None,
            });
        if let Some(cut) = cut {
            self.0.insert(stream.to_owned(), cut);
        }
    }

    /// A problem per chain that starts after seq 1 without a verified
    /// anchor and a prune recorded at that cut.
    pub(crate) fn check(&self, lines: &StreamReport) -> Vec<String> {
        lines
            .chains
            .iter()
            .filter_map(|(stream, chain)| self.problem(stream, chain))
            .collect()
    }

    fn problem(&self, stream: &str, chain: &ChainReport) -> Option<String> {
        let first = chain.first.filter(|&first| first > 1)?;
        let recorded = self.0.get(stream).copied();
        let why = match (chain.anchored, recorded) {
            (true, Some(cut)) if cut == first - 1 => return None,
            (false, _) => "no valid checkpoint vouches for the events before it".to_owned(),
            (true, None) => "no prune is recorded in the stream".to_owned(),
            (true, Some(cut)) => format!("the latest prune recorded cut at seq {cut}"),
        };
        Some(format!(
            "stream {}: starts at seq {first}, but {why} (rows deleted at the start, or the \
             retention anchor removed or altered)",
            printable(stream)
        ))
    }
}
