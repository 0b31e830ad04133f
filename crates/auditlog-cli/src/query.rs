//! `auditlog query`: the events of JSON-lines files (or stdin) that match.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use auditlog_core::{AuditEvent, Severity};
use auditlog_store::{parse_timestamp, Query};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// `tenantid` equals T.
    #[arg(long, value_name = "T")]
    tenant: Option<String>,
    /// `subject.userid` equals U.
    #[arg(long, value_name = "U")]
    user: Option<String>,
    /// `action.name` equals A.
    #[arg(long, value_name = "A")]
    action: Option<String>,
    /// `objectref.resource` equals R.
    #[arg(long, value_name = "R")]
    resource: Option<String>,
    /// `action.status` equals S (SUCCESS or FAILURE).
    #[arg(long, value_name = "S")]
    status: Option<String>,
    /// Severity at least S: INFO < WARNING < ERROR < CRITICAL.
    #[arg(long, value_name = "S", value_parser = parse_severity)]
    min_severity: Option<Severity>,
    /// At or after this RFC 3339 time.
    #[arg(long, value_name = "TS", value_parser = parse_time)]
    since: Option<time::OffsetDateTime>,
    /// Before this RFC 3339 time.
    #[arg(long, value_name = "TS", value_parser = parse_time)]
    until: Option<time::OffsetDateTime>,
    /// Only the newest N matches (the last N in input order), printed in input order.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// JSON-lines files to read; stdin when none.
    files: Vec<PathBuf>,
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    Severity::parse(&text.to_ascii_uppercase())
        .ok_or_else(|| format!("unknown severity {text:?}: use INFO, WARNING, ERROR or CRITICAL"))
}

fn parse_time(text: &str) -> Result<time::OffsetDateTime, String> {
    parse_timestamp(text).map_err(|e| e.to_string())
}

impl Args {
    fn query(&self) -> Query {
        let mut query = Query::new();
        query.tenant.clone_from(&self.tenant);
        query.user.clone_from(&self.user);
        query.action.clone_from(&self.action);
        query.resource.clone_from(&self.resource);
        query.status.clone_from(&self.status);
        query.min_severity = self.min_severity;
        query.since = self.since;
        query.until = self.until;
        query
    }
}

pub(crate) fn run(args: Args) -> ExitCode {
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
