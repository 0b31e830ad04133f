//! `auditlog publish`: JSON lines on stdin, sealed and published to Kafka,
//! delivery awaited; a summary at the end.

use std::future::Future;
use std::io;
use std::process::ExitCode;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use std::path::{Path, PathBuf};

use auditlog_core::AuditEvent;
use auditlog_kafka::{
    ChainConfig, Fsync, KafkaConfig, KafkaPublisher, Overflow, Recovery, SinkError, SpoolConfig,
    SpoolFull,
};
use auditlog_seal::{ChainKey, SigningKey};

use crate::key::KeyEnv;
use crate::lines::{split_lines, MAX_LINE_BYTES};
use crate::publish_input::{read_lines, Lines};

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
    /// A librdkafka property, as kcat takes it (repeatable): KEY=VALUE, or
    /// @FILE for a file of KEY=VALUE lines (`#` comments and blank lines
    /// skipped), so that secrets such as `sasl.password` stay off the
    /// command line. Variables `AUDITLOG_KAFKA_PROPERTY_<NAME>` are read
    /// first (`_` becomes `.`, lower-cased); -X overrides them, the last
    /// one wins. E.g. `-X test.mock.num.brokers=1` uses an in-process mock
    /// cluster.
    #[arg(short = 'X', value_name = "KEY=VALUE|@FILE", value_parser = properties)]
    properties: Vec<Properties>,
}

/// The properties of one `-X`: one, or those of a file.
#[derive(Debug, Clone)]
pub(crate) struct Properties(Vec<(String, String)>);

impl Connection {
    /// The brokers to give librdkafka (see [`brokers`]).
    pub(crate) fn brokers(&self) -> Result<String, String> {
        brokers(self.brokers.as_deref(), &self.properties())
    }

    /// The librdkafka properties: from the environment, then from `-X`, in
    /// order (librdkafka keeps the last value set).
    pub(crate) fn properties(&self) -> Vec<(String, String)> {
        let mut all = env_properties(std::env::vars_os());
        all.extend(self.properties.iter().flat_map(|p| p.0.iter().cloned()));
        all
    }
}

/// `AUDITLOG_KAFKA_PROPERTY_SASL_PASSWORD=...` is `sasl.password`, as
/// `KafkaConfig::from_env` reads them; sorted, so runs are reproducible.
fn env_properties(
    vars: impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = vars
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .filter_map(|(name, value)| {
            let property = name.strip_prefix(auditlog_kafka::env::PROPERTY_PREFIX)?;
            Some((property.to_ascii_lowercase().replace('_', "."), value))
        })
        .collect();
    found.sort();
    found
}

/// `-X KEY=VALUE` or `-X @FILE`.
fn properties(text: &str) -> Result<Properties, String> {
    match text.strip_prefix('@') {
        Some(path) => properties_file(Path::new(path)).map(Properties),
        None => property(text).map(|p| Properties(vec![p])),
    }
}

/// The KEY=VALUE lines of a properties file. Errors name the line, never
/// its text (it may hold a password). Readable by others is allowed with a
/// warning: the file may hold nothing secret.
fn properties_file(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the properties file {}: {e}", path.display()))?;
    if let Err(warning) = crate::key::check_owner_only_mode(path, "it may hold passwords") {
        eprintln!("auditlog: warning: {warning}");
    }
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        // The value is kept as written (a password may end in a space).
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let property = property(line)
            .map_err(|_| format!("{} line {}: expected KEY=VALUE", path.display(), number + 1))?;
        found.push(property);
    }
    Ok(found)
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    connection: Connection,
    #[command(flatten)]
    key_env: KeyEnv,
    /// Seconds to wait for the brokers at the start and for delivery at the end.
    #[arg(long, value_name = "S", default_value_t = 30.0)]
    timeout: f64,
    /// Events in flight at most (the memory bound); reading stdin waits for room.
    #[arg(long, value_name = "N", default_value_t = IN_FLIGHT)]
    capacity: usize,
    /// Write every event to a durable spool in DIR before publishing it: a
    /// run that is killed leaves them there, and the next run on DIR (even
    /// with empty stdin) delivers them. Waits until the spool is drained.
    #[arg(long, value_name = "DIR")]
    spool: Option<PathBuf>,
    /// With --spool: fsync every event (`always`) or every MS milliseconds.
    #[arg(long, value_name = "always|MS", default_value = "10", requires = "spool", value_parser = <Fsync as std::str::FromStr>::from_str)]
    fsync: Fsync,
    /// With --spool: its size bound in bytes; reading stdin waits for room
    /// (until --deadline).
    #[arg(long, value_name = "BYTES", requires = "spool")]
    spool_max_bytes: Option<u64>,
    /// With --spool: give up this many seconds after the start (events not
    /// delivered stay in the spool, lines not yet read are not published);
    /// without it, waits for the brokers and for room as long as it takes.
    #[arg(long, value_name = "S", requires = "spool")]
    deadline: Option<f64>,
    /// Seal into a chain with this id (a new UUID when none is given), with
    /// the HMAC key in --key-env under --kid; messages are keyed by the
    /// chain id, so the chain stays in one partition, in order.
    #[arg(long, value_name = "ID", num_args = 0..=1, default_missing_value = "")]
    chain: Option<String>,
    /// Key id written with the chain's links.
    #[arg(long, value_name = "ID", default_value = "default", requires = "chain")]
    kid: String,
    /// A checkpoint of the chain after this many events (and at the end).
    #[arg(long, value_name = "N", default_value_t = 1000, requires = "chain")]
    checkpoint_every: u64,
}

/// `--capacity`'s default. Fewer than a service's queue holds
/// (`auditlog_kafka::DEFAULT_CAPACITY`, which must ride out a broker's
/// outage): here reading waits for room, so the window only has to cover
/// the brokers' round trip at the rate one reader seals (about 300,000
/// events/s: 20,000 cover 60 ms). Each event in flight is about 1.5 KiB of
/// fresh memory; a larger window buys no speed and pays its page faults
/// (docs/performance.md, "The CLI's window").
const IN_FLIGHT: usize = 20_000;

fn property(text: &str) -> Result<(String, String), String> {
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

pub(crate) fn run(args: Args) -> ExitCode {
    match publish(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("auditlog: {message}");
            ExitCode::from(2)
        }
    }
}

/// With a spool and `--deadline`, when the run gives up.
fn deadline(args: &Args, started: Instant) -> Result<Option<Instant>, String> {
    match (&args.spool, args.deadline) {
        (Some(_), Some(seconds)) => Duration::try_from_secs_f64(seconds)
            .map(|limit| started.checked_add(limit))
            .map_err(|_| format!("--deadline {seconds}: not a duration")),
        _ => Ok(None),
    }
}

/// How long to wait for delivery at the end: until the deadline with a
/// spool (as long as it takes without one), else `--timeout`.
fn delivery_wait(args: &Args, timeout: Duration, deadline: Option<Instant>) -> Duration {
    match (&args.spool, deadline) {
        (Some(_), Some(at)) => at.saturating_duration_since(Instant::now()),
        (Some(_), None) => Duration::MAX,
        (None, _) => timeout,
    }
}

fn config(args: &Args, key: Option<SigningKey>, wait: Duration) -> Result<KafkaConfig, String> {
    let mut config = KafkaConfig::new(args.connection.brokers()?)
        .topic(&args.connection.topic)
        .capacity(args.capacity)
        // Backpressure: a batch job waits for room rather than dropping.
        .overflow(Overflow::Wait(Duration::from_secs(24 * 3600)))
        .drop_flush_timeout(wait.min(Duration::from_secs(24 * 3600)));
    if let Some(dir) = &args.spool {
        // Waits for room as long as it takes; the deadline cuts it short.
        let mut spool = SpoolConfig::new(dir)
            .fsync(args.fsync)
            .when_full(SpoolFull::Wait(Duration::MAX));
        if let Some(bytes) = args.spool_max_bytes {
            spool = spool.max_bytes(bytes);
        }
        config = config.spool(spool);
    }
    match &args.chain {
        Some(id) => {
            let key = key
                .ok_or_else(|| format!("a chain needs a key: set ${}", args.key_env.variable()))?;
            let key = ChainKey::hmac(args.kid.clone(), key).map_err(|e| e.to_string())?;
            let mut chain = ChainConfig::new(key)
                .checkpoint_every(Some(args.checkpoint_every))
                .checkpoint_interval(None);
            if !id.is_empty() {
                chain = chain.id(id);
            }
            config = config.chain(chain);
        }
        None => config = config.signing_key(key),
    }
    for (k, v) in &args.connection.properties() {
        config = config.set(k, v);
    }
    Ok(config)
}

/// What opening the spool found, on stderr; true when records were lost.
fn report_recovery(dir: &std::path::Path, recovery: &Recovery) -> bool {
    if recovery.records > 0 {
        eprintln!(
            "auditlog: spool {}: {} undelivered events from an earlier run to send",
            dir.display(),
            recovery.records
        );
    }
    if recovery.torn_tails > 0 {
        eprintln!(
            "auditlog: spool {}: a write cut short by a crash was truncated ({} bytes; never acknowledged to anyone)",
            dir.display(),
            recovery.torn_bytes
        );
    }
    for corrupt in &recovery.corrupt {
        eprintln!(
            "auditlog: spool {}: corrupt record skipped at byte {} ({} bytes): {}",
            corrupt.segment.display(),
            corrupt.offset,
            corrupt.bytes,
            corrupt.reason
        );
    }
    for moved in &recovery.moved_aside {
        eprintln!(
            "auditlog: spool {}: {} is not a file of the spool's own or cannot be read: moved aside to {}, not replayed ({})",
            dir.display(),
            moved.from.display(),
            moved.to.display(),
            moved.reason
        );
    }
    !(recovery.corrupt.is_empty() && recovery.moved_aside.is_empty())
}

fn publish(args: Args) -> Result<ExitCode, String> {
    let started = Instant::now();
    let key = args.key_env.load("events are hashed but not signed")?;
    let timeout = timeout(args.timeout)?;
    let deadline = deadline(&args, started)?;
    let wait = delivery_wait(&args, timeout, deadline);
    let publisher = KafkaPublisher::new(config(&args, key, wait)?).map_err(|e| e.to_string())?;
    let mut lost_in_spool = false;
    if let (Some(dir), Some(recovery)) = (&args.spool, publisher.recovery()) {
        lost_in_spool = report_recovery(dir, recovery);
    }
    match (publisher.check(timeout), &args.spool) {
        (Ok(()), _) => {}
        // The spool keeps what is published until the brokers come back.
        (Err(error), Some(dir)) => eprintln!(
            "auditlog: {error}; events are kept in the spool {} until the brokers answer",
            dir.display()
        ),
        (Err(error), None) => return Err(error.to_string()),
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| e.to_string())?;

    // A wait for room makes its timer on the first poll (see `publish_one`).
    let _in_runtime = runtime.enter();

    // Lines are read on a thread of their own, in batches of raw bytes, and
    // parsed here, where each event is also sealed and published: an event
    // allocated on one thread and freed on another costs glibc's allocator
    // more than parsing it here does (see docs/performance.md).
    let (batches, lines) = std::sync::mpsc::sync_channel::<Lines>(4);
    let reader = std::thread::spawn(move || read_lines(io::stdin().lock(), batches));
    let mut bad_lines = 0u64;
    let mut cut_short = false;
    // One event for the whole run, as `seal` does: each line is read into
    // the last one's buffers, and the publisher borrows it.
    let mut event = AuditEvent::default();
    'lines: for Lines {
        first,
        text,
        too_long,
    } in lines
    {
        let mut too_long = too_long.into_iter().peekable();
        for (offset, raw) in split_lines(&text).enumerate() {
            let number = first + offset as u64;
            if let Some((_, length)) = too_long.next_if(|&(long, _)| long == number) {
                bad_lines += 1;
                eprintln!(
                    "line {number}: {}",
                    crate::lines::too_long(length, MAX_LINE_BYTES)
                );
                continue;
            }
            let Some(line) = crate::lines::decode(raw) else {
                continue;
            };
            let parsed = line.and_then(|line| event.parse_into(line).map_err(|e| e.to_string()));
            if let Err(message) = parsed {
                bad_lines += 1;
                eprintln!("line {number}: {message}");
                continue;
            }
            match publish_one(&runtime, &publisher, &mut event, deadline) {
                Some(Ok(())) => {}
                Some(Err(error)) => {
                    bad_lines += 1;
                    eprintln!("line {number}: not published: {}", refusal(error));
                }
                None => {
                    eprintln!(
                        "line {number}: not published: --deadline passed while the spool was full; \
                         this line and the ones after it were not read"
                    );
                    cut_short = true;
                    break 'lines;
                }
            }
        }
    }
    // A reader cut short may be blocked on stdin: the process exit ends it.
    if !cut_short {
        reader
            .join()
            .map_err(|_| "the line reader panicked".to_owned())?
            .map_err(|e| format!("reading stdin: {e}"))?;
    }

    let report = publisher.shutdown(delivery_wait(&args, timeout, deadline));
    let not_delivered = report.undelivered() + report.dropped;
    let recovered = match report.recovered {
        0 => String::new(),
        n => format!(", {n} recovered from the spool"),
    };
    let kept = match (&args.spool, report.kept) {
        (Some(dir), 1..) => format!(
            ", {} kept in the spool {} (sent by the next run)",
            report.kept,
            dir.display()
        ),
        _ => String::new(),
    };
    eprintln!(
        "auditlog: {} accepted{recovered}, {} delivered, {} failed{kept} ({} bad lines) to topic {}",
        report.accepted, report.delivered, not_delivered, bad_lines, args.connection.topic
    );
    Ok(
        if report.is_complete() && bad_lines == 0 && !cut_short && !lost_in_spool {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}

/// Publishes `event`; `None` when `deadline` passed first. When there is
/// room (nearly always) the first poll completes it, without the cost of
/// entering the runtime per event; else the runtime drives the rest of the
/// same future, the wait for room, to its end or the deadline.
fn publish_one(
    runtime: &tokio::runtime::Runtime,
    publisher: &KafkaPublisher,
    event: &mut AuditEvent,
    deadline: Option<Instant>,
) -> Option<Result<(), SinkError>> {
    let mut publishing = std::pin::pin!(publisher.publish_borrowed(event));
    let mut first_poll = Context::from_waker(Waker::noop());
    if let Poll::Ready(done) = publishing.as_mut().poll(&mut first_poll) {
        return Some(done);
    }
    match deadline {
        Some(at) => runtime
            .block_on(tokio::time::timeout_at(at.into(), publishing))
            .ok(),
        None => Some(runtime.block_on(publishing)),
    }
}

/// Why the publisher refused an event, for its line's error.
fn refusal(error: SinkError) -> String {
    match error {
        SinkError::QueueFull => "no room in the queue in time".to_owned(),
        SinkError::Full { store } => format!("no room in the {store} in time"),
        other => other.to_string(),
    }
}
