//! `auditlog query`: the events of JSON-lines files (or stdin) that match.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use auditlog_core::AuditEvent;
use auditlog_store::Query;

#[cfg(feature = "sql")]
use crate::filters::DbFilters;
use crate::filters::Filters;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    filters: Filters,
    /// Files: only the newest N matches (the last N in input order), printed
    /// in input order. With --db: N rows a page (at most 1000; 100 by
    /// default), newest first.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Query the audit table of this database (sqlite://PATH or
    /// postgres://...) instead of files: newest first, a page at a time;
    /// the cursor of the next page goes to stderr.
    #[cfg(feature = "sql")]
    #[arg(long, value_name = "URL", conflicts_with = "files")]
    db: Option<String>,
    /// With --db: the page after this cursor (printed by the previous page).
    #[cfg(feature = "sql")]
    #[arg(long, value_name = "CURSOR", requires = "db")]
    after: Option<String>,
    /// With --db: print how many rows match per severity and per status
    /// (`severity ERROR 3`, `status FAILURE 2`) instead of the rows.
    #[cfg(feature = "sql")]
    #[arg(long, requires = "db", conflicts_with_all = ["after", "limit"])]
    counts: bool,
    #[cfg(feature = "sql")]
    #[command(flatten)]
    db_filters: DbFilters,
    /// JSON-lines files to read; stdin when none.
    files: Vec<PathBuf>,
}

impl Args {
    fn query(&self) -> Query {
        let filters = &self.filters;
        let mut query = Query::new();
        query.tenant.clone_from(&filters.tenant);
        query.user.clone_from(&filters.user);
        query.action.clone_from(&filters.action);
        query.resource.clone_from(&filters.resource);
        query.status.clone_from(&filters.status);
        query.min_severity = filters.min_severity;
        query.since = filters.since;
        query.until = filters.until;
        query
    }
}

pub(crate) fn run(args: Args) -> ExitCode {
    #[cfg(feature = "sql")]
    if let Some(url) = &args.db {
        let query = crate::filters::sql_query(&args.filters, &args.db_filters);
        if args.counts {
            return crate::db_query::counts(url, &query);
        }
        return crate::db_query::run(url, query, args.limit, args.after.as_deref());
    }
    let query = args.query();
    let mut out = BufWriter::new(io::stdout().lock());
    let mut newest = args.limit.map(VecDeque::with_capacity);
    let mut failed = false;
    let mut emit = |line: &str, out: &mut dyn Write| -> io::Result<()> {
        match &mut newest {
            Some(window) if window.len() == args.limit.unwrap_or(0) => {
                window.pop_front();
                window.push_back(line.to_owned());
            }
            Some(window) => window.push_back(line.to_owned()),
            None => writeln!(out, "{line}")?,
        }
        Ok(())
    };
    let result = if args.files.is_empty() {
        scan(
            io::stdin().lock(),
            "",
            &query,
            &mut out,
            &mut emit,
            &mut failed,
        )
    } else {
        args.files.iter().try_for_each(|path| {
            let file = File::open(path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            let label = format!("{}: ", path.display());
            scan(
                BufReader::new(file),
                &label,
                &query,
                &mut out,
                &mut emit,
                &mut failed,
            )
        })
    };
    let result = result.and_then(|()| {
        for line in newest.into_iter().flatten() {
            writeln!(out, "{line}")?;
        }
        out.flush()
    });
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("auditlog: {e}");
            ExitCode::from(2)
        }
        Ok(()) if failed => ExitCode::FAILURE,
        Ok(()) => ExitCode::SUCCESS,
    }
}

fn scan(
    input: impl BufRead,
    label: &str,
    query: &Query,
    out: &mut dyn Write,
    emit: &mut dyn FnMut(&str, &mut dyn Write) -> io::Result<()>,
    failed: &mut bool,
) -> io::Result<()> {
    for (number, line) in (1u64..).zip(input.split(b'\n')) {
        let line = line?;
        let line = match crate::lines::decode(&line) {
            None => continue,
            Some(Ok(line)) => line,
            Some(Err(message)) => {
                eprintln!("{label}line {number}: {message}");
                *failed = true;
                continue;
            }
        };
        match AuditEvent::from_json(line) {
            Ok(event) if query.matches(&event) => emit(line, out)?,
            Ok(_) => {}
            Err(e) => {
                eprintln!("{label}line {number}: {e}");
                *failed = true;
            }
        }
    }
    Ok(())
}
