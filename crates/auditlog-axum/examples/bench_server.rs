//! The server `scripts/bench-cpu-per-request.sh` measures: a minimal axum
//! app (`GET /orders/{id}` answering a small JSON body, `POST /orders`
//! taking any body) served bare, behind the audit layer, or behind
//! tower-http's `TraceLayer` writing a JSON log line per request (the
//! request log most services already pay for). Runs until SIGTERM, then
//! prints what the layer counted on stderr.
//!
//! ```sh
//! bench_server ADDR bare
//! bench_server ADDR kafka BOOTSTRAP     # KafkaPublisher, HMAC, topic audit-logs
//! bench_server ADDR jsonl FILE          # JsonLinesSink appending to FILE, HMAC
//! bench_server ADDR trace FILE          # TraceLayer + tracing-subscriber JSON, non-blocking
//! ```
//!
//! `BENCH_CAPTURE=1` turns payload capture on (capture limit 2 MiB);
//! `BENCH_QUEUE_BYTES` sets the layer's byte budget.

use std::net::SocketAddr;
use std::time::Duration;

use auditlog_axum::AuditLayer;
use auditlog_kafka::{KafkaConfig, KafkaPublisher};
use auditlog_seal::SigningKey;
use auditlog_sink::JsonLinesSink;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

fn routes() -> Router {
    Router::new()
        .route(
            "/orders/{id}",
            get(|| async { r#"{"id":1,"item":"espresso machine","quantity":1}"# }),
        )
        .route(
            "/orders",
            post(|body: Bytes| async move { format!(r#"{{"received":{}}}"#, body.len()) }),
        )
        .layer(DefaultBodyLimit::max(4 << 20))
}

fn audited(layer: AuditLayer) -> AuditLayer {
    let capture = std::env::var("BENCH_CAPTURE").is_ok_and(|v| v == "1");
    let mut layer = layer.capture_payloads(capture).capture_limit(2 << 20);
    if let Some(bytes) = std::env::var("BENCH_QUEUE_BYTES")
        .ok()
        .and_then(|b| b.parse().ok())
    {
        layer = layer.queue_bytes(bytes);
    }
    layer
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: bench_server ADDR bare|kafka BOOTSTRAP|jsonl FILE|trace FILE";
    let addr: SocketAddr = args.first().expect(usage).parse().expect(usage);
    let mode = args.get(1).map(String::as_str).expect(usage);
    let key = || Some(SigningKey::new("bench-key").expect("key"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Kept until the end: the appender's guard flushes the log.
    let mut _log_guard = None;
    let mut publisher = None;
    let (app, layer) = runtime.block_on(async {
        match mode {
            "bare" => (routes(), None),
            "kafka" => {
                let bootstrap = args.get(2).expect(usage);
                let config = KafkaConfig::new(bootstrap.as_str())
                    .topic("audit-logs")
                    .signing_key(key());
                let kafka = KafkaPublisher::new(config).expect("publisher");
                publisher = Some(kafka.clone());
                let layer = audited(AuditLayer::new(kafka));
                (routes().layer(layer.clone()), Some(layer))
            }
            "jsonl" => {
                let sink =
                    JsonLinesSink::append_to(args.get(2).expect(usage), key()).expect("file");
                let layer = audited(AuditLayer::new(sink));
                (routes().layer(layer.clone()), Some(layer))
            }
            "trace" => {
                let file = std::fs::File::create(args.get(2).expect(usage)).expect("log file");
                let (writer, guard) = tracing_appender::non_blocking(file);
                _log_guard = Some(guard);
                tracing_subscriber::fmt()
                    .json()
                    .with_writer(writer)
                    .with_max_level(tracing::Level::INFO)
                    .init();
                let trace = tower_http::trace::TraceLayer::new_for_http()
                    .make_span_with(
                        tower_http::trace::DefaultMakeSpan::new().level(tracing::Level::INFO),
                    )
                    .on_response(
                        tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO),
                    );
                (routes().layer(trace), None)
            }
            _ => panic!("{usage}"),
        }
    });
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        eprintln!("bench_server: {mode} on {addr}");
        let stop = async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            term.recv().await;
        };
        axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
            .expect("serve");
        if let Some(layer) = &layer {
            let flushed = layer.flush(Duration::from_secs(10)).await;
            eprintln!("bench_server: flush {flushed:?}; {:?}", layer.stats());
        }
    });
    if let Some(publisher) = publisher {
        eprintln!(
            "bench_server: {}",
            publisher.shutdown(Duration::from_secs(10))
        );
    }
}
