//! The background task fills one event in place for every record and lends
//! it to the sink (`AuditSink::publish_borrowed`), refilling its strings'
//! buffers: a sequence of requests of every shape through one layer gives
//! the same events as events made afresh, nothing of one left in the next.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use auditlog_core::AuditEvent;
use auditlog_sink::{AuditSink, JsonLinesSink, SinkError};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;

use crate::support::*;

const FLUSH: Duration = Duration::from_secs(30);

/// Takes each event whole (the trait's default `publish_borrowed`), so the
/// layer makes every event afresh: the reference.
#[derive(Debug, Clone)]
struct Taking(MemorySink);

#[async_trait]
impl AuditSink for Taking {
    async fn publish(&self, event: AuditEvent) -> Result<(), SinkError> {
        self.0.publish(event).await
    }

    async fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        self.0.flush(timeout).await
    }
}

/// Requests of every shape, each unlike the one before it: headers that
/// come and go, a user agent beyond the inline text and the kept buffers,
/// handler enrichment, a captured body, a panic, a suppressed event.
fn requests() -> Vec<Request<Body>> {
    let long_agent = format!("agent/{}", "x".repeat(1500));
    let from = |ip: [u16; 8]| ConnectInfo(SocketAddr::from((ip, 443)));
    vec![
        Request::get("/orders/7")
            .header("TenantId", "acme")
            .header("x-b3-traceid", "trace-1")
            .header("actionLogUserId", "bob")
            .header("RequesterType", "USER")
            .header("user-agent", &long_agent)
            .extension(from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]))
            .body(Body::empty())
            .unwrap(),
        Request::delete("/orders/9").body(Body::empty()).unwrap(),
        get("/healthcare"),
        post_json("/orders", r#"{"item":"book","password":"p"}"#),
        request_tx("GET", "/status/503", "tx-2"),
        get("/boom"),
        get("/quiet"),
        Request::get("/orders/missing")
            .header("user-agent", "curl/8.5")
            .body(Body::empty())
            .unwrap(),
        Request::get("/orders/7")
            .header("TenantId", "other")
            .header("user-agent", &long_agent)
            .body(Body::empty())
            .unwrap(),
        get("/healthcare"),
    ]
}

/// The events `sink` got for [`requests`], their generated fields (id,
/// timestamp, seal) removed, and whether the hook ever saw an event that
/// was already sealed.
async fn events(
    sink: impl AuditSink,
    read: impl FnOnce() -> Vec<AuditEvent>,
) -> (Vec<serde_json::Value>, bool) {
    let sealed_seen = Arc::new(Mutex::new(false));
    let seen = sealed_seen.clone();
    let layer = layer(sink)
        .capture_payloads(true)
        .on_event(move |event: &mut AuditEvent| {
            *seen.lock().unwrap() |= event.security.is_some();
        });
    let app = app(layer.clone());
    for request in requests() {
        oneshot(&app, request).await;
        // One at a time: each event is made before the next request's.
        layer.flush(FLUSH).await.unwrap();
    }
    let events = read()
        .iter()
        .map(|event| {
            let mut value = json(event);
            let object = value.as_object_mut().unwrap();
            for generated in ["id", "timestamp", "security"] {
                assert!(object.remove(generated).is_some(), "{generated}: {event:?}");
            }
            value
        })
        .collect();
    let sealed_seen = *sealed_seen.lock().unwrap();
    (events, sealed_seen)
}

#[tokio::test]
async fn events_filled_in_one_reused_event_match_events_made_afresh() {
    let taking = Taking(memory());
    let fresh = taking.0.clone();
    let (expected, _) = events(taking, || fresh.verified()).await;
    assert_eq!(expected.len(), 9, "every request but the suppressed one");

    // `MemorySink` borrows: it seals the layer's event in place and keeps a copy.
    let borrowing = memory();
    let view = borrowing.clone();
    let (borrowed, sealed_seen) = events(borrowing, || view.verified()).await;
    assert_eq!(borrowed, expected);
    assert!(!sealed_seen, "the hook saw a sealed event: the last one's");

    // The JSON-lines sink borrows too, writing each line from the same event.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let lines = JsonLinesSink::append_to(&path, Some(key())).unwrap();
    let read = || {
        std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|line| {
                auditlog_seal::verify_json(line, Some(&key()))
                    .unwrap_or_else(|e| panic!("{e}: {line}"))
                    .event
            })
            .collect()
    };
    let (written, sealed_seen) = events(lines, read).await;
    assert_eq!(written, expected);
    assert!(!sealed_seen);

    // What the shapes are about: the bare request after the enriched one
    // and the one with every identity header carries none of theirs.
    let health = &expected[2];
    for absent in ["tenantid", "traceid", "subject", "network"] {
        assert!(health.get(absent).is_none(), "{absent} in {health}");
    }
    // The delete's details and compliance category are not in it either.
    assert_eq!(
        expected[1]["eventdata"]["requestpayload"]["reason"],
        "duplicate"
    );
    let data = health["eventdata"].as_object().unwrap();
    assert!(
        !data.contains_key("requestpayload") && !data.contains_key("metadata"),
        "{health}"
    );
    assert_eq!(expected[1]["objectref"]["resourceid"], "9");
    assert!(expected[2]["objectref"].get("resourceid").is_none());
}
