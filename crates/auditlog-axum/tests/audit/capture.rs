//! Payload capture: off by default, forms of bodies, the cap, redaction
//! (its classes over real HTTP: `redaction.rs`).

use std::time::Duration;

use auditlog_axum::AuditLayer;
use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};

use crate::support::*;

const FLUSH: Duration = Duration::from_secs(30);

/// `eventdata` of the one event `request` yields.
async fn eventdata(setup: impl FnOnce(AuditLayer) -> AuditLayer, request: Request<Body>) -> Value {
    let sink = memory();
    let layer = setup(layer(sink.clone()));
    oneshot(&app(layer.clone()), request).await;
    layer.flush(FLUSH).await.unwrap();
    let events = sink.verified();
    assert_eq!(events.len(), 1);
    json(&events[0])["eventdata"].clone()
}

fn on(layer: AuditLayer) -> AuditLayer {
    layer.capture_payloads(true)
}

#[tokio::test]
async fn capture_is_off_by_default() {
    let data = eventdata(|l| l, post_json("/orders", r#"{"item":"book"}"#)).await;
    assert_eq!(data, Value::Null);
}

#[tokio::test]
async fn objects_are_kept_as_they_are_and_secrets_redacted() {
    let body = r#"{"item":"book","qty":2,"card":{"number":"4111","CVV":"1","Secret":"s"},"auth":[{"apiKey":"k","note":"n"}],"Password":"hunter2"}"#;
    let data = eventdata(on, post_json("/orders", body)).await;
    // `card` + `number` reads as `cardnumber`; `auth` is redacted whole.
    let expected = json!({
        "item": "book", "qty": 2,
        "card": {"number": "[REDACTED]", "CVV": "[REDACTED]", "Secret": "[REDACTED]"},
        "auth": "[REDACTED]",
        "Password": "[REDACTED]"
    });
    assert_eq!(data["requestpayload"], expected);
    // The handler echoes the order: the response is redacted the same way.
    assert_eq!(data["responsepayload"], expected);
    assert_eq!(data["metadata"], json!({"issensitive": true}));
}

#[tokio::test]
async fn redaction_keys_are_configurable() {
    let setup = |l: AuditLayer| on(l).redact_keys(["card"]).redact_key("QTY");
    let data = eventdata(
        setup,
        post_json("/orders", r#"{"card":{"n":1},"qty":2,"password":"p"}"#),
    )
    .await;
    assert_eq!(
        data["requestpayload"],
        json!({"card": "[REDACTED]", "qty": "[REDACTED]", "password": "p"})
    );
}

#[tokio::test]
async fn other_json_is_wrapped_and_text_is_described() {
    let data = eventdata(on, post_json("/echo", "[1,2,3]")).await;
    assert_eq!(data["requestpayload"], json!({"_value": [1, 2, 3]}));
    assert_eq!(data["responsepayload"], json!({"_value": [1, 2, 3]}));

    let request = Request::post("/echo")
        .body(Body::from(&b"plain \xff text"[..]))
        .unwrap();
    let data = eventdata(on, request).await;
    let omitted = &data["requestpayload"]["_omitted"];
    assert_eq!(omitted["reason"], "unparseable");
    assert_eq!(omitted["length"], 12);
    assert_eq!(omitted["sha256"].as_str().unwrap().len(), 64);

    let request = Request::post("/echo")
        .body(Body::from(&b"plain \xff text"[..]))
        .unwrap();
    let data = eventdata(|l| on(l).capture_raw_text(true), request).await;
    assert_eq!(
        data["requestpayload"],
        json!({"_raw": "plain \u{fffd} text"})
    );

    let request = Request::post("/echo")
        .body(Body::from("user=u&token=abc"))
        .unwrap();
    let data = eventdata(|l| on(l).capture_raw_text(true), request).await;
    assert_eq!(data["requestpayload"], json!({"_raw": "[REDACTED]"}));
}

#[tokio::test]
async fn bodies_longer_than_the_cap_are_truncated_and_marked() {
    let body = format!(r#"{{"items":"{}"}}"#, "x".repeat(100));
    let data = eventdata(|l| on(l).capture_limit(16), post_json("/orders", &body)).await;
    assert_eq!(data["requestpayload"]["_truncated"], true);
    assert_eq!(data["requestpayload"]["_omitted"]["reason"], "truncated");
    assert_eq!(data["requestpayload"]["_omitted"]["length"], body.len());
    let raw = |l: AuditLayer| on(l).capture_raw_text(true);
    let data = eventdata(|l| raw(l).capture_limit(16), post_json("/orders", &body)).await;
    assert_eq!(
        data["requestpayload"],
        json!({"_raw": r#"{"items":"xxxxxx"#, "_truncated": true})
    );
    // The default cap is 64 KiB.
    let big = format!(r#"{{"items":"{}"}}"#, "y".repeat(70 * 1024));
    let data = eventdata(raw, post_json("/echo", &big)).await;
    let raw = data["requestpayload"]["_raw"].as_str().unwrap();
    assert_eq!(raw.len(), 64 * 1024);
    assert_eq!(data["requestpayload"]["_truncated"], true);
    assert_eq!(data["responsepayload"]["_truncated"], true);
}

#[tokio::test]
async fn streamed_responses_are_captured_across_chunks() {
    let expected: String = (0..20).map(|i| format!("chunk {i}\n")).collect();
    let data = eventdata(on, get("/stream")).await;
    assert_eq!(
        data["responsepayload"]["_omitted"]["length"],
        expected.len(),
        "every chunk counted"
    );
    let data = eventdata(|l| on(l).capture_raw_text(true), get("/stream")).await;
    assert_eq!(data["responsepayload"], json!({"_raw": expected}));
    assert_eq!(data.get("requestpayload"), None);
}
