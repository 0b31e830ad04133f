//! `auditlog prune --db URL --before TIME`: retention. Deletes each
//! stream's events older than TIME (from its start), leaves a sealed anchor
//! and a recorded prune so the rest still verifies; refuses a table that
//! does not verify.

use std::process::ExitCode;

use auditlog_core::format_timestamp;
use auditlog_sql::Undelivered;

use crate::db::{block_on, chain_key, connect, fail};
use crate::filters::parse_time;
use crate::key::KeyEnv;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The database (sqlite://PATH or postgres://...).
    #[arg(long, value_name = "URL")]
    db: String,
    /// Delete events before this RFC 3339 time.
    #[arg(long, value_name = "TS", value_parser = parse_time)]
    before: time::OffsetDateTime,
    /// Also delete rows no relay has delivered yet (for a table no
    /// `auditlog relay` publishes). By default an undelivered event stops
    /// the cut: the relay still owes it to Kafka.
    #[arg(long)]
    undelivered_too: bool,
    #[command(flatten)]
    key_env: KeyEnv,
    /// Key id written with the anchor's link and the prune event's.
    #[arg(long, value_name = "ID", default_value = "default")]
    kid: String,
}

pub(crate) fn run(args: Args) -> ExitCode {
    let pruned = block_on(async {
        let (key, keys) = chain_key(&args.key_env, &args.kid)?;
        let pool = connect(&args.db).await?;
        let undelivered = if args.undelivered_too {
            Undelivered::Delete
        } else {
            Undelivered::Keep
        };
        pool.prune(&format_timestamp(args.before), undelivered, &key, &keys)
            .await
            .map_err(|e| e.to_string())
    });
    match pruned.and_then(|pruned| pruned) {
        Ok(pruned) => {
            for stream in &pruned.streams {
                println!(
                    "stream {}: removed events 1..={} ({} event rows, {} checkpoint rows); anchored",
                    auditlog_core::printable(&stream.stream),
                    stream.cut,
                    stream.events,
                    stream.checkpoints
                );
            }
            println!("removed {} events", pruned.events());
            ExitCode::SUCCESS
        }
        Err(message) => fail(&message),
    }
}
