//! Captures never seal a secret: each redaction class over real HTTP
//! through the layer, in the request and in the echoed response.

use std::time::Duration;

use auditlog_axum::{AuditLayer, CaptureOnly};
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use axum::routing::post;
use axum::Json;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::*;

const FLUSH: Duration = Duration::from_secs(60);

/// One request's exchange and the event it yielded.
struct Seen {
    status: StatusCode,
    /// The response body the client got.
    body: Bytes,
    /// The sealed line as published.
    line: String,
    /// Its `eventdata`.
    data: Value,
}

/// Sends `method path` with `content_type` and `body` over TCP to the app
/// (with capture on and `setup` applied) and waits for its event.
async fn over_http(
    setup: impl FnOnce(AuditLayer) -> AuditLayer,
    content_type: &str,
    path: &str,
    body: impl Into<Body>,
) -> Seen {
    let sink = memory();
    let layer = setup(layer(sink.clone()).capture_payloads(true));
    let app = routes()
        .route(
            "/payments",
            post(echo_json).layer(CaptureOnly::fields(["amount", "payee.id", "items.sku"])),
        )
        .layer(layer.clone());
    let addr = serve(app).await;
    let request = Request::post(format!("http://{addr}{path}"))
        .header("content-type", content_type)
        .body(body.into())
        .unwrap();
    let (status, _, body) = send(&client(), request).await;
    layer.flush(FLUSH).await.unwrap();
    let events = sink.verified(); // each verified: hash and signature
    assert_eq!(events.len(), 1);
    let line = sink.published().pop().unwrap();
    Seen {
        status,
        body,
        data: json(&events[0])["eventdata"].clone(),
        line,
    }
}

async fn echo_json(Json(body): Json<Value>) -> Json<Value> {
    Json(body)
}

/// Checks the published bytes, with the random parts (id, timestamp, hash,
/// signature) blanked first: a short secret such as "4321" turns up in a
/// random hex signature now and then.
fn assert_absent(seen: &Seen, secrets: &[&str]) {
    let parsed: Value = serde_json::from_str(&seen.line).unwrap();
    let mut line = seen.line.clone();
    for random in [
        &parsed["id"],
        &parsed["timestamp"],
        &parsed["security"]["hash"],
        &parsed["security"]["signature"],
    ] {
        let random = random.as_str().expect("a sealed line has this field");
        line = line.replacen(random, "", 1);
    }
    for secret in secrets {
        assert!(!line.contains(secret), "{secret} sealed: {}", seen.line);
    }
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn secrets_under_longer_names_are_redacted_in_the_request_and_its_echo() {
    let body = json!({
        "item": "book",
        "grant": {"access_token": "AT-111", "refresh_token": "RT-222", "token_type": "Bearer"},
        "client_secret": "CS-333",
        "user": {"name": "ann", "newPassword": "NP-444"},
        "payments": [{"card_number": "CN-555", "cvv": "CV-666", "exp_month": 12}, {"card": {"number": "CN-777"}}],
        "Session-Id": "SE-888",
        "pin": "9999"
    });
    let seen = over_http(|l| l, "application/json", "/orders", body.to_string()).await;
    assert_eq!(seen.status, StatusCode::CREATED);
    assert_eq!(
        serde_json::from_slice::<Value>(&seen.body).unwrap(),
        body,
        "the client gets its echo"
    );
    let expected = json!({
        "item": "book",
        "grant": {"access_token": "[REDACTED]", "refresh_token": "[REDACTED]", "token_type": "Bearer"},
        "client_secret": "[REDACTED]",
        "user": {"name": "ann", "newPassword": "[REDACTED]"},
        "payments": [
            {"card_number": "[REDACTED]", "cvv": "[REDACTED]", "exp_month": "[REDACTED]"},
            {"card": {"number": "[REDACTED]"}}
        ],
        "Session-Id": "[REDACTED]",
        "pin": "[REDACTED]"
    });
    assert_eq!(seen.data["requestpayload"], expected);
    assert_eq!(seen.data["responsepayload"], expected);
    assert_eq!(seen.data["metadata"]["issensitive"], true);
    assert_absent(
        &seen,
        &[
            "AT-111", "RT-222", "CS-333", "NP-444", "CN-555", "CV-666", "CN-777", "SE-888", "9999",
        ],
    );
}

#[tokio::test]
async fn ordinary_names_that_contain_a_short_entry_are_kept() {
    let body = json!({
        "tokenType": "Bearer",
        "passwordPolicy": {"minLength": 12},
        "shipping": "express",
        "author": "ann",
        "company": "acme",
        "createdAtMs": 1_700_000_000_000_i64,
        "userPin": "1234"
    });
    let seen = over_http(|l| l, "application/json", "/orders", body.to_string()).await;
    let mut expected = body.clone();
    expected["userPin"] = json!("[REDACTED]");
    assert_eq!(seen.data["requestpayload"], expected);
    assert_eq!(seen.data["responsepayload"], expected);
}

#[tokio::test]
async fn values_that_look_like_secrets_are_redacted_under_any_key() {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJlLXNpZw";
    let pem =
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";
    let body = json!({
        "note": "card 4111 1111 1111 1111, thanks",
        "digits": 4_111_111_111_111_111_i64,
        "dashed": "5500-0000-0000-0004",
        "header": "Bearer abc123def456ghi",
        "blob": jwt,
        "material": pem,
        "list": ["fine", "378282246310005"],
        "order": "A-1234567"
    });
    let seen = over_http(|l| l, "application/json", "/orders", body.to_string()).await;
    let expected = json!({
        "note": "[REDACTED]", "digits": "[REDACTED]", "dashed": "[REDACTED]",
        "header": "[REDACTED]", "blob": "[REDACTED]", "material": "[REDACTED]",
        "list": ["fine", "[REDACTED]"], "order": "A-1234567"
    });
    assert_eq!(seen.data["requestpayload"], expected);
    assert_eq!(seen.data["responsepayload"], expected);
    assert_eq!(seen.data["metadata"]["issensitive"], true);
    assert_absent(
        &seen,
        &[
            "4111 1111",
            "4111111111111111",
            "5500-0000",
            "abc123def456ghi",
            "c2lnbmF0dXJl",
            "MIIEvQ",
            "378282246310005",
        ],
    );
}

#[tokio::test]
async fn form_bodies_are_decoded_and_redacted_like_objects() {
    let form = "user=ann&pass%77ord=hunter2&client_secret=s3cr3t&item=a+book&_raw=forged";
    let seen = over_http(|l| l, "application/x-www-form-urlencoded", "/echo", form).await;
    assert_eq!(&seen.body[..], form.as_bytes());
    assert_eq!(
        seen.data["requestpayload"],
        json!({"user": "ann", "password": "[REDACTED]", "client_secret": "[REDACTED]", "item": "a book", "__raw": "forged"})
    );
    // The echo goes out as application/octet-stream: not a form, not JSON.
    assert_eq!(
        seen.data["responsepayload"],
        json!({"_omitted": {
            "reason": "unparseable", "length": form.len(),
            "contenttype": "application/octet-stream", "sha256": sha256(form.as_bytes())
        }})
    );
    assert_eq!(seen.data["metadata"]["issensitive"], true);
    assert_absent(&seen, &["hunter2", "s3cr3t"]);
}

#[tokio::test]
async fn multipart_bodies_are_described_never_stored() {
    let body =
        "--x\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nhunter2\r\n--x--\r\n";
    let seen = over_http(
        |l| l.capture_raw_text(true),
        "multipart/form-data; boundary=x",
        "/echo",
        body,
    )
    .await;
    assert_eq!(
        seen.data["requestpayload"],
        json!({"_omitted": {
            "reason": "multipart", "length": body.len(),
            "contenttype": "multipart/form-data", "sha256": sha256(body.as_bytes())
        }})
    );
    assert_absent(&seen, &["hunter2"]);
}

#[tokio::test]
async fn unparseable_bodies_are_described_not_stored_by_default() {
    let body = "password: hunter2 (not JSON)";
    let seen = over_http(|l| l, "text/plain; charset=utf-8", "/echo", body).await;
    assert_eq!(
        seen.data["requestpayload"],
        json!({"_omitted": {
            "reason": "unparseable", "length": body.len(),
            "contenttype": "text/plain", "sha256": sha256(body.as_bytes())
        }})
    );
    assert_absent(&seen, &["hunter2"]);
}

#[tokio::test]
async fn truncated_bodies_are_described_with_the_digest_of_the_whole_body() {
    // A card number in the stored prefix would have been sealed in clear.
    let body = format!(
        r#"{{"note":"4111 1111 1111 1111","pad":"{}"}}"#,
        "x".repeat(200)
    );
    let seen = over_http(
        |l| l.capture_limit(64),
        "application/json",
        "/echo",
        body.clone(),
    )
    .await;
    assert_eq!(
        &seen.body[..],
        body.as_bytes(),
        "the body streams through whole"
    );
    let described = json!({
        "_omitted": {
            "reason": "truncated", "length": body.len(),
            "contenttype": "application/json", "sha256": sha256(body.as_bytes())
        },
        "_truncated": true
    });
    assert_eq!(seen.data["requestpayload"], described);
    assert_absent(&seen, &["4111 1111"]);
}

#[tokio::test]
async fn raw_text_is_an_opt_in_judged_after_decoding_escapes() {
    let raw = |l: AuditLayer| l.capture_raw_text(true);
    let seen = over_http(raw, "text/plain", "/echo", "just words").await;
    assert_eq!(seen.data["requestpayload"], json!({"_raw": "just words"}));
    assert_eq!(seen.data.get("metadata"), None);

    for body in [
        "user=ann&pass%77ord=hunter2",
        r#"{"user":"ann","pass\u0077ord":"hunter2""#,
        "note 4111-1111-1111-1111",
    ] {
        let seen = over_http(raw, "text/plain", "/echo", body).await;
        assert_eq!(
            seen.data["requestpayload"],
            json!({"_raw": "[REDACTED]"}),
            "{body}"
        );
        assert_eq!(seen.data["metadata"]["issensitive"], true, "{body}");
        assert_absent(&seen, &["hunter2", "4111"]);
    }

    let long = format!(r#"{{"item":"{}"}}"#, "y".repeat(100));
    let seen = over_http(
        |l| raw(l).capture_limit(16),
        "application/json",
        "/echo",
        long,
    )
    .await;
    assert_eq!(
        seen.data["requestpayload"],
        json!({"_raw": r#"{"item":"yyyyyyy"#, "_truncated": true})
    );
}

#[tokio::test]
async fn clients_cannot_forge_the_middlewares_markers() {
    let body = json!({
        "_raw": "forged", "_truncated": true, "_value": 1,
        "_omitted": {"reason": "forged"}, "_incomplete": "handler panicked",
        "_writeahead": "forged", "__raw": "x", "item": {"_raw": "nested"}
    });
    let seen = over_http(|l| l, "application/json", "/orders", body.to_string()).await;
    let expected = json!({
        "__raw": "forged", "__truncated": true, "__value": 1,
        "__omitted": {"reason": "forged"}, "__incomplete": "handler panicked",
        "__writeahead": "forged", "___raw": "x", "item": {"_raw": "nested"}
    });
    assert_eq!(seen.data["requestpayload"], expected);
    assert_eq!(seen.data["responsepayload"], expected);
    for payload in ["requestpayload", "responsepayload"] {
        let markers: Vec<&String> = seen.data[payload]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with('_') && !k.starts_with("__"))
            .collect();
        assert!(markers.is_empty(), "{payload}: {markers:?}");
    }
}

#[tokio::test]
async fn a_capture_only_route_keeps_only_the_named_fields() {
    let body = json!({
        "amount": 5, "currency": "EUR", "note": "private",
        "payee": {"id": "p-1", "iban": "DE89370400440532013000"},
        "items": [{"sku": "a", "price": 1}, {"sku": "b", "price": 2}]
    });
    let seen = over_http(|l| l, "application/json", "/payments", body.to_string()).await;
    assert_eq!(serde_json::from_slice::<Value>(&seen.body).unwrap(), body);
    let kept = json!({"amount": 5, "payee": {"id": "p-1"}, "items": [{"sku": "a"}, {"sku": "b"}]});
    assert_eq!(seen.data["requestpayload"], kept);
    assert_eq!(seen.data["responsepayload"], kept);
    assert_absent(&seen, &["private", "DE89"]);

    // Raw text is never stored on such a route.
    let raw = |l: AuditLayer| l.capture_raw_text(true);
    let seen = over_http(raw, "application/json", "/payments", "[1,").await;
    assert_eq!(
        seen.data["requestpayload"]["_omitted"]["reason"],
        "unparseable"
    );
}

#[tokio::test]
async fn users_extend_the_deny_and_allow_lists() {
    let setup = |l: AuditLayer| l.redact_key("order-note").redact_allow_key("session_count");
    let body = json!({"orderNote": "n", "sessionCount": 3, "sessionToken": "t-1", "item": "book"});
    let seen = over_http(setup, "application/json", "/orders", body.to_string()).await;
    assert_eq!(
        seen.data["requestpayload"],
        json!({"orderNote": "[REDACTED]", "sessionCount": 3, "sessionToken": "[REDACTED]", "item": "book"})
    );
}

#[tokio::test]
async fn json_sent_with_the_form_content_type_is_read_as_json() {
    // `curl -d '{...}'` labels JSON as a form: read as a form, the whole
    // JSON text (password included) would become a key.
    for body in [
        r#"{"user":"ann","password":"hunter2n"}"#,
        r#"{"next":"/a?b=c","password":"hunter2v"}"#,
    ] {
        let seen = over_http(|l| l, "application/x-www-form-urlencoded", "/echo", body).await;
        assert_eq!(seen.data["requestpayload"]["password"], "[REDACTED]");
        assert_absent(&seen, &["hunter2"]);
    }
    // Text that splits like a form but whose keys are no field names is
    // described, not stored.
    let body = "note: a=b, password is \"hunter2x\"";
    let seen = over_http(|l| l, "application/x-www-form-urlencoded", "/echo", body).await;
    assert_eq!(
        seen.data["requestpayload"]["_omitted"]["reason"],
        "unparseable"
    );
    assert_absent(&seen, &["hunter2"]);
}

#[tokio::test]
async fn run_together_names_and_credentials_in_values_are_redacted() {
    let body = json!({
        "pincode": "4321", "userpass": "hunter2a", "newpwd": "hunter2b", "totp": "654321",
        "mfa_code": "123456", "code_verifier": "hunter2c", "pw": "hunter2d",
        "upstream": "postgres://app:hunter2e@db.internal/orders",
        "header": "Basic dXNlcjpodW50ZXIy",
        "shipping": "express", "zipcode": "10115"
    });
    let seen = over_http(|l| l, "application/json", "/echo", body.to_string()).await;
    let request = &seen.data["requestpayload"];
    for key in [
        "pincode",
        "userpass",
        "newpwd",
        "totp",
        "mfa_code",
        "code_verifier",
        "pw",
        "upstream",
        "header",
    ] {
        assert_eq!(request[key], "[REDACTED]", "{key}: {request}");
    }
    assert_eq!(request["shipping"], "express");
    assert_eq!(request["zipcode"], "10115");
    assert_absent(
        &seen,
        &["hunter2", "4321", "654321", "123456", "dXNlcjpodW50ZXIy"],
    );
}
