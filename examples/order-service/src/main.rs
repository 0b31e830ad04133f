//! Runs the order service: `AUDITLOG_SIGNING_KEY=... cargo run`, then
//! `curl -H 'authorization: Bearer alice-token' -H 'content-type: application/json'
//! -d '{"item":"book","quantity":1}' localhost:8080/orders`.
//!
//! Audit events go as JSON lines to `$AUDIT_LOG_FILE` (or standard output).
//! In production the sink is Kafka: `auditlog_kafka::setup()?` reads the
//! brokers, topic and signing key from the environment and is an
//! `AuditSink` like this one.

use std::error::Error;
use std::net::SocketAddr;
use std::time::Duration;

use auditlog_axum::AuditLayer;
use auditlog_seal::SigningKey;
use auditlog_sink::JsonLinesSink;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let key = SigningKey::from_env("AUDITLOG_SIGNING_KEY")?;
    if key.is_none() {
        eprintln!("order-service: $AUDITLOG_SIGNING_KEY is not set: events are hashed, not signed");
    }
    let sink = match std::env::var_os("AUDIT_LOG_FILE") {
        Some(path) => JsonLinesSink::append_to(path, key)?,
        None => JsonLinesSink::stdout(key),
    };
    let audit = AuditLayer::new(sink).compliance_category("SOX");

    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    eprintln!("order-service: listening on {}", listener.local_addr()?);
    let app = order_service::app(audit.clone());
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    // Events still queued are written before the process ends.
    audit.flush(Duration::from_secs(5)).await?;
    Ok(())
}
