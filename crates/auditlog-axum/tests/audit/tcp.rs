//! Over a real TCP listener on port 0 with a real HTTP client.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

const FLUSH: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_requests_yield_a_thousand_verified_events() {
    let sink = memory();
    let layer = layer(sink.clone()).capture_payloads(true);
    let addr = serve(app(layer.clone())).await;
    let client = client();
    const CODES: [u16; 5] = [200, 201, 404, 409, 503];

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..1000usize {
        let client = client.clone();
        tasks.spawn(async move {
            let code = CODES[i % CODES.len()];
            let request = Request::get(format!("http://{addr}/status/{code}"))
                .header("X-Transaction-Id", format!("tx-{i}"))
                .body(Body::empty())
                .unwrap();
            let (status, _, _) = send(&client, request).await;
            (format!("tx-{i}"), status)
        });
    }
    let mut sent = HashMap::new();
    while let Some(result) = tasks.join_next().await {
        let (tx, status) = result.unwrap();
        sent.insert(tx, status);
    }
    assert_eq!(sent.len(), 1000);

    // Each response body was read to its end, so each event is queued.
    layer.flush(FLUSH).await.unwrap();
    let events = sink.verified(); // each verified: hash and signature
    assert_eq!(events.len(), 1000);
    let mut seen = HashMap::new();
    for event in &events {
        let tx = event.transactionid.clone().unwrap();
        let status = sent[&tx].as_u16();
        let action = event.action.as_ref().unwrap();
        let expected_severity = match status {
            500.. => "ERROR",
            400.. => "WARNING",
            _ => "INFO",
        };
        let expected_outcome = if status < 400 { "SUCCESS" } else { "FAILURE" };
        assert_eq!(action.severity.as_deref(), Some(expected_severity), "{tx}");
        assert_eq!(action.status.as_deref(), Some(expected_outcome), "{tx}");
        assert_eq!(
            event.network.as_ref().unwrap().sourceip.as_deref(),
            Some("127.0.0.1")
        );
        assert!(seen.insert(tx, ()).is_none(), "one event per request");
    }
    let stats = layer.stats();
    assert_eq!((stats.published, stats.dropped, stats.failed), (1000, 0, 0));
}

/// Status, the headers that shape a body, and the body bytes.
async fn exchange(client: &Client, request: Request<Body>) -> (StatusCode, Vec<String>, Vec<u8>) {
    let (status, headers, body) = send(client, request).await;
    let mut shape: Vec<String> = ["content-type", "content-length", "transfer-encoding"]
        .iter()
        .filter_map(|name| Some(format!("{name}: {:?}", headers.get(*name)?)))
        .collect();
    shape.sort();
    (status, shape, body.to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_byte_identical_with_and_without_the_layer() {
    let sink = memory();
    let layer = layer(sink.clone())
        .capture_payloads(true)
        .capture_limit(1024);
    let audited = serve(app(layer.clone())).await;
    let plain = serve(routes()).await;
    let client = client();
    // 300 KiB of every byte value: not UTF-8, far over the cap.
    let binary: Vec<u8> = (0..300 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let requests = |addr| {
        vec![
            Request::get(format!("http://{addr}/stream"))
                .body(Body::empty())
                .unwrap(),
            Request::get(format!("http://{addr}/orders/5"))
                .body(Body::empty())
                .unwrap(),
            Request::get(format!("http://{addr}/orders/missing"))
                .body(Body::empty())
                .unwrap(),
            Request::post(format!("http://{addr}/echo"))
                .body(Body::from(binary.clone()))
                .unwrap(),
            Request::post(format!("http://{addr}/echo-stream"))
                .body(Body::from_stream(futures_util::stream::iter(
                    binary
                        .chunks(4096)
                        .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                        .collect::<Vec<_>>(),
                )))
                .unwrap(),
            Request::post(format!("http://{addr}/orders"))
                .header("content-type", "application/json")
                .body(Body::from(r#"{"item":"pen","password":"x"}"#))
                .unwrap(),
            Request::head(format!("http://{addr}/orders/5"))
                .body(Body::empty())
                .unwrap(),
            Request::get(format!("http://{addr}/boom"))
                .body(Body::empty())
                .unwrap(),
        ]
    };
    let count = requests(audited).len();
    for (a, p) in requests(audited).into_iter().zip(requests(plain)) {
        let uri = a.uri().clone();
        let with = exchange(&client, a).await;
        let without = exchange(&client, p).await;
        assert_eq!(with, without, "{uri}");
    }
    layer.flush(FLUSH).await.unwrap();
    let events = sink.verified();
    assert_eq!(events.len(), count);
    for event in &events {
        assert_eq!(
            event
                .eventdata
                .as_ref()
                .and_then(|d| d.responsepayload.get("_incomplete")),
            None
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_gone_mid_body_yields_one_marked_event() {
    let sink = memory();
    let layer = layer(sink.clone());
    let addr = serve(app(layer.clone())).await;

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /forever HTTP/1.1\r\nhost: test\r\nX-Transaction-Id: gone\r\n\r\n")
        .await
        .unwrap();
    // Read until a few ticks arrived, then hang up.
    let mut received = Vec::new();
    while received.windows(5).filter(|w| w == b"tick\n").count() < 3 {
        let mut buf = [0u8; 1024];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0);
        received.extend_from_slice(&buf[..n]);
    }
    assert!(received.starts_with(b"HTTP/1.1 200 OK"));
    drop(stream);

    // The server notices on its next write.
    let events = sink.wait_for(1).await;
    assert_eq!(events.len(), 1);
    let value = json(&events[0]);
    assert_eq!(value["transactionid"], "gone");
    assert_eq!(value["action"]["severity"], "INFO");
    assert_eq!(value["action"]["status"], "SUCCESS");
    assert_eq!(
        value["eventdata"]["responsepayload"]["_incomplete"],
        "client disconnected during the response body"
    );
    layer.flush(FLUSH).await.unwrap();
    assert_eq!(sink.verified().len(), 1, "exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_over_tcp_from_a_trusted_local_proxy() {
    let sink = memory();
    let layer =
        layer(sink.clone()).trust_proxy("127.0.0.1".parse::<auditlog_axum::IpNetwork>().unwrap());
    let addr = serve(app(layer.clone())).await;
    let untrusting = memory();
    let plain_layer = super::support::layer(untrusting.clone());
    let plain_addr = serve(app(plain_layer.clone())).await;
    let client = client();
    for (addr, _) in [(addr, ()), (plain_addr, ())] {
        let request = Request::get(format!("http://{addr}/orders/1"))
            .header("x-forwarded-for", "198.51.100.23")
            .header("user-agent", "integration-test")
            .body(Body::empty())
            .unwrap();
        send(&client, request).await;
    }
    layer.flush(FLUSH).await.unwrap();
    plain_layer.flush(FLUSH).await.unwrap();
    let trusted = sink.verified()[0].network.clone().unwrap();
    assert_eq!(trusted.sourceip.as_deref(), Some("198.51.100.23"));
    assert_eq!(trusted.useragent.as_deref(), Some("integration-test"));
    let direct = untrusting.verified()[0].network.clone().unwrap();
    assert_eq!(direct.sourceip.as_deref(), Some("127.0.0.1"));
}
