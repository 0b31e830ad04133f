//! Exporting the rows a [`Query`] selects, streamed (one row in memory at a
//! time), in recording order: as JSON lines (the published lines byte for
//! byte, so the export verifies with `auditlog verify`) or as CSV for
//! spreadsheets, guarded against formula injection.

use std::fmt;
use std::io::Write;

use futures_util::TryStreamExt;
use sqlx::Pool;

use crate::backend::reads::FOUND_COLUMNS;
use crate::backend::Backend;
use crate::query::{AuditRow, Query};

/// The export's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// The published lines, one a line.
    JsonLines,
    /// A header, then one record per row (RFC 4180, CRLF line ends).
    Csv,
}

/// Why an export stopped.
#[derive(Debug)]
#[non_exhaustive]
pub enum ExportError {
    /// Reading the table failed.
    Sql(crate::Error),
    /// Writing the output failed (e.g. a closed pipe).
    Io(std::io::Error),
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::Sql(e) => write!(f, "{e}"),
            ExportError::Io(e) => write!(f, "writing the export: {e}"),
        }
    }
}

impl std::error::Error for ExportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExportError::Sql(e) => Some(e),
            ExportError::Io(e) => Some(e),
        }
    }
}

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 16] = [
    "ts",
    "stream",
    "seq",
    "is_checkpoint",
    "event_id",
    "tenant",
    "user_id",
    "action",
    "method",
    "resource",
    "resource_id",
    "severity",
    "status",
    "source_ip",
    "trace_id",
    "transaction_id",
];

/// Writes every row `query` selects (its page size ignored) to `out` in
/// recording order (`id`, which is seq order within a stream), and returns
/// how many. Rows are read as a stream: memory does not grow with them.
pub async fn export<DB: Backend>(
    pool: &Pool<DB>,
    query: &Query,
    format: Format,
    out: &mut (dyn Write + Send),
) -> Result<u64, ExportError> {
    let mut params = Vec::new();
    let sql = format!(
        "SELECT {FOUND_COLUMNS} FROM audit_events{} ORDER BY id",
        query.where_clause(&mut params)
    );
    if format == Format::Csv {
        write_record(out, CSV_HEADER.iter().map(|h| Some(*h))).map_err(ExportError::Io)?;
    }
    let mut rows = DB::found(pool, &sql, &params);
    let mut written = 0;
    while let Some((columns, line, id)) = rows
        .try_next()
        .await
        .map_err(|e| ExportError::Sql(e.into()))?
    {
        let row = AuditRow::new(columns, line, id);
        match format {
            Format::JsonLines => writeln!(out, "{}", row.line),
            Format::Csv => write_csv_row(out, &row),
        }
        .map_err(ExportError::Io)?;
        written += 1;
    }
    out.flush().map_err(ExportError::Io)?;
    Ok(written)
}

fn write_csv_row(out: &mut dyn Write, row: &AuditRow) -> std::io::Result<()> {
    let seq = row.seq.to_string();
    let cells = [
        row.ts.as_deref(),
        Some(row.stream.as_str()),
        Some(seq.as_str()),
        Some(if row.is_checkpoint { "true" } else { "false" }),
        Some(row.event_id.as_str()),
        row.tenant.as_deref(),
        row.user_id.as_deref(),
        row.action.as_deref(),
        row.method.as_deref(),
        row.resource.as_deref(),
        row.resource_id.as_deref(),
        row.severity.as_deref(),
        row.status.as_deref(),
        row.source_ip.as_deref(),
        row.trace_id.as_deref(),
        row.transaction_id.as_deref(),
    ];
    write_record(out, cells.into_iter())
}

fn write_record<'a>(
    out: &mut dyn Write,
    cells: impl Iterator<Item = Option<&'a str>>,
) -> std::io::Result<()> {
    let record: Vec<String> = cells.map(|cell| csv_cell(cell.unwrap_or(""))).collect();
    write!(out, "{}\r\n", record.join(","))
}

/// One CSV cell: a text a spreadsheet would run as a formula (starting with
/// `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`; a cell holding a
/// comma, quote, CR or LF is quoted, its quotes doubled (RFC 4180).
pub fn csv_cell(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn formulas_are_defused_and_special_characters_quoted() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("\tx"), "'\tx");
        assert_eq!(csv_cell("\rx"), "\"'\rx\"");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_cell(""), "");
    }
}
