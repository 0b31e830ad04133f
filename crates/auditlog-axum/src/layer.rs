//! [`AuditLayer`]: what to audit and where the events go.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use auditlog_core::{IdentityHeaders, Kubernetes};
use auditlog_sink::{AuditSink, SinkError};
use tower_layer::Layer;

use crate::config::{non_empty, skip_segments, ActionName, Config};
use crate::hook::OnEvent;
use crate::identity::IdentitySource;
use crate::network::IpNetwork;
use crate::queue::EventQueue;
use crate::service::Audit;
use crate::stats::AuditStats;
use crate::write_ahead::WriteAhead;

/// Audits every request of the service it wraps: one event per request,
/// handed to an [`AuditSink`] by a background task.
///
/// Cloning is cheap; clones share the sink, the queue and the counters, so
/// [`flush`](Self::flush) and [`stats`](Self::stats) on any clone see
/// everything.
#[derive(Clone)]
pub struct AuditLayer {
    config: Arc<Config>,
    queue: Arc<EventQueue>,
}

impl fmt::Debug for AuditLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLayer")
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl AuditLayer {
    /// A layer publishing to `sink` with the defaults: the default skip paths,
    /// capture off (64 KiB cap when turned on), the default redaction keys
    /// and identity headers, identity from the service only
    /// ([`IdentitySource::Extension`]), no trusted proxies, route templates
    /// as action names, and the `kubernetes` section read from the
    /// environment now.
    pub fn new(sink: impl AuditSink) -> Self {
        AuditLayer {
            config: Arc::new(Config::new()),
            queue: Arc::new(EventQueue::new(sink)),
        }
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
            .filter_map(|p| skip_segments(p.as_ref()))
            .collect();
        self.config(|c| c.skip = skip)
    }

    /// Adds a skip path.
    pub fn skip_path(self, path: impl AsRef<str>) -> Self {
        let segments = skip_segments(path.as_ref());
        self.config(|c| c.skip.extend(segments))
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
        let kubernetes = non_empty(kubernetes);
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
        self.queue.set_capacity(capacity.max(1));
        self
    }

    /// How many bytes the finished events waiting for the sink may hold at
    /// once (64 MiB by default), counted roughly as their strings and
    /// captured bodies take in memory; an event that does not fit is
    /// dropped and counted ([`AuditStats::dropped_queue_bytes`]), never
    /// waited for. With capture on each event may hold two bodies of up to
    /// the [capture limit](Self::capture_limit). Takes effect at once.
    pub fn queue_bytes(self, bytes: usize) -> Self {
        self.queue.set_queue_bytes(bytes as u64);
        self
    }

    /// The side-channel counters so far.
    pub fn stats(&self) -> AuditStats {
        self.queue.stats()
    }

    /// Waits until every queued event was handed to the sink, then flushes
    /// the sink, all within `timeout`. Call it on shutdown, after the server
    /// stopped taking requests.
    pub async fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        self.queue.flush(timeout).await
    }
}

impl<S> Layer<S> for AuditLayer {
    type Service = Audit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Audit::from_parts(inner, self.config.clone(), self.queue.clone())
    }
}

// Here rather than in `service`, so that module needs nothing of this one.
impl<S> Audit<S> {
    /// A layer publishing to `sink` (the same as [`AuditLayer::new`]).
    pub fn layer(sink: impl AuditSink) -> AuditLayer {
        AuditLayer::new(sink)
    }
}
