//! What the middleware itself costs per request, without network or Kafka:
//! `oneshot` through an axum router with and without the layer, on one
//! thread, the background task included (each request yields once so it
//! runs), the sink sealing each event and discarding it.

// `criterion_group!` defines `pub fn benches` without a doc.
#![allow(missing_docs)]

use std::time::Duration;

use auditlog_axum::{AuditIdentity, AuditLayer};
use auditlog_core::AuditEvent;
use auditlog_sink::{AuditSink, SinkError};
use axum::body::{Body, Bytes};
use axum::http::Request;
use axum::routing::{get, post};
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Seals (hash + signature) and drops: the CPU a real sink spends before
/// handing the bytes to its client.
#[derive(Debug)]
struct SealAndDiscard(auditlog_seal::SigningKey);

#[async_trait::async_trait]
impl AuditSink for SealAndDiscard {
    async fn publish(&self, mut event: AuditEvent) -> Result<(), SinkError> {
        std::hint::black_box(auditlog_seal::seal_to_json(&mut event, Some(&self.0)));
        Ok(())
    }

    async fn flush(&self, _: Duration) -> Result<(), SinkError> {
        Ok(())
    }
}

fn routes() -> Router {
    Router::new()
        .route(
            "/orders/{id}",
            get(|| async { r#"{"id":1,"item":"espresso machine","quantity":1}"# }),
        )
        .route("/orders", post(|body: Bytes| async move { body }))
}

fn order_1kib() -> String {
    let head = r#"{"item":"coffee beans","quantity":2,"customer":"alice","token":"t","notes":""#;
    let pad = 1024 - head.len() - 2;
    format!("{head}{}\"}}", "x".repeat(pad))
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sink = || SealAndDiscard(auditlog_seal::SigningKey::new("bench").unwrap());
    let plain = routes();
    let audited = runtime.block_on(async { routes().layer(AuditLayer::new(sink())) });
    let capturing =
        runtime.block_on(async { routes().layer(AuditLayer::new(sink()).capture_payloads(true)) });
    let order = order_1kib();
    assert_eq!(order.len(), 1024);

    let get_request = || {
        // The identity an authentication layer outside the audit layer attached.
        Request::get("/orders/1")
            .extension(AuditIdentity::new().tenant_id("acme").user_id("alice"))
            .header("user-agent", "bench")
            .body(Body::empty())
            .unwrap()
    };
    let post_request = || {
        Request::post("/orders")
            .header("content-type", "application/json")
            .extension(AuditIdentity::new().tenant_id("acme"))
            .body(Body::from(order.clone()))
            .unwrap()
    };
    let run = |app: &Router, request: Request<Body>| {
        runtime.block_on(async {
            let response = app.clone().oneshot(request).await.unwrap();
            let body = response.into_body().collect().await.unwrap();
            std::hint::black_box(body);
            // Let the background task publish this request's event.
            tokio::task::yield_now().await;
        })
    };

    let mut group = c.benchmark_group("per_request");
    group.bench_function("get_without_layer", |b| {
        b.iter(|| run(&plain, get_request()))
    });
    group.bench_function("get_with_layer", |b| {
        b.iter(|| run(&audited, get_request()))
    });
    group.bench_function("post_1kib_without_layer", |b| {
        b.iter(|| run(&plain, post_request()))
    });
    group.bench_function("post_1kib_with_layer_capture_on", |b| {
        b.iter(|| run(&capturing, post_request()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
