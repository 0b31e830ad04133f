//! Write-ahead: the response waits until its event is durably recorded.

use std::path::Path;
use std::time::Duration;

use auditlog_axum::{
    AuditContext, WriteAhead, WriteAheadFailure, WriteAheadLayer, WRITE_AHEAD_KEY,
};
use auditlog_core::AuditEvent;
use auditlog_sink::JsonLinesSink;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::{self, post};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::support::*;

const FLUSH: Duration = Duration::from_secs(30);

/// The events in the JSON-lines file, each verified (hash and signature).
fn events_in(path: &Path) -> Vec<AuditEvent> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| {
            auditlog_seal::verify_json(line, Some(&key()))
                .unwrap_or_else(|e| panic!("{e}: {line}"))
                .event
        })
        .collect()
}

fn with_transaction<'a>(events: &'a [AuditEvent], tx: &str) -> Vec<&'a AuditEvent> {
    events
        .iter()
        .filter(|e| e.transactionid.as_deref() == Some(tx))
        .collect()
}

async fn transfer() -> (StatusCode, &'static str) {
    (StatusCode::CREATED, "moved")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_response_arrives_after_its_event_is_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = JsonLinesSink::append_to(&path, Some(key())).unwrap();
    let layer = layer(sink)
        .capture_payloads(true)
        .write_ahead(WriteAhead::required());
    let addr = serve(app(layer.clone())).await;
    let client = client();

    for i in 0..5 {
        let tx = format!("order-{i}");
        let request = Request::post(format!("http://{addr}/orders"))
            .header("content-type", "application/json")
            .header("X-Transaction-Id", &tx)
            .body(Body::from(format!(
                r#"{{"item":"pen-{i}","password":"x"}}"#
            )))
            .unwrap();
        let (status, _, body) = send(&client, request).await;
        assert_eq!(status, StatusCode::CREATED);
        assert!(body.starts_with(b"{"), "the handler's response");
        // Nothing flushed: the line was written through before the response.
        let events = events_in(&path);
        let ours = with_transaction(&events, &tx);
        assert_eq!(ours.len(), 1, "{tx}");
        let value = json(ours[0]);
        assert_eq!(value["action"]["status"], "SUCCESS");
        assert_eq!(
            value["eventdata"]["requestpayload"]["item"],
            format!("pen-{i}")
        );
        assert_eq!(
            value["eventdata"]["requestpayload"]["password"],
            "[REDACTED]"
        );
        let response_payload = value["eventdata"]["responsepayload"].as_object().unwrap();
        assert_eq!(
            response_payload.keys().collect::<Vec<_>>(),
            [WRITE_AHEAD_KEY],
            "no response body: {response_payload:?}"
        );
    }

    // A streaming response: its event is in the file once its head arrived.
    let response = client
        .request(request_tx(
            "GET",
            &format!("http://{addr}/stream"),
            "stream",
        ))
        .await
        .unwrap();
    assert_eq!(with_transaction(&events_in(&path), "stream").len(), 1);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(body.ends_with(b"chunk 19\n"));

    // Concurrent requests: every response found its event recorded.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let client = client.clone();
        tasks.spawn(async move {
            let uri = format!("http://{addr}/orders/{i}");
            send(&client, request_tx("GET", &uri, &format!("get-{i}")))
                .await
                .0
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    let events = events_in(&path);
    assert_eq!(events.len(), 56);
    for i in 0..50 {
        assert_eq!(with_transaction(&events, &format!("get-{i}")).len(), 1);
    }
    let stats = layer.stats();
    assert_eq!((stats.write_ahead, stats.write_ahead_failed), (56, 0));
    assert_eq!((stats.queued, stats.published, stats.dropped), (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_that_cannot_record_durably_fails_closed_or_open() {
    let client = client();
    for on_failure in [WriteAheadFailure::FailClosed, WriteAheadFailure::FailOpen] {
        // MemorySink keeps the trait's default: publish_durable refuses.
        let sink = memory();
        let write_ahead = WriteAhead::required().on_failure(on_failure);
        let layer = layer(sink.clone()).write_ahead(write_ahead);
        let addr = serve(app(layer.clone())).await;
        let plain = serve(routes()).await;

        let uri = format!("http://{addr}/orders/1");
        let (status, _, body) = send(&client, request_tx("GET", &uri, "refused")).await;
        let expected = send(&client, get(&format!("http://{plain}/orders/1"))).await;
        match on_failure {
            WriteAheadFailure::FailClosed => {
                assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
                assert!(body.is_empty());
            }
            _ => assert_eq!((status, body), (expected.0, expected.2)),
        }
        let stats = layer.stats();
        assert_eq!(
            (stats.write_ahead, stats.write_ahead_failed),
            (0, 1),
            "{on_failure:?}"
        );

        // Skipped and suppressed requests do not wait on the sink.
        let (status, _, _) = send(&client, get(&format!("http://{addr}/health"))).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = send(&client, get(&format!("http://{addr}/quiet"))).await;
        assert_eq!(status, StatusCode::OK);

        // The refused event is still published, the ordinary way, once.
        layer.flush(FLUSH).await.unwrap();
        let events = sink.verified();
        assert_eq!(events.len(), 1, "{on_failure:?}");
        let value = json(&events[0]);
        assert_eq!(value["transactionid"], "refused");
        assert_eq!(value["action"]["status"], "SUCCESS", "what the handler did");
        let stats = layer.stats();
        assert_eq!(
            (stats.write_ahead, stats.write_ahead_failed),
            (0, 1),
            "{on_failure:?}"
        );
        assert_eq!(
            (
                stats.queued,
                stats.published,
                stats.skipped,
                stats.suppressed
            ),
            (1, 1, 1, 1),
            "{on_failure:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_that_does_not_answer_times_out_into_a_503() {
    let ledger = Ledger::new(Durable::Hangs);
    let write_ahead = WriteAhead::required().timeout(Duration::from_millis(50));
    let layer = layer(ledger.clone()).write_ahead(write_ahead);
    let addr = serve(app(layer.clone())).await;
    let uri = format!("http://{addr}/orders/1");
    let (status, _, _) = send(&client(), request_tx("GET", &uri, "late")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    layer.flush(FLUSH).await.unwrap();
    assert!(ledger.durable().is_empty());
    assert_eq!(ledger.plain(), ["late"]);
    let stats = layer.stats();
    assert_eq!((stats.write_ahead, stats.write_ahead_failed), (0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_marked_route_waits_for_its_event() {
    let ledger = Ledger::new(Durable::Gated);
    let layer = layer(ledger.clone());
    let app = routes()
        .route(
            "/transfers",
            post(transfer).layer(WriteAheadLayer::required()),
        )
        .layer(layer.clone());
    let addr = serve(app).await;
    let client = client();

    let uri = format!("http://{addr}/transfers");
    let pending_transfer = tokio::spawn({
        let client = client.clone();
        async move { send(&client, request_tx("POST", &uri, "transfer")).await }
    });
    ledger.entered().await;
    // An unmarked route is answered while the transfer's record is held up.
    let uri = format!("http://{addr}/orders/1");
    let (status, _, _) = send(&client, request_tx("GET", &uri, "order")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!pending_transfer.is_finished(), "held until recorded");
    assert!(ledger.durable().is_empty());

    ledger.release();
    let (status, _, body) = pending_transfer.await.unwrap();
    assert_eq!((status, &body[..]), (StatusCode::CREATED, &b"moved"[..]));
    assert_eq!(ledger.durable(), ["transfer"]);
    layer.flush(FLUSH).await.unwrap();
    assert_eq!(ledger.plain(), ["order"]);
    let stats = layer.stats();
    assert_eq!((stats.write_ahead, stats.write_ahead_failed), (1, 0));
    assert_eq!((stats.queued, stats.published), (1, 1));
}

async fn decided_by_the_handler(audit: AuditContext) -> &'static str {
    audit.set_write_ahead(WriteAhead::required());
    "recorded first"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_and_handlers_override_the_layer() {
    let ledger = Ledger::new(Durable::Records);
    let layer = layer(ledger.clone()).write_ahead(WriteAhead::required());
    let app = Router::new()
        .route(
            "/public",
            routing::get(|| async { "public" }).layer(WriteAheadLayer::off()),
        )
        .route("/private", routing::get(|| async { "private" }))
        .layer(layer.clone());
    let addr = serve(app).await;
    let client = client();
    for path in ["public", "private"] {
        let uri = format!("http://{addr}/{path}");
        let (status, _, _) = send(&client, request_tx("GET", &uri, path)).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(ledger.durable(), ["private"]);

    let ledger = Ledger::new(Durable::Records);
    let layer_off = super::support::layer(ledger.clone());
    let app = Router::new()
        .route("/decided", routing::get(decided_by_the_handler))
        .route("/plain", routing::get(|| async { "plain" }))
        .layer(layer_off.clone());
    let addr = serve(app).await;
    for path in ["decided", "plain"] {
        let uri = format!("http://{addr}/{path}");
        let (status, _, _) = send(&client, request_tx("GET", &uri, path)).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(ledger.durable(), ["decided"]);

    layer.flush(FLUSH).await.unwrap();
    layer_off.flush(FLUSH).await.unwrap();
    assert_eq!(layer.stats().write_ahead, 1);
    assert_eq!(layer_off.stats().write_ahead, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_event_per_request_however_the_body_ends() {
    let ledger = Ledger::new(Durable::Records);
    let layer = layer(ledger.clone()).write_ahead(WriteAhead::required());
    let addr = serve(app(layer.clone())).await;
    let client = client();
    let exchanges = [
        ("GET", "/stream", "stream"),
        ("POST", "/echo-stream", "echo-stream"),
        ("GET", "/orders/1", "get"),
        ("HEAD", "/orders/1", "head"),
        ("DELETE", "/orders/9", "delete"),
        ("GET", "/status/500", "error"),
    ];
    for (method, path, tx) in exchanges {
        let uri = format!("http://{addr}{path}");
        send(&client, request_tx(method, &uri, tx)).await;
    }

    // A body dropped half-way (the client went away) adds no second event.
    let app = app(layer.clone());
    let response = app
        .oneshot(request_tx("GET", "/forever", "forever"))
        .await
        .unwrap();
    let mut body = response.into_body();
    body.frame().await.unwrap().unwrap();
    drop(body);

    layer.flush(FLUSH).await.unwrap();
    let mut expected: Vec<&str> = exchanges.iter().map(|(_, _, tx)| *tx).collect();
    expected.push("forever");
    let mut durable = ledger.durable();
    durable.sort();
    expected.sort();
    assert_eq!(durable, expected);
    assert!(ledger.plain().is_empty());
    let stats = layer.stats();
    assert_eq!((stats.write_ahead, stats.queued), (7, 0));
}

#[tokio::test]
async fn without_write_ahead_the_event_still_waits_for_the_body() {
    let ledger = Ledger::new(Durable::Records);
    let layer = layer(ledger.clone());
    let app = app(layer.clone());
    let response = app
        .oneshot(request_tx("GET", "/stream", "stream"))
        .await
        .unwrap();
    layer.flush(FLUSH).await.unwrap();
    assert_eq!(layer.stats().queued, 0, "not before the body ended");
    response.into_body().collect().await.unwrap();
    layer.flush(FLUSH).await.unwrap();
    assert_eq!(ledger.plain(), ["stream"]);
    assert!(ledger.durable().is_empty());
}

#[tokio::test]
async fn a_route_layer_without_the_audit_layer_changes_nothing() {
    let app: Router = Router::new().route(
        "/transfers",
        post(transfer).layer(WriteAheadLayer::required()),
    );
    let (status, body) = oneshot(
        &app,
        Request::post("/transfers").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!((status, &body[..]), (StatusCode::CREATED, &b"moved"[..]));
}
