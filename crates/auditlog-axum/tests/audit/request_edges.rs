//! Attacks on the request path's fast paths, over raw HTTP/1.1 on TCP (so
//! that every byte is the test's): request text around the inline limit
//! (160 bytes), header bytes that are not text, repeated identity headers
//! in any case and order, skip paths sharing a first segment.

use std::net::SocketAddr;
use std::time::Duration;

use auditlog_axum::{AuditLayer, IdentitySource};
use auditlog_core::AuditEvent;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

const FLUSH: Duration = Duration::from_secs(60);

/// A header as sent: its name and raw value bytes.
type Header<'a> = (&'a str, &'a [u8]);

/// Sends `GET path` with `headers` (raw bytes, in order) and reads the
/// response to its end; its status line.
async fn raw_get(addr: SocketAddr, path: &str, headers: &[(&str, &[u8])]) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request =
        format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n").into_bytes();
    for (name, value) in headers {
        request.extend_from_slice(name.as_bytes());
        request.extend_from_slice(b": ");
        request.extend_from_slice(value);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    stream.write_all(&request).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    response.lines().next().unwrap_or_default().to_owned()
}

fn action_name(event: &AuditEvent) -> String {
    event.action.as_ref().unwrap().name.clone().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_text_around_the_inline_limit_reads_back_whole() {
    let sink = memory();
    let layer = layer(sink.clone());
    let addr = serve(app(layer.clone())).await;
    // Unrouted paths: the action name is the raw path. Path and user agent
    // lengths so that their sum with the method, the resource and the
    // address runs from well inside 160 bytes to well beyond it.
    let mut sent = Vec::new();
    for path_len in [1usize, 60, 120, 150, 155, 158, 159, 160, 161, 200] {
        for agent_len in [0usize, 1, 2, 5, 10, 40, 100, 159, 160, 161, 300] {
            let segment: String = (0..path_len)
                .map(|i| (b'a' + (i % 26) as u8) as char)
                .collect();
            let path = format!("/{segment}");
            let agent: String = (0..agent_len)
                .map(|i| (b'A' + (i % 26) as u8) as char)
                .collect();
            let tx = format!("tx-{path_len}-{agent_len}");
            let mut headers: Vec<(&str, &[u8])> = vec![("X-Transaction-Id", tx.as_bytes())];
            if agent_len > 0 {
                headers.push(("User-Agent", agent.as_bytes()));
            }
            let status = raw_get(addr, &path, &headers).await;
            assert!(status.contains("404"), "{status}");
            sent.push((tx, path, segment, agent));
        }
    }
    layer.flush(FLUSH).await.unwrap();
    let events = sink.verified();
    assert_eq!(events.len(), sent.len());
    for (tx, path, segment, agent) in sent {
        let event = events
            .iter()
            .find(|e| e.transactionid.as_deref() == Some(tx.as_str()))
            .unwrap_or_else(|| panic!("no event for {tx}"));
        assert_eq!(action_name(event), path, "{tx}");
        let action = event.action.as_ref().unwrap();
        assert_eq!(action.method.as_deref(), Some("GET"), "{tx}");
        let resource = event.objectref.as_ref().and_then(|o| o.resource.as_deref());
        assert_eq!(resource, Some(segment.as_str()), "{tx}");
        let network = event.network.as_ref().unwrap();
        assert_eq!(network.sourceip.as_deref(), Some("127.0.0.1"), "{tx}");
        let expected_agent = (!agent.is_empty()).then_some(agent.as_str());
        assert_eq!(network.useragent.as_deref(), expected_agent, "{tx}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_agents_that_are_not_visible_ascii_are_left_out_and_the_event_still_verifies() {
    let sink = memory();
    let layer = layer(sink.clone());
    let addr = serve(app(layer.clone())).await;
    let long_latin1 = [b"x".repeat(158), vec![0xe9, 0xe9, 0xe9]].concat();
    let utf8_across_160 = [b"y".repeat(159), "é€".as_bytes().to_vec()].concat();
    let agents: [&[u8]; 5] = [
        b"caf\xe9",
        b"\xff\xfe",
        "café".as_bytes(),
        &long_latin1,
        &utf8_across_160,
    ];
    for (n, agent) in agents.iter().enumerate() {
        let tx = format!("agent-{n}");
        let status = raw_get(
            addr,
            "/orders/1",
            &[("User-Agent", agent), ("X-Transaction-Id", tx.as_bytes())],
        )
        .await;
        assert!(status.contains("200"), "{status}");
    }
    layer.flush(FLUSH).await.unwrap();
    let events = sink.verified();
    assert_eq!(events.len(), agents.len());
    for event in &events {
        let network = event.network.as_ref().unwrap();
        assert_eq!(network.useragent, None, "{:?}", event.transactionid);
        assert_eq!(network.sourceip.as_deref(), Some("127.0.0.1"));
        assert_eq!(action_name(event), "/orders/{id}");
    }
}

/// The `_identity` note of an event's request payload, if any.
fn note(event: &AuditEvent) -> Option<serde_json::Value> {
    json(event)["eventdata"]["requestpayload"]
        .get(auditlog_axum::IDENTITY_KEY)
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_identity_headers_in_any_case_and_order_are_never_believed_one_sided() {
    // Believed (headers from any peer): a repeat that disagrees, whichever
    // comes first and however its name is spelled, is a conflict; the
    // tenant is left out.
    let sink = memory();
    let believing =
        AuditLayer::new(sink.clone()).identity_source(IdentitySource::UnverifiedHeadersFromAnyPeer);
    let addr = serve(app(believing.clone())).await;
    let spoofs: [[(&str, &[u8]); 2]; 4] = [
        [("tenantId", b"acme"), ("tenantId", b"globex")],
        [("TENANTID", b"globex"), ("tenantid", b"acme")],
        [("tenantid", b"acme"), ("TenantId", b"globex")],
        [("tenantId", b"acme"), ("tenantId", b"ACME")],
    ];
    for (n, spoof) in spoofs.iter().enumerate() {
        let status = raw_get(addr, &format!("/spoof-{n}"), spoof).await;
        assert!(status.contains("404"), "{status}");
    }
    // Repeated alike (after trimming) is one value, believed.
    let status = raw_get(
        addr,
        "/alike",
        &[("tenantId", b"acme"), ("TENANTID", b" acme ")],
    )
    .await;
    assert!(status.contains("404"), "{status}");
    believing.flush(FLUSH).await.unwrap();
    let events = sink.verified();
    assert_eq!(events.len(), spoofs.len() + 1);
    for event in &events {
        if action_name(event) == "/alike" {
            assert_eq!(event.tenantid.as_deref(), Some("acme"));
            assert_eq!(note(event), None);
            continue;
        }
        assert_eq!(event.tenantid, None, "{:?}", note(event));
        let conflict = note(event).expect("a conflict note")["conflict"]["tenantId"].clone();
        assert_eq!(conflict.as_array().map(Vec::len), Some(2), "{conflict}");
    }
    assert_eq!(believing.stats().identity_conflicts, spoofs.len() as u64);

    // Not believed (the secure default, an untrusted peer): the names are
    // noted as ignored when any repeat has a value, blank ones first or
    // last, any case, bytes that are not text included.
    let sink = memory();
    let secure = AuditLayer::new(sink.clone());
    let addr = serve(app(secure.clone())).await;
    let cases: [(&[Header<'_>], bool); 6] = [
        (&[("tenantId", b" "), ("TENANTID", b"globex")], true),
        (&[("TenantID", b"globex"), ("tenantid", b"  ")], true),
        (&[("tenantid", b"\xff\xfe")], true),
        (&[("tenantId", b" "), ("tenantId", b"\t")], false),
        (&[("tenant-id", b"globex")], false),
        (&[], false),
    ];
    for (n, (headers, _)) in cases.iter().enumerate() {
        // Unrouted: the raw path names the event.
        let status = raw_get(addr, &format!("/case-{n}"), headers).await;
        assert!(status.contains("404"), "{status}");
    }
    secure.flush(FLUSH).await.unwrap();
    let events = sink.verified();
    assert_eq!(events.len(), cases.len());
    let mut ignored = 0;
    for (n, (headers, noted)) in cases.iter().enumerate() {
        let path = format!("/case-{n}");
        let event = events
            .iter()
            .find(|e| action_name(e) == path)
            .unwrap_or_else(|| panic!("no event for {path}"));
        assert_eq!(event.tenantid, None, "{headers:?}");
        let expected = noted.then(|| json!({"ignored": ["tenantId"]}));
        assert_eq!(note(event), expected, "{headers:?}");
        ignored += u64::from(*noted);
    }
    assert_eq!(secure.stats().identity_ignored, ignored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_paths_sharing_a_first_segment_skip_only_their_own() {
    let sink = memory();
    let layer = layer(sink.clone()).skip_paths(["health", "api/v1/ping", "/actuator/"]);
    let addr = serve(app(layer.clone())).await;
    let skipped = [
        "/health",
        "/health/",
        "/health/live",
        "/health/x/y",
        "//health",
        "/health//live",
        "/api/v1/ping",
        "/api/v1/ping/deep",
        "/api//v1/ping",
        "/actuator",
        "/actuator/info",
    ];
    let audited = [
        "/healthcare",
        "/healthz",
        "/HEALTH",
        "/%68ealth",
        "/health%2Flive",
        "/orders/{id}", // `/orders/health`: a skip word as an id
        "/api",
        "/api/v1",
        "/api/v1/pong",
        "/api/v1/pingpong",
        "/api/v2/ping",
        "/actuatorx",
        "/",
    ];
    let requested = audited.map(|p| {
        if p == "/orders/{id}" {
            "/orders/health"
        } else {
            p
        }
    });
    for path in skipped.iter().chain(&requested) {
        let status = raw_get(addr, path, &[]).await;
        assert!(status.starts_with("HTTP/1.1"), "{path}: {status}");
    }
    layer.flush(FLUSH).await.unwrap();
    let mut names: Vec<String> = sink.verified().iter().map(action_name).collect();
    names.sort();
    let mut expected: Vec<String> = audited.iter().map(|p| p.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected);
}
