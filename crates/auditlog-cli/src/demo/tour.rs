//! The scripted tour: a dozen requests of all kinds, then the events read
//! back from Kafka.

use std::net::SocketAddr;
use std::path::Path;

use axum::body::Bytes;
use axum::http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::report::{event_line, pretty, short};
use super::Collected;

struct Step {
    method: Method,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
    note: &'static str,
}

// Callers authenticate with a bearer token (see `app::CALLERS`); the app's
// authentication, not these requests' headers, says who they are.
const ALICE: &[(&str, &str)] = &[("Authorization", "Bearer alice-token")];
const BOB: &[(&str, &str)] = &[
    ("Authorization", "Bearer bob-token"),
    ("X-Transaction-Id", "checkout-7f3a"),
];

fn steps() -> Vec<Step> {
    let step = |method, path, headers, body, note| Step {
        method,
        path,
        headers,
        body,
        note,
    };
    vec![
        step(
            Method::GET,
            "/health",
            &[],
            "",
            "skipped by default: not audited",
        ),
        step(Method::GET, "/orders/1", ALICE, "", ""),
        step(
            Method::POST,
            "/orders",
            BOB,
            r#"{"item":"coffee beans","quantity":2,"payment":{"card":"4111-1111-1111-1111","token":"tok_visa_42"}}"#,
            "",
        ),
        step(Method::GET, "/orders/2", BOB, "", ""),
        step(Method::GET, "/orders/99", BOB, "", ""),
        step(
            Method::POST,
            "/orders",
            BOB,
            "two espressos, please",
            "not JSON: described, not stored",
        ),
        step(Method::DELETE, "/orders/2", BOB, "", ""),
        step(Method::GET, "/orders/2", BOB, "", "deleted"),
        step(Method::GET, "/boom", ALICE, "", "the handler panics"),
        step(Method::GET, "/stream", ALICE, "", "chunked"),
        step(
            Method::GET,
            "/orders/1",
            &[
                ("Authorization", "Bearer carol-token"),
                ("tenantId", "acme"),
                ("X-Forwarded-For", "203.0.113.7"),
            ],
            "",
            "via a trusted proxy; its tenantId header is ignored",
        ),
        step(
            Method::DELETE,
            "/orders/1",
            &[
                ("Authorization", "Bearer billing-token"),
                (
                    "traceparent",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                ),
            ],
            "",
            "",
        ),
    ]
}

/// Sends the tour's requests one by one, printing each.
pub(crate) async fn run(addr: SocketAddr) -> Result<usize, String> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    println!();
    println!("Requests:");
    let mut sent = 0;
    for step in steps() {
        let mut request = Request::builder()
            .method(step.method.clone())
            .uri(format!("http://{addr}{}", step.path))
            .header("user-agent", "auditlog-demo-tour/1.0");
        for (name, value) in step.headers {
            request = request.header(*name, *value);
        }
        if !step.body.is_empty() && step.body.starts_with('{') {
            request = request.header("content-type", "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from_static(step.body.as_bytes())))
            .map_err(|e| e.to_string())?;
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("{} {}: {e}", step.method, step.path))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{} {}: {e}", step.method, step.path))?
            .to_bytes();
        let body = String::from_utf8_lossy(&body).into_owned();
        let note = if step.note.is_empty() {
            String::new()
        } else {
            format!("  ({})", step.note)
        };
        println!(
            "  {:<6} {:<10} -> {status}  {}{note}",
            step.method.as_str(),
            step.path,
            short(&body, 56),
        );
        sent += 1;
    }
    Ok(sent)
}

/// Prints the events read back, and one of them in full.
pub(crate) fn report(sent: usize, collected: &Collected) {
    println!();
    println!(
        "Events read back from Kafka ({} requests, {} events), each verified:",
        sent,
        collected.events.len()
    );
    for consumed in &collected.events {
        println!("{}", event_line(consumed));
    }
    // The order created by POST /orders, in full.
    let created = collected.events.iter().find(|c| {
        c.verified.as_ref().is_ok_and(|v| {
            let action = v.event.action.as_ref();
            action.and_then(|a| a.method.as_deref()) == Some("POST")
                && action.and_then(|a| a.status.as_deref()) == Some("SUCCESS")
        })
    });
    if let Some(created) = created {
        println!();
        println!("The event of POST /orders, as published:");
        println!("{}", pretty(&created.line));
    }
}

/// With `--db`: how to look at the table the tour wrote.
pub(crate) fn look_at_the_table(path: &Path) {
    let url = format!("sqlite://{}", path.display());
    println!();
    println!(
        "The orders and their audit events are in {}:",
        path.display()
    );
    println!("  auditlog query --db {url} --action orders.create");
    println!("  auditlog query --db {url}");
    println!("  auditlog verify --chain --db {url}");
}
