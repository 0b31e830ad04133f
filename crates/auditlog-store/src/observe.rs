//! Counters and on-emit hooks around any sink.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use async_trait::async_trait;
use auditlog_core::AuditEvent;
use auditlog_sink::{AuditSink, SinkError};

/// Counter of events handed to the sink, labelled `action`, `tenant`, `status`.
pub const EVENTS_TOTAL: &str = "auditlog_events_total";
/// Counter of events the inner sink refused, labelled `action`, `tenant`, `status`.
pub const EVENTS_FAILED_TOTAL: &str = "auditlog_events_failed_total";
/// Counter of hook calls that panicked.
pub const HOOK_FAILURES_TOTAL: &str = "auditlog_hook_failures_total";
/// Counter of events not shown to hooks because their queue was full.
pub const HOOK_DROPPED_TOTAL: &str = "auditlog_hook_dropped_total";

type Hook = Box<dyn Fn(&AuditEvent) + Send + Sync>;

/// Wraps a sink: counts every event through the `metrics` facade and shows
/// it to `on_emit` hooks. Hooks run on their own thread, fire-and-forget: a
/// slow hook never delays publishing (a full queue drops, counted) and a
/// panicking hook is caught, counted and does not stop the others.
pub struct Observed<S> {
    inner: S,
    hooks: Option<HookQueue>,
}

struct HookQueue {
    sender: SyncSender<Arc<AuditEvent>>,
    dropped: Arc<AtomicU64>,
    failures: Arc<AtomicU64>,
}

impl<S> fmt::Debug for Observed<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Observed").finish_non_exhaustive()
    }
}

/// Builds an [`Observed`] sink.
#[must_use]
pub struct ObservedBuilder<S> {
    inner: S,
    hooks: Vec<Hook>,
    queue: usize,
}

impl<S> fmt::Debug for ObservedBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObservedBuilder")
            .field("hooks", &self.hooks.len())
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl<S: AuditSink> Observed<S> {
    /// Starts wrapping `inner`; add hooks, then [`build`](ObservedBuilder::build).
    pub fn builder(inner: S) -> ObservedBuilder<S> {
        ObservedBuilder {
            inner,
            hooks: Vec::new(),
            queue: 1024,
        }
    }

    /// Events the hooks did not see because their queue was full.
    pub fn hooks_dropped(&self) -> u64 {
        self.hooks
            .as_ref()
            .map_or(0, |h| h.dropped.load(Ordering::Relaxed))
    }

    /// Hook calls that panicked.
    pub fn hook_failures(&self) -> u64 {
        self.hooks
            .as_ref()
            .map_or(0, |h| h.failures.load(Ordering::Relaxed))
    }

    /// The wrapped sink.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AuditSink> ObservedBuilder<S> {
    /// Adds a hook called with every event handed to the sink.
    pub fn on_emit(mut self, hook: impl Fn(&AuditEvent) + Send + Sync + 'static) -> Self {
        self.hooks.push(Box::new(hook));
        self
    }

    /// How many events may wait for the hooks (1024 by default).
    pub fn hook_queue(mut self, capacity: usize) -> Self {
        self.queue = capacity.max(1);
        self
    }

    /// The sink with its hooks; they run on a thread of their own.
    pub fn build(self) -> Observed<S> {
        let hooks = (!self.hooks.is_empty()).then(|| spawn_hooks(self.hooks, self.queue));
        Observed {
            inner: self.inner,
            hooks,
        }
    }
}

fn spawn_hooks(hooks: Vec<Hook>, queue: usize) -> HookQueue {
    let (sender, receiver) = mpsc::sync_channel::<Arc<AuditEvent>>(queue);
    let failures = Arc::new(AtomicU64::new(0));
    let thread_failures = Arc::clone(&failures);
    thread::Builder::new()
        .name("auditlog-hooks".into())
        .spawn(move || {
            for event in receiver {
                for hook in &hooks {
                    if catch_unwind(AssertUnwindSafe(|| hook(&event))).is_err() {
                        thread_failures.fetch_add(1, Ordering::Relaxed);
                        metrics::counter!(HOOK_FAILURES_TOTAL).increment(1);
                    }
                }
            }
        })
        .expect("spawning the hook thread");
    HookQueue {
        sender,
        dropped: Arc::new(AtomicU64::new(0)),
        failures,
    }
}

fn labels(event: &AuditEvent) -> [(&'static str, String); 3] {
    let action = event.action.as_ref();
    let text = |value: Option<&str>| value.unwrap_or("").to_owned();
    [
        ("action", text(action.and_then(|a| a.name.as_deref()))),
        ("tenant", text(event.tenantid.as_deref())),
        ("status", text(action.and_then(|a| a.status.as_deref()))),
    ]
}

impl<S> Observed<S> {
    /// Counts `event` and hands a copy to the hooks (before the inner sink
    /// seals it); its labels, for counting a failure.
    fn observe(&self, event: &AuditEvent) -> [(&'static str, String); 3] {
        let labels = labels(event);
        metrics::counter!(EVENTS_TOTAL, &labels).increment(1);
        if let Some(hooks) = &self.hooks {
            match hooks.sender.try_send(Arc::new(event.clone())) {
                Ok(()) => {}
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                    hooks.dropped.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!(HOOK_DROPPED_TOTAL).increment(1);
                }
            }
        }
        labels
    }
}

fn count_failure(labels: &[(&'static str, String); 3], result: &Result<(), SinkError>) {
    if result.is_err() {
        metrics::counter!(EVENTS_FAILED_TOTAL, labels).increment(1);
    }
}

#[async_trait]
impl<S: AuditSink> AuditSink for Observed<S> {
    async fn publish(&self, event: AuditEvent) -> Result<(), SinkError> {
        let labels = self.observe(&event);
        let result = self.inner.publish(event).await;
        count_failure(&labels, &result);
        result
    }

    /// As `publish`, lending the event on to the inner sink (which may
    /// seal it in place, see [`AuditSink::publish_borrowed`]).
    async fn publish_borrowed(&self, event: &mut AuditEvent) -> Result<(), SinkError> {
        let labels = self.observe(event);
        let result = self.inner.publish_borrowed(event).await;
        count_failure(&labels, &result);
        result
    }

    async fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        self.inner.flush(timeout).await
    }
}

/// Installs a Prometheus recorder as the global `metrics` recorder and
/// returns its handle; `handle.render()` gives the text exposition format
/// to serve on `/metrics`.
#[cfg(feature = "prometheus")]
pub fn install_prometheus(
) -> Result<metrics_exporter_prometheus::PrometheusHandle, metrics_exporter_prometheus::BuildError>
{
    metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()
}
