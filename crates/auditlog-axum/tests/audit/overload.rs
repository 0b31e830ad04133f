//! Under a flood: the queue stays within its byte budget, what is dropped
//! is counted by reason (in the stats and the metrics), and every request
//! still gets its response.

use std::time::Duration;

use async_trait::async_trait;
use auditlog_axum::metric;
use auditlog_core::AuditEvent;
use auditlog_sink::{AuditSink, SinkError};
use auditlog_testkit::RecordedMetrics;
use axum::body::Body;
use axum::http::{Request, StatusCode};

use crate::support::*;

const BODY: usize = 64 * 1024;
const BUDGET: usize = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_large_captures_stays_within_the_byte_budget_and_counts_its_drops() {
    let recorded = RecordedMetrics::default();
    // A sink stuck on a dead broker: nothing leaves the queue.
    let layer = metrics::with_local_recorder(&recorded, || {
        layer(Stuck).capture_payloads(true).queue_bytes(BUDGET)
    });
    let addr = serve(app(layer.clone())).await;
    let client = client();
    let body = "x".repeat(BODY);
    let requests = 48;
    let mut sent = Vec::new();
    for _ in 0..requests {
        let request = Request::post(format!("http://{addr}/echo"))
            .body(Body::from(body.clone()))
            .unwrap();
        let client = client.clone();
        sent.push(tokio::spawn(async move { send(&client, request).await }));
    }
    for response in sent {
        let (status, _, echoed) = response.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(echoed.len(), BODY, "the response is the handler's, whole");
    }
    let stats = layer.stats();
    // Each event holds two 64 KiB captures: a handful fit in 1 MiB.
    assert!(stats.peak_queued_bytes <= BUDGET as u64, "{stats:?}");
    assert!(stats.peak_queued_bytes > (BUDGET / 2) as u64, "{stats:?}");
    assert!(stats.queued_bytes <= BUDGET as u64, "{stats:?}");
    assert!(stats.queued <= 8, "{stats:?}");
    assert_eq!(stats.queued + stats.dropped, requests, "{stats:?}");
    assert_eq!(stats.dropped_queue_bytes, stats.dropped, "{stats:?}");
    assert_eq!(
        (stats.dropped_queue_full, stats.dropped_not_running),
        (0, 0),
        "{stats:?}"
    );
    // The same numbers, through the metrics facade.
    let reason = |r: &str| format!("{}{{reason={r}}}", metric::DROPPED);
    assert_eq!(recorded.counter(&reason("queue_bytes")), stats.dropped);
    assert_eq!(recorded.counter(&reason("queue_full")), 0);
    assert_eq!(recorded.counter(metric::QUEUED), stats.queued);
    assert_eq!(
        recorded.gauge(metric::QUEUE_BYTES),
        stats.queued_bytes as f64
    );
}

#[tokio::test]
async fn a_full_queue_is_counted_apart_from_a_full_byte_budget() {
    let layer = layer(Stuck).queue_capacity(2);
    let app = app(layer.clone());
    for _ in 0..20 {
        let (status, _) = oneshot(&app, get("/orders/1")).await;
        assert_eq!(status, StatusCode::OK);
    }
    let stats = layer.stats();
    assert!(stats.dropped >= 16, "{stats:?}");
    assert_eq!(stats.dropped_queue_full, stats.dropped, "{stats:?}");
    assert_eq!(stats.dropped_queue_bytes, 0, "{stats:?}");
}

/// Panics on the event of transaction `boom`, records the others.
#[derive(Debug, Clone)]
struct PanicsOnce(MemorySink);

#[async_trait]
impl AuditSink for PanicsOnce {
    async fn publish(&self, event: AuditEvent) -> Result<(), SinkError> {
        if event.transactionid.as_deref() == Some("boom") {
            panic!("a sink bug");
        }
        self.0.publish(event).await
    }

    async fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        self.0.flush(timeout).await
    }
}

#[tokio::test]
async fn a_panicking_sink_loses_one_event_counted_not_the_later_ones() {
    let sink = PanicsOnce(memory());
    let layer = layer(sink.clone());
    let app = app(layer.clone());
    for tx in ["before", "boom", "after-1", "after-2"] {
        let (status, _) = oneshot(&app, request_tx("GET", "/orders/1", tx)).await;
        assert_eq!(status, StatusCode::OK);
        // One at a time: the panic hits the event of its own request.
        layer.flush(Duration::from_secs(30)).await.unwrap();
    }
    let recorded: Vec<_> = sink
        .0
        .verified()
        .into_iter()
        .map(|e| e.transactionid.unwrap())
        .collect();
    assert_eq!(recorded, ["before", "after-1", "after-2"]);
    let stats = layer.stats();
    assert_eq!(
        (stats.published, stats.failed, stats.failed_panicked),
        (3, 1, 1),
        "{stats:?}"
    );
    assert_eq!(stats.dropped, 0, "{stats:?}");
}
