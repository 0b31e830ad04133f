//! `auditlog relay --db URL --brokers B`: the audit table's rows to Kafka,
//! byte for byte, until stopped (SIGTERM or SIGINT: the batch in hand is
//! finished first) or, with `--once`, until nothing is undelivered.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use auditlog_kafka::LineProducer;
use auditlog_sql::{AnyPool, Error, SqlRelay};
use tokio::sync::Notify;

use crate::publish::{timeout, Connection};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The database: `sqlite://PATH` or `postgres://USER@HOST[:PORT]/DATABASE`.
    #[arg(long, value_name = "URL", env = "AUDITLOG_DB")]
    db: String,
    #[command(flatten)]
    connection: Connection,
    /// Stop once nothing is undelivered, with a summary.
    #[arg(long)]
    once: bool,
    /// Rows per batch (claimed, sent, acknowledged and marked together).
    #[arg(long, value_name = "N", default_value_t = auditlog_sql::DEFAULT_BATCH_SIZE)]
    batch: usize,
    /// Seconds to wait for the brokers at the start.
    #[arg(long, value_name = "S", default_value_t = 30.0)]
    timeout: f64,
    /// Milliseconds to wait before looking again when nothing was ready.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    poll: u64,
}

/// How long to wait before trying again after a round failed.
const RETRY: Duration = Duration::from_secs(1);

/// With `--once`: failed rounds in a row that delivered nothing before the
/// run stops with exit 1 (a row Kafka refuses for good, say, must not keep
/// a batch job running forever; the row stays undelivered).
const ONCE_FAILED_ROUNDS: u32 = 3;

/// What the run did, for the summary.
#[derive(Debug, Default)]
struct Totals {
    rows: u64,
    batches: u64,
    failed_rounds: u64,
}

pub(crate) fn run(args: Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("auditlog: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(relay(args)) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("auditlog: {message}");
            ExitCode::from(2)
        }
    }
}

async fn relay(args: Args) -> Result<ExitCode, String> {
    let timeout = timeout(args.timeout)?;
    let brokers = args.connection.brokers()?;
    let producer = LineProducer::new(
        &brokers,
        &args.connection.topic,
        &args.connection.properties(),
    )
    .map_err(|e| e.to_string())?;
    let pool = AnyPool::connect(&args.db)
        .await
        .map_err(|e| e.to_string())?;
    let relay = SqlRelay::new(pool, producer).batch_size(args.batch);
    // The table first (a missing one is the likelier mistake), then Kafka.
    relay.backlog().await.map_err(|e| e.to_string())?;
    // Blocks the runtime, which has nothing else to do yet.
    relay.producer().check(timeout).map_err(|e| e.to_string())?;

    let stop = Stop::on_signals()?;
    let mut totals = Totals::default();
    let mut failed_in_a_row = 0;
    let mut code = ExitCode::SUCCESS;
    while !stop.requested() {
        match relay.relay_batch().await {
            Ok(batch) if batch.relayed > 0 => {
                totals.rows += batch.relayed as u64;
                totals.batches += 1;
                failed_in_a_row = 0;
            }
            Ok(_) => {
                if args.once && finished(&relay).await? {
                    break;
                }
                stop.sleep(Duration::from_millis(args.poll)).await;
            }
            Err(error @ (Error::MissingTable { .. } | Error::Inconsistent { .. })) => {
                return Err(error.to_string())
            }
            Err(error) => {
                let delivered = match &error {
                    Error::NotDelivered { delivered, .. } => *delivered,
                    _ => 0,
                };
                totals.rows += delivered as u64;
                totals.failed_rounds += 1;
                failed_in_a_row = if delivered > 0 {
                    0
                } else {
                    failed_in_a_row + 1
                };
                let hint = hint(&error);
                if args.once && failed_in_a_row >= ONCE_FAILED_ROUNDS {
                    eprintln!(
                        "auditlog: relay: {error}{hint}; stopping after {failed_in_a_row} \
                         failed rounds in a row (--once); the rows stay undelivered"
                    );
                    code = ExitCode::from(1);
                    break;
                }
                eprintln!("auditlog: relay: {error}{hint}; trying again in {RETRY:?}");
                stop.sleep(RETRY).await;
            }
        }
    }
    eprintln!(
        "auditlog: relayed {} rows in {} batches to topic {} ({} failed rounds)",
        totals.rows, totals.batches, args.connection.topic, totals.failed_rounds
    );
    Ok(code)
}

/// What to do about an error that no retry fixes.
fn hint(error: &Error) -> &'static str {
    let text = error.to_string().to_ascii_lowercase();
    if text.contains("too large") {
        " (a row larger than Kafka takes: raise the producer's message.max.bytes \
         with -X and the topic's max.message.bytes)"
    } else {
        ""
    }
}

/// With `--once`: true when nothing committed is undelivered. Rows held
/// back behind a transaction still running (PostgreSQL) are waited for.
async fn finished(relay: &SqlRelay) -> Result<bool, String> {
    match relay.backlog().await {
        Ok(backlog) => Ok(backlog.undelivered == 0),
        Err(error @ Error::MissingTable { .. }) => Err(error.to_string()),
        Err(error) => {
            eprintln!("auditlog: relay: {error}");
            Ok(false)
        }
    }
}

/// SIGTERM or SIGINT asked the relay to stop after the batch in hand.
struct Stop {
    requested: Arc<AtomicBool>,
    woken: Arc<Notify>,
}

impl Stop {
    fn on_signals() -> Result<Stop, String> {
        use tokio::signal::unix::{signal, SignalKind};
        let requested = Arc::new(AtomicBool::new(false));
        let woken = Arc::new(Notify::new());
        for kind in [SignalKind::terminate(), SignalKind::interrupt()] {
            let mut signals =
                signal(kind).map_err(|e| format!("cannot listen for signals: {e}"))?;
            let (requested, woken) = (requested.clone(), woken.clone());
            tokio::spawn(async move {
                if signals.recv().await.is_some() {
                    requested.store(true, Ordering::SeqCst);
                    woken.notify_one();
                }
            });
        }
        Ok(Stop { requested, woken })
    }

    fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// Sleeps `duration`, or less when a stop is asked for.
    async fn sleep(&self, duration: Duration) {
        tokio::select! {
            () = tokio::time::sleep(duration) => {}
            () = self.woken.notified() => {}
        }
    }
}
