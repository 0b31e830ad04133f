//! `auditlog demo`: an order service behind the audit middleware, publishing
//! to Kafka (an embedded mock cluster unless `--brokers` is given) and
//! reading its own events back, verifying each. With `--db PATH` the orders
//! live in SQLite, each change recorded with its audit event in one
//! transaction and relayed to the same topic.

mod app;
mod kafka;
mod outbox;
mod report;
mod sql_orders;
mod tour;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use auditlog_axum::{AuditLayer, IdentitySource, WriteAhead};
use auditlog_kafka::mock::EmbeddedKafka;
use auditlog_kafka::{KafkaConfig, KafkaPublisher, SpoolConfig};
use auditlog_seal::{ChainKey, SigningKey};
use tokio::sync::mpsc;

use crate::key::{KeyEnv, DEFAULT_KEY_ENV};
use kafka::{Consumed, Reader};
use outbox::Outbox;

/// How long shutdown waits for the publisher, and for the next event while
/// reading back the last ones.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Serve on this address until SIGINT or SIGTERM instead of running the
    /// scripted tour.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Kafka bootstrap servers to publish to, instead of an embedded
    /// in-process cluster.
    #[arg(long, value_name = "BROKERS")]
    brokers: Option<String>,
    /// The topic events are published to and read back from.
    #[arg(long, value_name = "TOPIC", default_value = "audit-events")]
    topic: String,
    /// Write every event read back from Kafka to FILE, one JSON line each.
    #[arg(long, value_name = "FILE")]
    events_out: Option<PathBuf>,
    /// Capture request and response bodies into the events (secrets redacted).
    #[arg(long)]
    capture_payloads: bool,
    /// Serve the same app without the audit layer (to measure its overhead).
    #[arg(long)]
    no_audit: bool,
    /// Write every event to a durable spool in DIR before publishing it: a
    /// run that is killed leaves them there, and the next run on DIR sends
    /// them first.
    #[arg(long, value_name = "DIR", conflicts_with = "no_audit")]
    spool: Option<PathBuf>,
    /// With --spool: each response waits until its request's event is
    /// fsynced in the spool (503 if that fails within 5 s).
    #[arg(long, requires = "spool")]
    write_ahead: bool,
    /// Keep the orders in this SQLite file (created and migrated if
    /// missing), each change recorded with its audit event in one
    /// transaction and relayed to Kafka. Needs $AUDITLOG_SIGNING_KEY.
    #[arg(long, value_name = "PATH", conflicts_with = "no_audit")]
    db: Option<PathBuf>,
    /// With --listen: publish without consuming the topic back (no reader
    /// verifying and printing events in this process), as a service does;
    /// for measuring the middleware with the broker elsewhere (--brokers).
    /// Shutdown still waits until the broker acknowledged every event.
    #[arg(long, requires = "listen", conflicts_with_all = ["no_audit", "events_out"])]
    no_readback: bool,
}

pub(crate) fn run(args: Args) -> ExitCode {
    match demo(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("auditlog demo: {message}");
            ExitCode::from(2)
        }
    }
}

fn demo(args: Args) -> Result<ExitCode, String> {
    let key = if args.no_audit {
        None
    } else {
        KeyEnv::default().load("the demo's events are hashed but not signed")?
    };
    if args.db.is_some() && key.is_none() {
        return Err(format!(
            "--db: the audit table is a chain linked under an HMAC key, and \
             `auditlog verify --chain --db` needs the same key later: set ${DEFAULT_KEY_ENV} \
             (e.g. export {DEFAULT_KEY_ENV}=demo-secret)"
        ));
    }
    let tour = args.listen.is_none();
    quiet_deliberate_panics(tour);
    // The mock cluster is !Send: it runs on its own thread, started before
    // and stopped after the runtime (so no client outlives it).
    let embedded = match (&args.brokers, args.no_audit) {
        (None, false) => {
            let kafka = EmbeddedKafka::start(1).map_err(|e| e.to_string())?;
            kafka
                .create_topic(&args.topic, 1)
                .map_err(|e| e.to_string())?;
            Some(kafka)
        }
        _ => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let code = runtime.block_on(serve(args, key, embedded.as_ref()));
    runtime.shutdown_timeout(Duration::from_secs(5));
    drop(embedded);
    code
}

/// Where the events go and come back from.
struct Pipeline {
    layer: AuditLayer,
    bootstrap: String,
    publisher: KafkaPublisher,
    /// The demo's own consumer, verifying what was published; `None` with
    /// `--no-readback`.
    readback: Option<(Reader, Collector)>,
    kafka: String,
}

async fn serve(
    args: Args,
    key: Option<SigningKey>,
    embedded: Option<&EmbeddedKafka>,
) -> Result<ExitCode, String> {
    let pipeline = if args.no_audit {
        None
    } else {
        let (bootstrap, kafka) = match (embedded, &args.brokers) {
            (Some(embedded), _) => (
                embedded.bootstrap_servers().to_owned(),
                format!(
                    "embedded (librdkafka mock cluster at {}), topic {}",
                    embedded.bootstrap_servers(),
                    args.topic
                ),
            ),
            (None, Some(brokers)) => (brokers.clone(), format!("{brokers}, topic {}", args.topic)),
            (None, None) => unreachable!("an embedded cluster runs unless --brokers is given"),
        };
        let mut config = KafkaConfig::new(&bootstrap)
            .topic(&args.topic)
            .signing_key(key.clone());
        if let Some(dir) = &args.spool {
            config = config.spool(SpoolConfig::new(dir));
        }
        let publisher = KafkaPublisher::new(config)
            .map_err(|e| format!("cannot create the Kafka publisher: {e}"))?;
        let readback = match args.no_readback {
            true => None,
            false => Some(start_readback(&bootstrap, &args, key.clone())?),
        };
        let write_ahead = match args.write_ahead {
            true => WriteAhead::required(),
            false => WriteAhead::off(),
        };
        let layer = AuditLayer::new(publisher.clone())
            // The default, said out loud: tenant and user come from the
            // app's authentication (app.rs), never from a client's headers.
            .identity_source(IdentitySource::Extension)
            .write_ahead(write_ahead)
            .capture_payloads(args.capture_payloads)
            // Beyond the defaults (password, secret, token, ...).
            .redact_key("card")
            // The demo plays a service behind a local reverse proxy, whose
            // X-Forwarded-For is believed (its identity headers are not).
            .trusted_proxies(
                ["127.0.0.1", "::1"].map(|ip| ip.parse::<auditlog_axum::IpNetwork>().unwrap()),
            );
        Some(Pipeline {
            layer,
            bootstrap,
            publisher,
            readback,
            kafka,
        })
    };

    let (orders, outbox) = match (&args.db, &key, &pipeline) {
        (Some(path), Some(key), Some(p)) => {
            let chain_key = ChainKey::hmac("default", key.clone()).map_err(|e| e.to_string())?;
            let sql = sql_orders::SqlOrders::open(path, chain_key).await?;
            let outbox = Outbox::start(sql.pool(), &p.bootstrap, &args.topic, DRAIN_TIMEOUT)?;
            (app::Orders::Sql(sql), Some(outbox))
        }
        _ => (app::Orders::new(), None),
    };
    let app = match &pipeline {
        Some(p) => app::routes(orders.clone()).layer(p.layer.clone()),
        None => app::routes(orders.clone()),
    };
    let listen = args.listen.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;

    println!("auditlog demo: an order service behind the audit middleware");
    match &pipeline {
        Some(p) => {
            println!("  kafka     {}", p.kafka);
            match &key {
                Some(_) => println!("  sealing   SHA-256 hash + HMAC-SHA256 signature (key from ${DEFAULT_KEY_ENV})"),
                None => println!("  sealing   SHA-256 hash only (set ${DEFAULT_KEY_ENV} to sign too)"),
            }
            if let (Some(dir), Some(recovery)) = (&args.spool, p.publisher.recovery()) {
                println!(
                    "  spool     {} (fsync every 10 ms{}); {} undelivered events from an earlier run, sent first",
                    dir.display(),
                    if args.write_ahead { "; write-ahead: each response waits for its event's fsync" } else { "" },
                    recovery.records
                );
            }
            if args.capture_payloads {
                println!("  payloads  captured, up to 64 KiB per body; secrets and cards redacted");
            } else {
                println!(
                    "  payloads  not captured (--capture-payloads captures them, secrets redacted)"
                );
            }
        }
        None => println!("  audit     off (--no-audit): the same app without the layer"),
    }
    if let Some(path) = &args.db {
        println!(
            "  orders    in {} with an audit event per change, same transaction (stream {}), relayed to Kafka",
            path.display(),
            sql_orders::STREAM
        );
    }
    if pipeline.is_some() {
        println!(
            "  identity  from the app's authentication (Bearer tokens), never from client headers"
        );
    }
    println!("  serving   http://{addr}");

    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    );
    let requests = if args.listen.is_some() {
        println!();
        println!("Try: curl -i -H 'Authorization: Bearer alice-token' http://{addr}/orders/1   (Ctrl-C or SIGTERM stops, gracefully)");
        match &pipeline {
            Some(p) if p.readback.is_some() => {
                println!();
                println!("Events read back from Kafka, each verified:");
            }
            Some(_) => {
                println!();
                println!(
                    "Events are not read back (--no-readback); shutdown reports their delivery."
                );
            }
            None => {}
        }
        server
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| format!("serving failed: {e}"))?;
        println!();
        if pipeline.as_ref().is_some_and(|p| p.readback.is_some()) {
            println!("Stopped accepting; flushing the publisher and reading the last events...");
        } else if pipeline.is_some() {
            println!("Stopped accepting; flushing the publisher...");
        } else {
            println!("Stopped.");
        }
        None
    } else {
        tokio::spawn(async move { server.await });
        Some(tour::run(addr).await?)
    };

    let Some(pipeline) = pipeline else {
        return Ok(ExitCode::SUCCESS);
    };
    let Pipeline {
        layer,
        publisher,
        readback,
        ..
    } = pipeline;
    if let Err(e) = layer.flush(DRAIN_TIMEOUT).await {
        eprintln!("auditlog demo: flushing the publisher: {e}");
    }
    let stats = layer.stats();
    // The order events recorded in the database reach the topic through
    // the relay; at shutdown it relays until nothing is undelivered.
    if let app::Orders::Sql(sql) = &orders {
        sql.checkpoint().await?;
    }
    let relayed = match outbox {
        Some(outbox) => outbox.finish().await?,
        None => 0,
    };
    // Write-ahead events went to the publisher durably, before their response.
    let expected = stats.published + stats.write_ahead + relayed;
    let collected = match readback {
        Some((reader, collector)) => {
            collector.wait_for(expected, DRAIN_TIMEOUT).await;
            drop(reader);
            Some(collector.finish().await?)
        }
        None => None,
    };

    if let (Some(requests), Some(collected)) = (requests, &collected) {
        tour::report(requests, collected);
        if let Some(path) = &args.db {
            tour::look_at_the_table(path);
        }
    }
    let report = tokio::task::block_in_place(|| publisher.shutdown(DRAIN_TIMEOUT));
    let failed_deliveries = report.undelivered() + report.dropped;
    // At least ours: on a shared topic others' events are read (and
    // verified) too.
    let read_back_all = collected
        .as_ref()
        .is_none_or(|c| c.verified >= expected && c.failed == 0);
    let ok = read_back_all
        && failed_deliveries == 0
        && stats.failed == 0
        && stats.dropped == 0
        && stats.write_ahead_failed == 0;
    println!();
    let mut summary = match &collected {
        Some(collected) => format!(
            "{} events published, {} read back, {} verified",
            expected,
            collected.verified + collected.failed,
            collected.verified,
        ),
        None => format!(
            "{} events published, {} acknowledged by the broker (not read back: --no-readback)",
            expected, report.delivered,
        ),
    };
    if stats.dropped > 0 {
        summary += &format!(", {} dropped by the full audit queue", stats.dropped);
    }
    if args.write_ahead {
        summary += &format!(
            ", {} responses sent after their event was fsynced ({} write-ahead failures)",
            stats.write_ahead, stats.write_ahead_failed
        );
    }
    if args.db.is_some() {
        summary += &format!(
            " ({relayed} of them relayed from the database: order events and checkpoints)"
        );
    }
    if let Some(path) = &args.events_out {
        summary += &format!(", written to {}", path.display());
    }
    println!("{summary}");
    if !ok {
        eprintln!(
            "auditlog demo: not every event made it: {stats:?}, {failed_deliveries} failed deliveries, {} failed verification",
            collected.map_or(0, |c| c.failed)
        );
        return Ok(ExitCode::FAILURE);
    }
    if args.listen.is_none() {
        println!("Next: auditlog demo --listen 127.0.0.1:8080, then curl it (Ctrl-C stops).");
    }
    Ok(ExitCode::SUCCESS)
}

/// The demo's consumer of its own topic and the task that tallies, prints
/// (`--listen`) or keeps (the tour) and writes (`--events-out`) what it reads.
fn start_readback(
    bootstrap: &str,
    args: &Args,
    key: Option<SigningKey>,
) -> Result<(Reader, Collector), String> {
    let (sender, receiver) = mpsc::unbounded_channel();
    let reader = Reader::start(bootstrap, &args.topic, key, sender)?;
    let out = match &args.events_out {
        Some(path) => {
            Some(BufWriter::new(File::create(path).map_err(|e| {
                format!("cannot create {}: {e}", path.display())
            })?))
        }
        None => None,
    };
    let collector = Collector::start(receiver, out, args.listen.is_some());
    Ok((reader, collector))
}

/// Reads consumed events on a task: prints them as they come (`--listen`)
/// or keeps them for the tour's report, and writes `--events-out`.
struct Collector {
    read: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<Result<Collected, String>>,
}

#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub(crate) events: Vec<Consumed>,
    pub(crate) verified: u64,
    pub(crate) failed: u64,
}

impl Collector {
    fn start(
        mut receiver: mpsc::UnboundedReceiver<Consumed>,
        mut out: Option<BufWriter<File>>,
        live: bool,
    ) -> Self {
        let read = Arc::new(AtomicU64::new(0));
        let counter = read.clone();
        let task = tokio::spawn(async move {
            let mut collected = Collected::default();
            // Buffered, flushed whenever the queue runs dry: one write per
            // burst rather than per event under load.
            let mut stdout = std::io::BufWriter::new(std::io::stdout());
            while let Some(consumed) = receiver.recv().await {
                if let Some(out) = &mut out {
                    writeln!(out, "{}", consumed.line).map_err(|e| e.to_string())?;
                }
                match consumed.verified {
                    Ok(_) => collected.verified += 1,
                    Err(_) => collected.failed += 1,
                }
                if live {
                    writeln!(stdout, "{}", report::event_line(&consumed))
                        .map_err(|e| e.to_string())?;
                } else {
                    collected.events.push(consumed);
                }
                if receiver.is_empty() {
                    stdout.flush().map_err(|e| e.to_string())?;
                    if let Some(out) = &mut out {
                        out.flush().map_err(|e| e.to_string())?;
                    }
                }
                counter.fetch_add(1, Relaxed);
            }
            stdout.flush().map_err(|e| e.to_string())?;
            if let Some(out) = &mut out {
                out.flush().map_err(|e| e.to_string())?;
            }
            Ok(collected)
        });
        Collector { read, task }
    }

    /// Waits until `count` events were read, or reading made no progress
    /// for `stall` (a backlog after a load test takes a while to read).
    async fn wait_for(&self, count: u64, stall: Duration) {
        let mut last = self.read.load(Relaxed);
        let mut since = tokio::time::Instant::now();
        while last < count && since.elapsed() < stall {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let now = self.read.load(Relaxed);
            if now > last {
                last = now;
                since = tokio::time::Instant::now();
            }
        }
    }

    /// The events read, once the reader stopped.
    async fn finish(self) -> Result<Collected, String> {
        self.task.await.map_err(|e| e.to_string())?
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// `GET /boom` panics on purpose; its backtrace would only clutter the
/// output (the 500 and its event show what happened).
fn quiet_deliberate_panics(silent: bool) {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .unwrap_or_default();
        if message.starts_with("GET /boom") {
            if !silent {
                eprintln!("  (GET /boom panicked on purpose; CatchPanicLayer answers 500)");
            }
            return;
        }
        default(info);
    }));
}
