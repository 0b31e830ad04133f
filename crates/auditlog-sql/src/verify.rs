//! Verifying the table: every row's line through a [`StreamVerifier`] in seq
//! order (a row deleted, edited or moved breaks the chain), every row's
//! columns against its line (a column edited for the queries), and every
//! stream's counter row against its last event (a tail deleted without the
//! counter put back).

use std::collections::BTreeMap;
use std::fmt;

use auditlog_core::{printable, AuditEvent};
use auditlog_seal::{StreamReport, StreamVerifier};
use futures_util::TryStreamExt;
use sqlx::Pool;

use crate::anchor::Cuts;
use crate::backend::Backend;
use crate::columns::Columns;
use crate::error::Result;

/// The verdict on an audit table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableReport {
    /// The verdict on the lines, read by stream, then seq: its line numbers
    /// count rows in that order, from 1.
    pub lines: StreamReport,
    /// Rows whose columns say something their line does not.
    pub rows: Vec<RowMismatch>,
    /// Streams whose counter row disagrees with their last event.
    pub counters: Vec<String>,
    /// Streams that start after seq 1 without a verified retention anchor
    /// (retention: see `docs/sql.md`).
    pub anchors: Vec<String>,
}

/// A row whose columns disagree with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RowMismatch {
    /// The row's number in the order read (as in [`TableReport::lines`]).
    pub row: u64,
    /// Its `stream` column.
    pub stream: String,
    /// Its `seq` column.
    pub seq: i64,
    /// The first column that disagrees, e.g. `tenant`.
    pub column: &'static str,
}

impl TableReport {
    /// True when nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.lines.is_clean()
            && self.rows.is_empty()
            && self.counters.is_empty()
            && self.anchors.is_empty()
    }
}

impl fmt::Display for TableReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.lines)?;
        for mismatch in &self.rows {
            writeln!(
                f,
                "row {} (stream {}, seq {}): column {} does not match its line",
                mismatch.row,
                printable(&mismatch.stream),
                mismatch.seq,
                mismatch.column
            )?;
        }
        for problem in self.counters.iter().chain(&self.anchors) {
            writeln!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// Reads every row of `pool`'s audit table in stream and seq order through
/// `verifier` (strict: each line must be its published form byte for byte),
/// checks the columns and the counter rows, and reports. Memory grows with
/// the rows (as the verifier's does), not with their size.
///
/// What the table alone cannot show: a tail cut off together with its
/// counter row put back by someone who can write the database. Checkpoints
/// relayed elsewhere (Kafka, a log) anchor the tail; see `docs/sql.md`.
pub async fn verify_table<DB: Backend>(
    pool: &Pool<DB>,
    verifier: StreamVerifier<'_>,
) -> Result<TableReport> {
    // A pruned stream starts after seq 1: the verifier reads each chain from
    // its first row, and `Cuts` accepts that start only through an anchor.
    let mut verifier = verifier.from_the_middle();
    let mut cuts = Cuts::default();
    let mut rows = Vec::new();
    // The last event of each stream as the rows show it: (seq, hash).
    let mut tails: BTreeMap<String, (i64, String)> = BTreeMap::new();
    // Rows and counters from one snapshot: a writer committing between the
    // two reads must not look like a cut-off tail.
    let mut tx = pool.begin().await?;
    DB::read_one_snapshot(&mut tx).await?;
    let mut stream = DB::rows(&mut tx);
    let mut number = 0;
    while let Some((columns, line)) = stream.try_next().await? {
        number += 1;
        verifier.feed(number, &line);
        let event = AuditEvent::from_json(&line).ok();
        if let Some(event) = &event {
            cuts.note(&columns.stream, event);
        }
        let from_line = event.as_ref().and_then(Columns::of);
        // A line that does not parse is already in the verifier's report.
        if let Some(column) = from_line.and_then(|c| c.first_difference(&columns)) {
            rows.push(RowMismatch {
                row: number,
                stream: columns.stream.clone(),
                seq: columns.seq,
                column,
            });
        }
        if !columns.is_checkpoint {
            tails.insert(columns.stream, (columns.seq, columns.hash));
        }
    }
    drop(stream);
    let counters = check_counters::<DB>(&mut tx, tails).await?;
    tx.rollback().await?;
    let lines = verifier.finish();
    Ok(TableReport {
        anchors: cuts.check(&lines),
        lines,
        rows,
        counters,
    })
}

async fn check_counters<DB: Backend>(
    conn: &mut DB::Connection,
    mut tails: BTreeMap<String, (i64, String)>,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for counter in DB::counters(conn).await? {
        let (seq, hash) = match tails.remove(&counter.stream) {
            Some((seq, hash)) => (seq, Some(hash)),
            None => (0, None),
        };
        if counter.next_seq - 1 != seq || counter.last_hash != hash {
            problems.push(format!(
                "stream {}: its counter says {} events, the last event row is seq {seq} \
                 (rows at the end deleted, or the counter edited)",
                printable(&counter.stream),
                counter.next_seq - 1
            ));
        }
    }
    for stream in tails.into_keys() {
        problems.push(format!(
            "stream {}: rows but no counter row",
            printable(&stream)
        ));
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_from_the_table_cannot_write_on_the_terminal() {
        let forged = "s\nOK: 1 lines, 1 chains: 1 valid\u{1b}[2K";
        let report = TableReport {
            lines: StreamReport::default(),
            rows: vec![RowMismatch {
                row: 1,
                stream: forged.into(),
                seq: 1,
                column: "tenant",
            }],
            counters: Vec::new(),
            anchors: Vec::new(),
        };
        let shown = report.to_string();
        assert!(
            !shown.lines().any(|line| line.starts_with("OK: 1 lines")),
            "{shown}"
        );
        assert!(!shown.contains('\u{1b}'), "{shown}");
        assert!(shown.contains(r"s\u{a}OK: 1 lines"), "{shown}");
    }
}
