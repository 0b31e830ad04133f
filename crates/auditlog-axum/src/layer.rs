//! [`AuditLayer`]: what to audit and where the events go.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use auditlog_core::{IdentityHeaders, Kubernetes};
use auditlog_sink::{AuditSink, SinkError};
use tower_layer::Layer;

use crate::emit::Shared;
use crate::hook::OnEvent;
use crate::identity::IdentitySource;
use crate::network::IpNetwork;
use crate::redact::Redaction;
use crate::service::Audit;
use crate::write_ahead::WriteAhead;

/// Paths not audited by default, matched as leading whole path segments.
pub const DEFAULT_SKIP_PATHS: &[&str] = &[
    "actuator",
    "health",
    "metrics",
    "error",
    "prometheus",
    "swagger",
    "api-docs",
    "favicon",
];

/// The default cap on captured bytes per body: 64 KiB.
pub const DEFAULT_CAPTURE_LIMIT: usize = 64 * 1024;

/// The default number of finished events waiting for the sink before new
/// ones are dropped (and counted).
pub const DEFAULT_QUEUE_CAPACITY: usize = 8192;

/// The default bound on what the queue of finished events holds, in bytes
/// (approximate, captured bodies included): 64 MiB. Beyond it events are
/// dropped and counted ([`AuditStats::dropped_queue_bytes`]).
pub const DEFAULT_QUEUE_BYTES: usize = 64 * 1024 * 1024;

/// Where `action.name` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ActionName {
    /// The route template (axum's `MatchedPath`, e.g. `/orders/{id}`); the
    /// raw path where there is none (no route matched, or not axum).
    #[default]
    RouteTemplate,
    /// The raw request path (`/orders/42`), query excluded.
    RawPath,
}

/// The layer's settings, shared by every service it makes.
#[derive(Clone)]
pub(crate) struct Config {
    /// Each skip path as its segments.
    pub(crate) skip: Vec<Vec<String>>,
    /// The cap, when payload capture is on.
    pub(crate) capture_limit: usize,
    pub(crate) capture: bool,
    pub(crate) redaction: Redaction,
    /// Unparseable and truncated bodies stored as text (redacted).
    pub(crate) raw_text: bool,
    pub(crate) identity_headers: IdentityHeaders,
    pub(crate) identity_source: IdentitySource,
    pub(crate) trusted_proxies: Vec<IpNetwork>,
    pub(crate) action_name: ActionName,
    pub(crate) compliance_category: Option<String>,
    pub(crate) sensitive: bool,
    pub(crate) kubernetes: Option<Kubernetes>,
    pub(crate) hook: Arc<dyn OnEvent>,
    pub(crate) write_ahead: WriteAhead,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("skip", &self.skip)
            .field("capture", &self.capture)
            .field("capture_limit", &self.capture_limit)
            .field("redaction", &self.redaction)
            .field("raw_text", &self.raw_text)
            .field("identity_headers", &self.identity_headers)
            .field("identity_source", &self.identity_source)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("action_name", &self.action_name)
            .field("compliance_category", &self.compliance_category)
            .field("sensitive", &self.sensitive)
            .field("kubernetes", &self.kubernetes)
            .field("write_ahead", &self.write_ahead)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Whether `path` starts with the segments of a skip path.
    pub(crate) fn skips(&self, path: &str) -> bool {
        self.skip.iter().any(|skip| {
            let mut segments = path_segments(path);
            skip.iter().all(|s| segments.next() == Some(s.as_str()))
        })
    }
}

/// The non-empty segments of a path.
pub(crate) fn path_segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// Audits every request of the service it wraps: one event per request,
/// handed to an [`AuditSink`] by a background task.
///
/// Cloning is cheap; clones share the sink, the queue and the counters, so
/// [`flush`](Self::flush) and [`stats`](Self::stats) on any clone see
/// everything.
#[derive(Clone)]
pub struct AuditLayer {
    pub(crate) config: Arc<Config>,
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for AuditLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLayer")
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Counters of the layer's side channel; audit problems show up here and in
/// `tracing` warnings (target `auditlog_axum`), never in responses, except
/// with [write-ahead](crate#write-ahead-auditing).
///
/// `queued`, `published`, `failed` and `dropped` count the background
/// queue; a write-ahead event that was durably recorded is only in
/// `write_ahead`, one that failed is in `write_ahead_failed` and then queued
/// like any other. `dropped` and `failed` are also counted by reason
/// (`dropped_*`, `failed_*`, which add up to them), and exported with a
/// `reason` label through the `metrics` facade (see [`metric`](crate::metric)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditStats {
    /// Events accepted into the queue.
    pub queued: u64,
    /// Events the sink accepted.
    pub published: u64,
    /// Events the sink refused or that failed to finish.
    pub failed: u64,
    /// Events dropped because the queue was full (in events or in bytes)
    /// or no runtime ran the background task.
    pub dropped: u64,
    /// Requests whose handler suppressed the event.
    pub suppressed: u64,
    /// Requests on skipped paths.
    pub skipped: u64,
    /// Events durably recorded before their response was sent.
    pub write_ahead: u64,
    /// Events not durably recorded (refused, failed, timed out) before
    /// their response: a 503 went out instead, or the response anyway
    /// ([`WriteAheadFailure`](crate::WriteAheadFailure)).
    pub write_ahead_failed: u64,
    /// Of `dropped`: the queue held [`queue_capacity`](AuditLayer::queue_capacity) events.
    pub dropped_queue_full: u64,
    /// Of `dropped`: the event did not fit in what was left of
    /// [`queue_bytes`](AuditLayer::queue_bytes).
    pub dropped_queue_bytes: u64,
    /// Of `dropped`: no tokio runtime ran the background task.
    pub dropped_not_running: u64,
    /// Of `failed`: the sink returned an error.
    pub failed_sink_error: u64,
    /// Of `failed`: finishing the event (the [`OnEvent`] hook) or the
    /// sink's `publish` panicked.
    pub failed_panicked: u64,
    /// Approximate bytes held by the events in the queue now.
    pub queued_bytes: u64,
    /// The most bytes the queue held at once so far: never above
    /// [`queue_bytes`](AuditLayer::queue_bytes).
    pub peak_queued_bytes: u64,
    /// Requests whose identity headers were present and not used: the
    /// [`IdentitySource`] does not believe headers from their peer, or the
    /// service had attached an [`AuditIdentity`](crate::AuditIdentity)
    /// (noted under [`IDENTITY_KEY`](crate::IDENTITY_KEY) in the event).
    pub identity_ignored: u64,
    /// Requests with an identity header repeated with different values
    /// (left out of the event and noted under
    /// [`IDENTITY_KEY`](crate::IDENTITY_KEY)).
    pub identity_conflicts: u64,
}

impl AuditLayer {
    /// A layer publishing to `sink` with the defaults: the default skip paths,
    /// capture off (64 KiB cap when turned on), the default redaction keys
    /// and identity headers, identity from the service only
    /// ([`IdentitySource::Extension`]), no trusted proxies, route templates
    /// as action names, and the `kubernetes` section read from the
    /// environment now.
    pub fn new(sink: impl AuditSink) -> Self {
        let kubernetes = Kubernetes::from_env();
        AuditLayer {
            config: Arc::new(Config {
                skip: Vec::new(),
                capture_limit: DEFAULT_CAPTURE_LIMIT,
                capture: false,
                redaction: Redaction::default(),
                raw_text: false,
                identity_headers: IdentityHeaders::default(),
                identity_source: IdentitySource::default(),
                trusted_proxies: Vec::new(),
                action_name: ActionName::default(),
                compliance_category: None,
                sensitive: false,
                kubernetes: (!kubernetes.is_empty()).then_some(kubernetes),
                hook: Arc::new(()),
                write_ahead: WriteAhead::off(),
            }),
            shared: Arc::new(Shared::new(
                Arc::new(sink),
                DEFAULT_QUEUE_CAPACITY,
                DEFAULT_QUEUE_BYTES as u64,
            )),
        }
        .skip_paths(DEFAULT_SKIP_PATHS.iter().copied())
    }

    fn config(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// Replaces the skip paths. Each is matched against the leading whole
    /// segments of the request path: `health` skips `/health` and
    /// `/health/live` but not `/healthcare` nor `/orders/health` (an id that
    /// happens to be a skip word is still audited). `svc/health` skips
    /// `/svc/health`.
    pub fn skip_paths<I, P>(self, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: AsRef<str>,
    {
        let skip = paths
            .into_iter()
            .map(|p| path_segments(p.as_ref()).map(String::from).collect())
            .filter(|segments: &Vec<String>| !segments.is_empty())
            .collect();
        self.config(|c| c.skip = skip)
    }

    /// Adds a skip path.
    pub fn skip_path(self, path: impl AsRef<str>) -> Self {
        let segments: Vec<String> = path_segments(path.as_ref()).map(String::from).collect();
        self.config(|c| {
            if !segments.is_empty() {
                c.skip.push(segments)
            }
        })
    }

    /// Turns capture of request and response bodies into
    /// `eventdata.requestpayload` / `responsepayload` on or off (off by
    /// default). Bodies still stream through unchanged; only up to the
    /// [limit](Self::capture_limit) is copied.
    pub fn capture_payloads(self, on: bool) -> Self {
        self.config(|c| c.capture = on)
    }

    /// The most bytes copied per body (64 KiB by default); a longer body is
    /// recorded by its length, content type and SHA-256 with
    /// `"_truncated": true` (or as its text prefix with
    /// [raw text](Self::capture_raw_text) on).
    pub fn capture_limit(self, bytes: usize) -> Self {
        self.config(|c| c.capture_limit = bytes)
    }

    /// Stores bodies that are not JSON or a form, or that were truncated at
    /// the cap, as text under `_raw` (off by default: they are described by
    /// length, content type and SHA-256 only). The text is judged after
    /// decoding its percent and JSON escapes and withheld whole
    /// (`"[REDACTED]"`) if it names a redacted key or holds a
    /// secret-looking value: it cannot be redacted field by field. Never on
    /// a [`CaptureOnly`](crate::CaptureOnly) route.
    pub fn capture_raw_text(self, on: bool) -> Self {
        self.config(|c| c.raw_text = on)
    }

    /// Replaces the deny list of [redaction](crate#redaction)
    /// ([`DEFAULT_REDACT_KEYS`](crate::DEFAULT_REDACT_KEYS) by default): a key
    /// whose normalized name contains an entry is redacted (entries of four
    /// characters or fewer: as whole words).
    pub fn redact_keys<I, K>(self, keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: AsRef<str>,
    {
        self.config(|c| c.redaction.names.set_deny(keys))
    }

    /// Adds an entry to the deny list.
    pub fn redact_key(self, key: impl AsRef<str>) -> Self {
        self.config(|c| c.redaction.names.deny(key.as_ref()))
    }

    /// Replaces the allow list of [redaction](crate#redaction)
    /// ([`DEFAULT_REDACT_ALLOW_KEYS`](crate::DEFAULT_REDACT_ALLOW_KEYS) by
    /// default): keys, compared normalized and exactly, never redacted by
    /// name, for the deny list's false positives.
    pub fn redact_allow_keys<I, K>(self, keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: AsRef<str>,
    {
        self.config(|c| c.redaction.names.set_allow(keys))
    }

    /// Adds a key to the allow list.
    pub fn redact_allow_key(self, key: impl AsRef<str>) -> Self {
        self.config(|c| c.redaction.names.allow(key.as_ref()))
    }

    /// The header names identity (tenant, trace, transaction, user,
    /// requester type) is read from, when the
    /// [identity source](Self::identity_source) believes headers.
    pub fn identity_headers(self, headers: IdentityHeaders) -> Self {
        self.config(|c| c.identity_headers = headers)
    }

    /// Where `tenantid`, `subject`, `traceid` and `transactionid` come
    /// from: by default only from the [`AuditIdentity`](crate::AuditIdentity)
    /// the service's authentication attached; with
    /// [`IdentitySource::TrustedProxyHeaders`] also from identity headers of
    /// [trusted proxies](Self::trusted_proxies). See [`IdentitySource`].
    pub fn identity_source(self, source: IdentitySource) -> Self {
        self.config(|c| c.identity_source = source)
    }

    /// Replaces the proxies whose `X-Forwarded-For` is believed (and whose
    /// identity headers, with [`IdentitySource::TrustedProxyHeaders`]). The peer
    /// address comes from axum's `ConnectInfo<SocketAddr>` (serve with
    /// `into_make_service_with_connect_info::<SocketAddr>()`).
    pub fn trusted_proxies<I, N>(self, proxies: I) -> Self
    where
        I: IntoIterator<Item = N>,
        N: Into<IpNetwork>,
    {
        let proxies = proxies.into_iter().map(Into::into).collect();
        self.config(|c| c.trusted_proxies = proxies)
    }

    /// Adds a trusted proxy.
    pub fn trust_proxy(self, proxy: impl Into<IpNetwork>) -> Self {
        let proxy = proxy.into();
        self.config(|c| c.trusted_proxies.push(proxy))
    }

    /// Where `action.name` comes from.
    pub fn action_name(self, source: ActionName) -> Self {
        self.config(|c| c.action_name = source)
    }

    /// `eventdata.metadata.compliancecategory` of every event.
    pub fn compliance_category(self, category: impl Into<String>) -> Self {
        let category = category.into();
        self.config(|c| c.compliance_category = Some(category))
    }

    /// `eventdata.metadata.issensitive` of every event; an event from which
    /// anything was redacted is sensitive whatever this says.
    pub fn sensitive(self, sensitive: bool) -> Self {
        self.config(|c| c.sensitive = sensitive)
    }

    /// The `kubernetes` section, instead of the one read from the
    /// environment when the layer was made.
    pub fn kubernetes(self, kubernetes: Kubernetes) -> Self {
        let kubernetes = (!kubernetes.is_empty()).then_some(kubernetes);
        self.config(|c| c.kubernetes = kubernetes)
    }

    /// A hook that sees (and may change) each finished event.
    pub fn on_event(self, hook: impl OnEvent) -> Self {
        let hook: Arc<dyn OnEvent> = Arc::new(hook);
        self.config(|c| c.hook = hook)
    }

    /// Whether responses wait until their event is durably recorded (off by
    /// default); routes and handlers may say otherwise. See
    /// [Write-ahead auditing](crate#write-ahead-auditing).
    pub fn write_ahead(self, write_ahead: WriteAhead) -> Self {
        self.config(|c| c.write_ahead = write_ahead)
    }

    /// How many finished events may wait for the sink (8192 by default);
    /// beyond that they are dropped and counted, never waited for. Takes
    /// effect if set before the first request.
    pub fn queue_capacity(self, capacity: usize) -> Self {
        self.shared.set_capacity(capacity.max(1));
        self
    }

    /// How many bytes the finished events waiting for the sink may hold at
    /// once (64 MiB by default), counted roughly as their strings and
    /// captured bodies take in memory; an event that does not fit is
    /// dropped and counted ([`AuditStats::dropped_queue_bytes`]), never
    /// waited for. With capture on each event may hold two bodies of up to
    /// the [capture limit](Self::capture_limit). Takes effect at once.
    pub fn queue_bytes(self, bytes: usize) -> Self {
        self.shared.set_queue_bytes(bytes as u64);
        self
    }

    /// The side-channel counters so far.
    pub fn stats(&self) -> AuditStats {
        self.shared.stats()
    }

    /// Waits until every queued event was handed to the sink, then flushes
    /// the sink, all within `timeout`. Call it on shutdown, after the server
    /// stopped taking requests.
    pub async fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        self.shared.flush(timeout).await
    }
}

impl<S> Layer<S> for AuditLayer {
    type Service = Audit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Audit::from_layer(inner, self)
    }
}
