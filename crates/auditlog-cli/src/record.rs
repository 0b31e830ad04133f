//! `auditlog record --db URL`: events as JSON lines on stdin, each sealed
//! into the stream's chain and recorded in a transaction of its own. A bad
//! line is named and skipped; the rest are recorded.

use std::io;
use std::process::ExitCode;

use auditlog_core::AuditEvent;
use auditlog_sql::{AuditRecorder, Error};

use crate::db::{block_on, chain_key, connect, fail};
use crate::key::KeyEnv;
use crate::lines::{decode, read_line, too_long, MAX_LINE_BYTES};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The database (sqlite://PATH or postgres://...), migrated.
    #[arg(long, value_name = "URL")]
    db: String,
    #[command(flatten)]
    key_env: KeyEnv,
    /// The stream (chain id) the events join.
    #[arg(long, value_name = "ID", default_value = "auditlog-record")]
    chain: String,
    /// Key id written with the links.
    #[arg(long, value_name = "ID", default_value = "default")]
    kid: String,
    /// Report and skip lines longer than this many bytes (never held in
    /// memory whole).
    #[arg(long, value_name = "BYTES", default_value_t = MAX_LINE_BYTES)]
    max_line_bytes: usize,
}

pub(crate) fn run(args: Args) -> ExitCode {
    match block_on(record(args)).and_then(|result| result) {
        Ok(code) => code,
        Err(message) => fail(&message),
    }
}

async fn record(args: Args) -> Result<ExitCode, String> {
    let (key, _) = chain_key(&args.key_env, &args.kid)?;
    let recorder = AuditRecorder::new(args.chain, key).map_err(|e| e.to_string())?;
    let pool = connect(&args.db).await?;
    let (mut recorded, mut failed) = (0u64, 0u64);
    let mut last_seq = None;
    let mut input = io::BufReader::with_capacity(1 << 16, io::stdin().lock());
    let mut raw = Vec::new();
    let mut number = 0u64;
    let reading = |e: io::Error| format!("reading stdin: {e}");
    while let Some(length) =
        read_line(&mut input, &mut raw, args.max_line_bytes).map_err(reading)?
    {
        number += 1;
        if length > args.max_line_bytes {
            eprintln!("line {number}: {}", too_long(length, args.max_line_bytes));
            failed += 1;
            continue;
        }
        let line = match decode(&raw) {
            None => continue,
            Some(Ok(line)) => line,
            Some(Err(message)) => {
                eprintln!("line {number}: {message}");
                failed += 1;
                continue;
            }
        };
        let event = match AuditEvent::parse(line) {
            Ok(parsed) => parsed.event,
            Err(e) => {
                eprintln!("line {number}: {e}");
                failed += 1;
                continue;
            }
        };
        match pool.record(&recorder, event).await {
            Ok(done) => {
                recorded += 1;
                last_seq = Some(done.seq);
            }
            Err(Error::BadEvent { reason }) => {
                eprintln!("line {number}: {reason}");
                failed += 1;
            }
            // The database, not the line: stop, nothing more would record.
            Err(e) => return Err(format!("line {number}: {e}")),
        }
    }
    let upto = last_seq.map_or_else(String::new, |seq| format!(", up to seq {seq}"));
    eprintln!(
        "recorded {recorded} events in stream {}{upto}; {failed} lines failed",
        auditlog_core::printable(recorder.stream())
    );
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
