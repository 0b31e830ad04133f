//! `auditlog query --db URL`: a page of the audit table, newest first, each
//! line escaped for the terminal; the next page's cursor on stderr. With
//! `--counts`, rows per severity and per status instead.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use auditlog_core::printable;

use crate::db::{block_on, connect, fail};

pub(crate) fn run(
    url: &str,
    query: auditlog_sql::Query,
    limit: Option<usize>,
    after: Option<&str>,
) -> ExitCode {
    let query = match limit {
        Some(rows) => query.limit(u32::try_from(rows).unwrap_or(u32::MAX)),
        None => query,
    };
    let page = block_on(async {
        let pool = connect(url).await?;
        pool.page(&query, after).await.map_err(|e| e.to_string())
    });
    let page = match page.and_then(|page| page) {
        Ok(page) => page,
        Err(message) => return fail(&message),
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let written = page
        .rows
        .iter()
        .try_for_each(|row| writeln!(out, "{}", printable(&row.line)))
        .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
        Err(e) => return fail(&e.to_string()),
        Ok(()) => {}
    }
    if let Some(next) = page.next {
        eprintln!("next page: --after {next}");
    }
    ExitCode::SUCCESS
}

/// Prints `severity VALUE ROWS` and `status VALUE ROWS` lines (`-` for
/// none), values escaped for the terminal.
pub(crate) fn counts(url: &str, query: &auditlog_sql::Query) -> ExitCode {
    let counts = block_on(async {
        let pool = connect(url).await?;
        pool.counts(query).await.map_err(|e| e.to_string())
    });
    let counts = match counts.and_then(|counts| counts) {
        Ok(counts) => counts,
        Err(message) => return fail(&message),
    };
    let lines = [
        ("severity", &counts.by_severity),
        ("status", &counts.by_status),
    ];
    for (column, tally) in lines {
        for (value, rows) in tally {
            println!(
                "{column} {} {rows}",
                printable(value.as_deref().unwrap_or("-"))
            );
        }
    }
    ExitCode::SUCCESS
}
