//! The app under test, sinks, and helpers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use auditlog_axum::{AuditContext, AuditLayer, IdentitySource};
use auditlog_core::AuditEvent;
use auditlog_seal::SigningKey;
pub(crate) use auditlog_sink::MemorySink;
use auditlog_sink::{AuditSink, SinkError};
use axum::body::{Body, Bytes};
use axum::extract::Path;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{self, delete, post};
use axum::{Json, Router};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;

pub(crate) const KEY: &str = "test-signing-key";

pub(crate) fn key() -> SigningKey {
    SigningKey::new(KEY).unwrap()
}

/// The sink most tests publish to: the workspace's in-memory sink, sealing
/// each event with [`key`] as a real sink does.
pub(crate) fn memory() -> MemorySink {
    MemorySink::new(Some(key()))
}

/// What tests read from a [`MemorySink`]: its events as they went out,
/// each checked in its published form.
pub(crate) trait Published {
    /// Every event so far, each parsed back from its published JSON and
    /// verified against its hash and signature.
    fn verified(&self) -> Vec<AuditEvent>;

    /// The published JSON of every event so far.
    fn published(&self) -> Vec<String>;

    /// Waits (up to a minute) until `count` events arrived, then
    /// [`verified`](Self::verified); for events that are emitted when the
    /// server notices a client went away.
    async fn wait_for(&self, count: usize) -> Vec<AuditEvent>;
}

impl Published for MemorySink {
    fn verified(&self) -> Vec<AuditEvent> {
        self.published()
            .iter()
            .map(|json| {
                auditlog_seal::verify_json(json, Some(&key()))
                    .unwrap_or_else(|e| panic!("{e}: {json}"))
                    .event
            })
            .collect()
    }

    fn published(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(AuditEvent::published_json)
            .collect()
    }

    async fn wait_for(&self, count: usize) -> Vec<AuditEvent> {
        for _ in 0..600 {
            if self.len() >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.verified()
    }
}

/// Refuses everything.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Failing;

#[async_trait]
impl AuditSink for Failing {
    async fn publish(&self, _event: AuditEvent) -> Result<(), SinkError> {
        Err(SinkError::io("broker unreachable"))
    }

    async fn flush(&self, _timeout: Duration) -> Result<(), SinkError> {
        Err(SinkError::io("broker unreachable"))
    }
}

/// Never returns from `publish`: a sink stuck on a dead broker.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stuck;

#[async_trait]
impl AuditSink for Stuck {
    async fn publish(&self, _event: AuditEvent) -> Result<(), SinkError> {
        std::future::pending().await
    }

    async fn flush(&self, _timeout: Duration) -> Result<(), SinkError> {
        std::future::pending().await
    }
}

/// What [`Ledger::publish_durable`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durable {
    /// Records the event at once.
    Records,
    /// Waits for [`Ledger::release`], then records it.
    Gated,
    /// Never returns: a disk or broker that stopped answering.
    Hangs,
}

/// Keeps each event's transaction id by the way it came in: durably or
/// by plain `publish`.
#[derive(Debug, Clone)]
pub(crate) struct Ledger {
    inner: Arc<LedgerInner>,
}

#[derive(Debug)]
struct LedgerInner {
    durable: Mutex<Vec<String>>,
    plain: Mutex<Vec<String>>,
    mode: Durable,
    entered: tokio::sync::Semaphore,
    gate: tokio::sync::Semaphore,
}

impl Ledger {
    pub(crate) fn new(mode: Durable) -> Self {
        Ledger {
            inner: Arc::new(LedgerInner {
                durable: Mutex::default(),
                plain: Mutex::default(),
                mode,
                entered: tokio::sync::Semaphore::new(0),
                gate: tokio::sync::Semaphore::new(0),
            }),
        }
    }

    /// Transaction ids of the events recorded durably, in order.
    pub(crate) fn durable(&self) -> Vec<String> {
        self.inner.durable.lock().unwrap().clone()
    }

    /// Transaction ids of the events published plainly, in order.
    pub(crate) fn plain(&self) -> Vec<String> {
        self.inner.plain.lock().unwrap().clone()
    }

    /// Waits (up to a minute, then fails) until a durable publish started.
    pub(crate) async fn entered(&self) {
        let entered = self.inner.entered.acquire();
        let permit = tokio::time::timeout(Duration::from_secs(60), entered).await;
        permit
            .expect("no durable publish started")
            .unwrap()
            .forget();
    }

    /// Lets one gated durable publish finish.
    pub(crate) fn release(&self) {
        self.inner.gate.add_permits(1);
    }
}

fn transaction(event: &AuditEvent) -> String {
    event.transactionid.clone().unwrap_or_default()
}

#[async_trait]
impl AuditSink for Ledger {
    async fn publish(&self, event: AuditEvent) -> Result<(), SinkError> {
        self.inner.plain.lock().unwrap().push(transaction(&event));
        Ok(())
    }

    async fn flush(&self, _timeout: Duration) -> Result<(), SinkError> {
        Ok(())
    }

    async fn publish_durable(&self, event: AuditEvent) -> Result<(), SinkError> {
        self.inner.entered.add_permits(1);
        match self.inner.mode {
            Durable::Records => {}
            Durable::Gated => self.inner.gate.acquire().await.unwrap().forget(),
            Durable::Hangs => std::future::pending().await,
        }
        self.inner.durable.lock().unwrap().push(transaction(&event));
        Ok(())
    }
}

/// The layer most tests use. They tag requests with identity headers (a
/// transaction id per request) from a test client, so it believes them from
/// any peer; `identity.rs` tests the secure default.
pub(crate) fn layer(sink: impl AuditSink) -> AuditLayer {
    AuditLayer::new(sink)
        .identity_source(IdentitySource::UnverifiedHeadersFromAnyPeer)
        .kubernetes(auditlog_core::Kubernetes {
            namespacename: Some("shop".into()),
            podname: Some("orders-7d9f".into()),
            ..Default::default()
        })
}

async fn get_order(Path(id): Path<String>) -> Response {
    if id == "missing" {
        return (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": "no such order"})),
        )
            .into_response();
    }
    Json(serde_json::json!({"id": id, "item": "book", "token": "t0p"})).into_response()
}

async fn create_order(Json(order): Json<serde_json::Value>) -> impl IntoResponse {
    (StatusCode::CREATED, Json(order))
}

async fn delete_order(audit: AuditContext, Path(id): Path<String>) -> StatusCode {
    audit.set_resource_id(&id);
    audit.set_action_name("orders.delete");
    audit.set_user_id("alice");
    audit.request_detail("reason", "duplicate");
    audit.response_detail("password", "never logged");
    audit.set_compliance_category("SOX");
    StatusCode::NO_CONTENT
}

async fn status(Path(code): Path<u16>) -> StatusCode {
    StatusCode::from_u16(code).unwrap()
}

async fn echo(body: Bytes) -> Bytes {
    body
}

/// Streams the request body back as it arrives, chunk by chunk.
async fn echo_stream(request: Request<Body>) -> Response {
    Body::from_stream(request.into_body().into_data_stream()).into_response()
}

async fn stream() -> Response {
    let chunks = (0..20).map(|i| Ok::<_, Infallible>(Bytes::from(format!("chunk {i}\n"))));
    Body::from_stream(futures_util::stream::iter(chunks)).into_response()
}

/// Chunks forever, one every 10 ms: only a client hanging up ends it.
async fn forever() -> Response {
    let ticks = tokio::time::interval(Duration::from_millis(10));
    let stream = futures_util::stream::unfold(ticks, |mut ticks| async move {
        ticks.tick().await;
        Some((Ok::<_, Infallible>(Bytes::from_static(b"tick\n")), ticks))
    });
    Body::from_stream(stream).into_response()
}

async fn slow() -> &'static str {
    std::future::pending::<()>().await;
    "never"
}

async fn quiet(audit: AuditContext) -> &'static str {
    audit.suppress();
    "not audited"
}

async fn whoami(headers: HeaderMap) -> String {
    format!("{:?}", headers.get("tenantId"))
}

async fn boom() -> &'static str {
    panic!("the handler fails")
}

/// The app every test uses, without the audit layer.
pub(crate) fn routes() -> Router {
    Router::new()
        .route("/orders", post(create_order))
        .route("/orders/{id}", routing::get(get_order))
        .route("/orders/{id}", delete(delete_order))
        .route("/status/{code}", routing::get(status))
        .route("/echo", post(echo))
        .route("/echo-stream", post(echo_stream))
        .route("/stream", routing::get(stream))
        .route("/forever", routing::get(forever))
        .route("/slow", routing::get(slow))
        .route("/quiet", routing::get(quiet))
        .route("/health", routing::get(|| async { "ok" }))
        .route("/health/live", routing::get(|| async { "ok" }))
        .route("/healthcare", routing::get(|| async { "care" }))
        .route("/actuator/info", routing::get(|| async { "{}" }))
        .route("/whoami", routing::get(whoami))
        .route("/boom", routing::get(boom))
        .layer(CatchPanicLayer::new())
}

/// The app with `layer` applied.
pub(crate) fn app(layer: AuditLayer) -> Router {
    routes().layer(layer)
}

/// Sends one request through `app` with `oneshot` and reads the whole body.
pub(crate) async fn oneshot(app: &Router, request: Request<Body>) -> (StatusCode, Bytes) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body)
}

pub(crate) fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

/// `method uri` with `X-Transaction-Id: tx`, no body.
pub(crate) fn request_tx(method: &str, uri: &str, tx: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("X-Transaction-Id", tx)
        .body(Body::empty())
        .unwrap()
}

pub(crate) fn post_json(uri: &str, json: &str) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(json.to_owned()))
        .unwrap()
}

/// Serves `app` on 127.0.0.1, port 0, with the peer address available.
pub(crate) async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

pub(crate) type Client =
    hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Body>;

pub(crate) fn client() -> Client {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_max_idle_per_host(64)
        .build_http()
}

/// Sends `request` over TCP and reads the whole response.
pub(crate) async fn send(
    client: &Client,
    request: Request<Body>,
) -> (StatusCode, HeaderMap, Bytes) {
    let response = client.request(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body)
}

pub(crate) fn json(event: &AuditEvent) -> serde_json::Value {
    serde_json::from_str(&event.published_json()).unwrap()
}
