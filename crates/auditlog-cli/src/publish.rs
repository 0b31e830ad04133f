//! `auditlog publish`: JSON lines on stdin, sealed and published to Kafka,
//! delivery awaited; a summary at the end.

use std::io::{self, BufRead};
use std::process::ExitCode;
use std::time::Duration;

use auditlog_core::AuditEvent;
use auditlog_kafka::{AuditSink, KafkaConfig, KafkaPublisher, Overflow, SinkError};

use crate::key::{self, DEFAULT_KEY_ENV};

/// Where the topic is: the options `publish` and `tail` share.
#[derive(Debug, clap::Args)]
pub(crate) struct Connection {
    /// Bootstrap brokers, host:port[,host:port...].
    #[arg(
        long,
        short = 'b',
        value_name = "BROKERS",
        env = "AUDITLOG_KAFKA_BROKERS"
    )]
    brokers: Option<String>,
    /// The topic of audit events.
    #[arg(long, short = 't', default_value = auditlog_kafka::DEFAULT_TOPIC, env = "AUDITLOG_KAFKA_TOPIC")]
    pub(crate) topic: String,
    /// A librdkafka property, as kcat takes it (repeatable); e.g.
    /// `-X test.mock.num.brokers=1` uses an in-process mock cluster.
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = property)]
    pub(crate) properties: Vec<(String, String)>,
}

impl Connection {
    /// The brokers to give librdkafka (see [`brokers`]).
    pub(crate) fn brokers(&self) -> Result<String, String> {
        brokers(self.brokers.as_deref(), &self.properties)
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    connection: Connection,
    /// Environment variable holding the HMAC key; without it events are hashed, not signed.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_KEY_ENV)]
    key_env: String,
    /// Seconds to wait for the brokers at the start and for delivery at the end.
    #[arg(long, value_name = "S", default_value_t = 30.0)]
    timeout: f64,
    /// Events in flight at most (the memory bound); reading stdin waits for room.
    #[arg(long, value_name = "N", default_value_t = auditlog_kafka::DEFAULT_CAPACITY)]
    capacity: usize,
}

pub(crate) fn property(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

/// The brokers to give librdkafka: `--brokers`, or any value when
/// librdkafka makes its own mock cluster.
fn brokers(given: Option<&str>, properties: &[(String, String)]) -> Result<String, String> {
    match given {
        Some(brokers) => Ok(brokers.to_owned()),
        None if properties.iter().any(|(k, _)| k == "test.mock.num.brokers") => {
            Ok("localhost:9092".to_owned())
        }
        None => Err("--brokers (or $AUDITLOG_KAFKA_BROKERS) is required".to_owned()),
    }
}

pub(crate) fn timeout(seconds: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("--timeout {seconds}: not a duration"))
}

pub fn run(args: Args) -> ExitCode {
    match publish(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("auditlog: {message}");
            ExitCode::from(2)
        }
    }
}

fn publish(args: Args) -> Result<ExitCode, String> {
    let key = key::load(&args.key_env, "events are hashed but not signed")?;
    let timeout = timeout(args.timeout)?;
    let mut config = KafkaConfig::new(args.connection.brokers()?)
        .topic(&args.connection.topic)
        .signing_key(key)
        .capacity(args.capacity)
        // Backpressure: a batch job waits for room rather than dropping.
        .overflow(Overflow::Wait(Duration::from_secs(24 * 3600)))
        .drop_flush_timeout(timeout);
    for (k, v) in &args.connection.properties {
        config = config.set(k, v);
    }
    let publisher = KafkaPublisher::new(config).map_err(|e| e.to_string())?;
    publisher.check(timeout).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| e.to_string())?;

    // Lines are parsed on a thread of their own while this one seals and
    // publishes, in input order (the order of each tenant's events).
    let (batches, parsed) = std::sync::mpsc::sync_channel::<Vec<Parsed>>(4);
    let reader = std::thread::spawn(move || parse_lines(io::stdin().lock(), batches));
    let mut bad_lines = 0u64;
    for batch in parsed {
        for (number, result) in batch {
            let published = result.and_then(|event| {
                runtime
                    .block_on(publisher.publish(event))
                    .map_err(|e| match e {
                        SinkError::QueueFull => {
                            "not published: no room in the queue in time".to_owned()
                        }
                        other => format!("not published: {other}"),
                    })
            });
            if let Err(message) = published {
                bad_lines += 1;
                eprintln!("line {number}: {message}");
            }
        }
    }
    reader
        .join()
        .map_err(|_| "the line reader panicked".to_owned())?
        .map_err(|e| format!("reading stdin: {e}"))?;

    let report = publisher.shutdown(timeout);
    let not_delivered = report.undelivered() + report.dropped;
    eprintln!(
        "auditlog: {} accepted, {} delivered, {} failed ({} bad lines) to topic {}",
        report.accepted, report.delivered, not_delivered, bad_lines, args.connection.topic
    );
    Ok(if not_delivered == 0 && bad_lines == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A line's number and its event, or what is wrong with it.
type Parsed = (u64, Result<AuditEvent, String>);

/// Lines per batch handed from the parsing thread.
const BATCH: usize = 1024;

/// Reads and parses the non-blank lines of `input`, numbered from 1, in
/// batches.
fn parse_lines(
    input: impl io::Read,
    out: std::sync::mpsc::SyncSender<Vec<Parsed>>,
) -> io::Result<()> {
    let mut input = io::BufReader::with_capacity(1 << 16, input);
    let mut raw = Vec::new();
    let mut batch = Vec::with_capacity(BATCH);
    let mut number = 0u64;
    loop {
        raw.clear();
        if input.read_until(b'\n', &mut raw)? == 0 {
            break;
        }
        number += 1;
        let Some(text) = crate::lines::decode(&raw) else {
            continue;
        };
        let parsed = text.and_then(|text| {
            AuditEvent::parse(text)
                .map(|parsed| parsed.event)
                .map_err(|e| e.to_string())
        });
        batch.push((number, parsed));
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if out.send(full).is_err() {
                return Ok(());
            }
        }
    }
    if !batch.is_empty() {
        let _ = out.send(batch);
    }
    Ok(())
}
