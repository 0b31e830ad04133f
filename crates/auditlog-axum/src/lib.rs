//! Tower/axum middleware that emits one audit event per HTTP request — who
//! did what, to which resource, from where, with what result — without ever
//! slowing down or breaking the request.
//!
//! Depend on this crate to audit an axum 0.8 `Router` or any tower HTTP
//! service. It publishes through the [`AuditSink`](auditlog_sink::AuditSink)
//! trait, so it links no Kafka client: pair it with `auditlog-kafka`'s
//! publisher, or a JSON-lines or in-memory sink from `auditlog-sink`.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//!
//! use auditlog_axum::{AuditContext, AuditIdentity, AuditLayer};
//! use auditlog_sink::MemorySink;
//! use axum::extract::Request;
//! use axum::middleware::{self, Next};
//! use axum::response::{IntoResponse, Response};
//! use axum::{body::Body, http::StatusCode, routing::delete, Router};
//! use tower::ServiceExt;
//! use tower_http::catch_panic::CatchPanicLayer;
//!
//! async fn delete_order(audit: AuditContext) -> &'static str {
//!     audit.set_resource_id("42");
//!     "deleted"
//! }
//!
//! // Your authentication layer says who the caller is; the audit layer
//! // believes it, not the caller's headers.
//! async fn authenticate(mut request: Request, next: Next) -> Response {
//!     let token = request.headers().get("authorization");
//!     if token.is_none_or(|t| t != "Bearer alice-token") {
//!         return StatusCode::UNAUTHORIZED.into_response(); // audited too
//!     }
//!     AuditIdentity::new()
//!         .tenant_id("acme")
//!         .user_id("alice")
//!         .attach_to(request.extensions_mut());
//!     next.run(request).await
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let sink = MemorySink::default(); // any AuditSink: Kafka, JSON lines, ...
//! let audit = AuditLayer::new(sink.clone())
//!     .compliance_category("SOX")
//!     .capture_payloads(true);
//! let app = Router::new()
//!     .route("/orders/{id}", delete(delete_order))
//!     .layer(middleware::from_fn(authenticate)) // inside the audit layer
//!     .layer(CatchPanicLayer::new()) // inside the audit layer: panics become 500s
//!     .layer(audit.clone());
//!
//! let request = Request::delete("/orders/42")
//!     .header("authorization", "Bearer alice-token")
//!     .header("tenantId", "globex") // a client's claim: ignored
//!     .body(Body::empty())
//!     .unwrap();
//! let response = app.oneshot(request).await.unwrap();
//! axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
//!
//! // Events are published in the background; flush waits for them.
//! audit.flush(Duration::from_secs(5)).await.unwrap();
//! let event = sink.take().pop().unwrap();
//! let action = event.action.as_ref().unwrap();
//! assert_eq!(action.name.as_deref(), Some("/orders/{id}"));
//! assert_eq!(action.method.as_deref(), Some("DELETE"));
//! assert_eq!(action.status.as_deref(), Some("SUCCESS"));
//! assert_eq!(event.tenantid.as_deref(), Some("acme"));
//! assert_eq!(event.subject.unwrap().userid.as_deref(), Some("alice"));
//! let objectref = event.objectref.as_ref().unwrap();
//! assert_eq!(objectref.resource.as_deref(), Some("orders"));
//! assert_eq!(objectref.resourceid.as_deref(), Some("42"));
//! # }
//! ```
//!
//! # What an event holds
//!
//! - `id` (a UUID v4), `specversion` and `timestamp`: when the request
//!   arrived.
//! - `action`: `name` (the route template, e.g. `/orders/{id}`, or the raw
//!   path, see [`ActionName`]), `method`, `severity` (`ERROR` for 5xx,
//!   `WARNING` for 4xx, else `INFO`) and `status` (`SUCCESS` below 400,
//!   else `FAILURE`).
//! - `network`: `sourceip` (the peer, or what trusted proxies put in
//!   `X-Forwarded-For`) and `useragent`.
//! - `objectref.resource`: the first path segment.
//! - `tenantid`, `traceid`, `transactionid` and `subject` from the
//!   [identity](#identity) the service vouches for (or, if you say so,
//!   identity headers); `kubernetes` from the environment, read once per
//!   layer.
//! - `eventdata.requestpayload._identity` ([`IDENTITY_KEY`]) when identity
//!   headers were present and not believed (`{"ignored": [names]}`), or
//!   repeated with different values (`{"conflict": {name: [values]}}`).
//! - With capture on, `eventdata.requestpayload` / `responsepayload`: the
//!   body [redacted](#redaction) before sealing — a JSON object or an
//!   `application/x-www-form-urlencoded` form as its fields, other JSON as
//!   `{"_value": ...}`; a multipart, unparseable or truncated body only
//!   described ([`OMITTED_KEY`]); see [Payloads](#payloads).
//! - An exchange that did not end normally carries
//!   `responsepayload._incomplete` ([`INCOMPLETE_KEY`]) saying how it ended:
//!   `client disconnected during the response body` (status from the
//!   response), `client disconnected before the response` (`WARNING`,
//!   `FAILURE`, like nginx's 499), `handler panicked` (no
//!   `CatchPanicLayer`), `service error` or `response body error` (`ERROR`,
//!   `FAILURE`). No field outside the v1 wire schema is added.
//! - A [write-ahead](#write-ahead-auditing) event recorded with capture on
//!   carries `responsepayload._writeahead` ([`WRITE_AHEAD_KEY`]) instead of
//!   the response body, which was not sent yet.
//!
//! Handlers refine or suppress their event through [`AuditContext`].
//!
//! # Payloads
//!
//! A sealed event cannot be scrubbed afterwards without breaking its hash,
//! its chain and the checkpoints over it, so what capture keeps is clean
//! before it is sealed. Each captured body (up to the cap) becomes:
//!
//! | body | payload |
//! |---|---|
//! | a JSON object | its members, [redacted](#redaction) |
//! | `application/x-www-form-urlencoded` | its fields (keys and values percent-decoded; a repeated key as an array), redacted |
//! | other JSON | `{"_value": ...}`, redacted |
//! | `multipart/*` | never stored: `{"_omitted": {"reason": "multipart", ...}}` |
//! | anything else, or cut at the cap | `{"_omitted": {"reason": "unparseable" or "truncated", "length", "contenttype", "sha256"}}` (and `"_truncated": true`) |
//!
//! `_omitted` gives the body's length in bytes, its media type and the
//! SHA-256 of all of it (a body past the cap is hashed as it streams).
//! [`AuditLayer::capture_raw_text`] stores such bodies as `{"_raw": "..."}`
//! text instead (lossy UTF-8, the prefix when truncated), withheld whole as
//! `"[REDACTED]"` if, once its percent and JSON escapes are decoded, it
//! names a redacted key or holds a secret-looking value. A route with
//! [`CaptureOnly`] keeps only the fields it names.
//!
//! **Markers cannot be forged.** The middleware's markers (`_value`, `_raw`,
//! `_truncated`, `_omitted`, `_incomplete`, `_writeahead`) are top-level
//! payload keys that start with exactly one `_`. A top-level key of a body
//! that starts with `_` is stored with one more `_` in front (`_raw` →
//! `__raw`), so no client can make its data look like a marker; strip one
//! `_` from a key starting with `__` to read it back. Keys the handler adds
//! ([`AuditContext::request_detail`]) are the service's own and kept as
//! given.
//!
//! # Redaction
//!
//! - **By name.** A key is normalized — lower-case, without `-`, `_`, `.`
//!   and spaces — and its value (object and array included) replaced by
//!   [`REDACTED`] when the normalized name *contains* an entry of the deny
//!   list ([`DEFAULT_REDACT_KEYS`]: passwords and passphrases, secrets,
//!   tokens, API and private keys, authorization, cookies and sessions,
//!   credentials, payment card data, national identifiers): `access_token`,
//!   `client_secret`, `newPassword`, `card_number`, `X-Api-Key`. Entries of
//!   four characters or fewer match whole words only (`pin` matches `pin`,
//!   `userPin`, `pin_code`, not `shipping`; words split at separators,
//!   camelCase humps and between letters and digits). A key is also read
//!   together with its parent's (`{"card": {"number": ...}}`). The allow
//!   list ([`DEFAULT_REDACT_ALLOW_KEYS`], e.g. `tokenType`,
//!   `passwordPolicy`) names keys, compared normalized and exactly, that are
//!   never redacted by name. Extend or replace both on the layer
//!   ([`redact_key`](AuditLayer::redact_key),
//!   [`redact_keys`](AuditLayer::redact_keys),
//!   [`redact_allow_key`](AuditLayer::redact_allow_key),
//!   [`redact_allow_keys`](AuditLayer::redact_allow_keys)).
//! - **By value**, whatever the key, in strings and integers: payment card
//!   numbers (13–19 digits, Luhn-valid, first digits of a card network —
//!   2221–2720, 3, 4, 5, 6 — also grouped with spaces or dashes, also
//!   inside longer text), `Bearer` tokens, JWTs and PEM private keys. The
//!   whole string is replaced.
//! - Handler details ([`AuditContext::request_detail`]) are redacted the
//!   same way; the middleware's markers are not.
//! - When anything was redacted, `eventdata.metadata.issensitive` is
//!   `true`, whatever [`AuditLayer::sensitive`] or the handler said.
//! - Query strings and headers are never captured.
//!
//! # Identity
//!
//! `tenantid` keys the event's Kafka message and `subject` says who acted,
//! so a client must not be able to choose them. By default
//! ([`IdentitySource::Extension`]) the middleware takes identity only from
//! the [`AuditIdentity`] the service's authentication layer attaches to
//! the request ([`AuditIdentity::attach_to`], as in the example above):
//! read when the request arrives if that layer runs outside the audit
//! layer, or handed to the request's [`AuditContext`] if it runs inside
//! (then the requests it rejects are audited too, without an identity).
//! Identity headers (`tenantId`, `actionLogUserId`, `RequesterType`,
//! `x-b3-traceid`/`traceparent`, `X-Transaction-Id`; see
//! [`AuditLayer::identity_headers`]) are ignored: the event notes their
//! names under [`IDENTITY_KEY`] and [`AuditStats::identity_ignored`]
//! counts them.
//!
//! Behind a gateway that authenticates callers and sets those headers
//! (replacing any a client sent), [`IdentitySource::TrustedProxyHeaders`]
//! believes them from the [trusted proxies](AuditLayer::trusted_proxies)
//! only: the TCP peer must be one (serve with `ConnectInfo`). A header
//! repeated with different values is never resolved, whatever the source:
//! its field stays empty, the event records the values under
//! [`IDENTITY_KEY`], [`AuditStats::identity_conflicts`] counts it, and the
//! request goes on as usual. [`IdentitySource::UnverifiedHeadersFromAnyPeer`]
//! is the Python library's behaviour — any client names any tenant — for
//! services no client reaches except through a gateway that strips these
//! headers.
//!
//! Handler calls ([`AuditContext::set_identity`], `set_subject`,
//! `set_user_id`) win over all of these.
//!
//! # Never in the way
//!
//! The response is passed on as the inner service made it, bodies stream
//! through frame by frame (only up to the cap is copied), and
//! `Error = S::Error`. The finished event goes into a bounded queue with a
//! non-blocking send; a background task (spawned on the first request's
//! runtime) turns captures into payloads, runs the [`OnEvent`] hook and
//! calls `publish`. The queue is bounded in events
//! ([`AuditLayer::queue_capacity`]) and in bytes ([`AuditLayer::queue_bytes`],
//! captured bodies included). A full queue, a failing or panicking sink is
//! counted by reason in [`AuditStats`] and the [`metric`]s, and logged with
//! `tracing` (target `auditlog_axum`); the request never waits for it. Each audited request yields exactly one
//! event: when its response body ends, or when it is dropped.
//!
//! The one exception is write-ahead, which services turn on when their
//! auditors require it.
//!
//! # Write-ahead auditing
//!
//! For services where no action may happen unrecorded, the response can be
//! held back until its event is durably recorded
//! ([`AuditSink::publish_durable`](auditlog_sink::AuditSink::publish_durable):
//! fsynced to a JSON-lines file, or to the Kafka publisher's spool):
//!
//! ```
//! use std::time::Duration;
//!
//! use auditlog_axum::{AuditLayer, WriteAhead, WriteAheadFailure, WriteAheadLayer};
//! use auditlog_sink::JsonLinesSink;
//! use axum::{routing::{get, post}, Router};
//!
//! # fn app(sink: JsonLinesSink) -> Router {
//! let audit = AuditLayer::new(sink); // write-ahead off for every route ...
//! Router::new()
//!     // ... but this one: its response waits for its event.
//!     .route("/transfers", post(|| async { "moved" }).layer(WriteAheadLayer::required()))
//!     .route("/balance", get(|| async { "42" }))
//!     .layer(audit)
//! # }
//! // Or for every route, with its own timeout and failure policy; a route
//! // opts out with `.layer(WriteAheadLayer::off())`.
//! # fn all(sink: JsonLinesSink) -> AuditLayer {
//! AuditLayer::new(sink).write_ahead(
//!     WriteAhead::required()
//!         .timeout(Duration::from_secs(2))
//!         .on_failure(WriteAheadFailure::FailClosed),
//! )
//! # }
//! ```
//!
//! The most specific setting wins whole: a request's
//! ([`AuditContext::set_write_ahead`], called before the handler returns),
//! else its route's (a [`WriteAheadLayer`] on the route, inside the audit
//! layer), else the layer's ([`AuditLayer::write_ahead`]).
//!
//! - When the inner service returns the response head, the event is
//!   finished (the hook runs) and handed to `publish_durable` on a task of
//!   its own; the response goes to the client once that returned `Ok`.
//!   A client that goes away meanwhile does not cancel the record.
//! - The event describes the response head: status, severity and outcome
//!   come from it, and the request payload holds what the handler had read.
//!   The response body is not in it; with capture on,
//!   `responsepayload._writeahead` says so. A client that later hangs up
//!   mid-body is not recorded either.
//! - Exactly one event per request still: none when the body ends or is
//!   dropped. A suppressed event is not waited for; skipped paths, and
//!   errors from the inner service (audited the ordinary way), neither.
//! - If the record fails (the sink refuses — e.g.
//!   [`SinkError::NotDurable`](auditlog_sink::SinkError::NotDurable) from a
//!   sink that cannot be durable, or a full spool —, fails, or takes longer
//!   than the timeout, 5 s by default), the failure is counted in
//!   [`AuditStats::write_ahead_failed`] and logged at error level, and
//!   [`WriteAheadFailure`] decides the response: `FailClosed` (the default)
//!   replaces it with an empty `503 Service Unavailable` — the action
//!   happened, but it is not confirmed to the client —, `FailOpen` sends it
//!   anyway.
//! - A failed event is then queued like any other (same id, same content),
//!   so that it is recorded if the sink takes it at all. After a timeout or
//!   an I/O error the sink may have recorded it already: a duplicate id,
//!   never a loss.
//! - Each write-ahead response waits for one durable publish: an fsync or a
//!   broker round trip. Successes are counted in
//!   [`AuditStats::write_ahead`], not in `queued`/`published`;
//!   [`AuditLayer::flush`] also waits for records still under way.
//!
//! Apply the layer with `Router::layer`, outside tower-http's
//! `CatchPanicLayer`, so that the route template is known and panics are
//! audited as 500 `ERROR`.
//!
//! # Feature flags
//!
//! | flag | default | what it adds |
//! |---|---|---|
//! | `axum` | yes | `action.name` from axum's `MatchedPath`, the peer address from `ConnectInfo<SocketAddr>`, [`AuditContext`] as an extractor |

mod body;
mod capture;
mod capture_only;
mod config;
mod context;
mod event_slot;
mod fields;
mod form;
mod future;
mod hook;
mod identity;
mod inline_text;
mod layer;
mod network;
mod payload;
mod pending;
mod queue;
mod record;
mod redact;
mod request_text;
mod service;
mod stats;
mod unwind;
mod write_ahead;

pub use body::{RequestBody, ResponseBody};
pub use capture_only::CaptureOnlyService;
pub use config::{ActionName, DEFAULT_CAPTURE_LIMIT, DEFAULT_SKIP_PATHS};
pub use context::AuditContext;
pub use fields::CaptureOnly;
pub use future::ResponseFuture;
pub use hook::OnEvent;
pub use identity::{AuditIdentity, IdentitySource, IDENTITY_KEY};
pub use layer::AuditLayer;
pub use network::{IpNetwork, ParseNetworkError};
pub use payload::{OMITTED_KEY, RAW_KEY, TRUNCATED_KEY, VALUE_KEY};
pub use queue::{metric, DEFAULT_QUEUE_BYTES, DEFAULT_QUEUE_CAPACITY};
pub use record::{INCOMPLETE_KEY, WRITE_AHEAD_KEY};
pub use redact::{DEFAULT_REDACT_ALLOW_KEYS, DEFAULT_REDACT_KEYS, REDACTED};
pub use service::Audit;
pub use stats::AuditStats;
pub use write_ahead::{
    WriteAhead, WriteAheadFailure, WriteAheadLayer, WriteAheadService, DEFAULT_WRITE_AHEAD_TIMEOUT,
};
