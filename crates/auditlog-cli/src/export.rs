//! `auditlog export --db URL --format jsonl|csv [filters]`: the rows that
//! match, streamed to stdout in recording order.

use std::io::{self, BufWriter};
use std::process::ExitCode;

use auditlog_sql::{ExportError, Format};

use crate::db::{block_on, connect, fail};
use crate::filters::{sql_query, DbFilters, Filters};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The database (sqlite://PATH or postgres://...).
    #[arg(long, value_name = "URL")]
    db: String,
    /// jsonl: the published lines, byte for byte (verify them with
    /// `auditlog verify`); csv: a header and one record per row, cells a
    /// spreadsheet would run as formulas prefixed with `'`.
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    format: Format,
    /// Leave the checkpoint rows out (kept by default, so that an export
    /// of whole streams verifies with `auditlog verify --chain`).
    #[arg(long)]
    events_only: bool,
    #[command(flatten)]
    filters: Filters,
    #[command(flatten)]
    db_filters: DbFilters,
}

fn parse_format(text: &str) -> Result<Format, String> {
    match text {
        "jsonl" => Ok(Format::JsonLines),
        "csv" => Ok(Format::Csv),
        other => Err(format!("unknown format {other:?}: use jsonl or csv")),
    }
}

pub(crate) fn run(args: Args) -> ExitCode {
    let mut query = sql_query(&args.filters, &args.db_filters);
    if !args.events_only {
        query = query.with_checkpoints();
    }
    let exported = block_on(async {
        let pool = connect(&args.db).await?;
        let mut out = BufWriter::new(io::stdout());
        match pool.export(&query, args.format, &mut out).await {
            Err(ExportError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
            other => other.map_err(|e| e.to_string()),
        }
    });
    match exported.and_then(|rows| rows) {
        Ok(rows) => {
            eprintln!("exported {rows} rows");
            ExitCode::SUCCESS
        }
        Err(message) => fail(&message),
    }
}
