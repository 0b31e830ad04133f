//! `auditlog tail`: events read from a Kafka topic, each verified and
//! printed as a JSON line; failures on stderr.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use auditlog_core::printable;
use auditlog_kafka::{StartAt, TopicReader};
use auditlog_seal::Strictness;

use crate::key::KeyEnv;
use crate::publish::{timeout, Connection};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    connection: Connection,
    #[command(flatten)]
    key_env: KeyEnv,
    /// Check hashes only, without a key: nothing is authenticated.
    #[arg(long, conflicts_with = "key_env")]
    hash_only: bool,
    /// Accept any JSON encoding of an event's published form (see `verify --lenient`).
    #[arg(long)]
    lenient: bool,
    /// Start at the oldest event on the topic (default: only new events).
    #[arg(long)]
    from_beginning: bool,
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    max: Option<u64>,
    /// Stop when no event came for this many seconds (default: never).
    #[arg(long, value_name = "S")]
    timeout: Option<f64>,
}

/// How long to wait for the brokers' metadata at the start.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn run(args: Args) -> ExitCode {
    match tail(args) {
        Ok(code) => code,
        // A closed pipe (`| head`) is the reader's choice.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("auditlog: {e}");
            ExitCode::from(2)
        }
    }
}

fn tail(args: Args) -> io::Result<ExitCode> {
    let key = args
        .key_env
        .for_verifying(args.hash_only)
        .map_err(io::Error::other)?;
    let strictness = if args.lenient {
        Strictness::Lenient
    } else {
        Strictness::Strict
    };
    let idle = args
        .timeout
        .map(timeout)
        .transpose()
        .map_err(io::Error::other)?;
    let brokers = args.connection.brokers().map_err(io::Error::other)?;
    let start = if args.from_beginning {
        StartAt::Beginning
    } else {
        StartAt::End
    };
    let reader = TopicReader::new(
        &brokers,
        &args.connection.topic,
        &args.connection.properties(),
        key,
        start,
        idle.unwrap_or(CONNECT_TIMEOUT).max(CONNECT_TIMEOUT),
    )
    .map_err(io::Error::other)?
    .strictness(strictness);
    let authenticated = if args.hash_only {
        " (hash only — not authenticated)"
    } else {
        ""
    };

    let mut out = io::stdout().lock();
    let (mut ok, mut failed) = (0u64, 0u64);
    let mut last = Instant::now();
    while args.max.is_none_or(|max| ok + failed < max) {
        if idle.is_some_and(|idle| last.elapsed() >= idle) {
            break;
        }
        let Some(next) = reader.recv_timeout(Duration::from_millis(200)) else {
            out.flush()?;
            continue;
        };
        last = Instant::now();
        match next {
            Ok(event) => match &event.verified {
                Ok(_) => {
                    ok += 1;
                    out.write_all(event.payload.as_bytes())?;
                    out.write_all(b"\n")?;
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("partition {} offset {}: {e}", event.partition, event.offset);
                }
            },
            Err(e) => eprintln!(
                "auditlog: reading {}: {}",
                printable(&args.connection.topic),
                printable(&e.to_string())
            ),
        }
    }
    out.flush()?;
    eprintln!("auditlog: {ok} verified{authenticated}, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
