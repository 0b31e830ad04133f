//! Finishing events and handing them to the sink off the request path.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};

use auditlog_core::{AuditEvent, Metadata, Outcome, Severity, Subject, Value};
use auditlog_sink::{AuditSink, SinkError};
use http::StatusCode;
use time::OffsetDateTime;
use tokio::sync::{mpsc, Notify};

use crate::capture::{Capture, Captured};
use crate::context::{AuditContext, Enrichment};
use crate::identity::IdentityCounters;
use crate::layer::{AuditStats, Config};
use crate::payload::Rules;
use crate::queue::{event_bytes, map_bytes, Counters, Dropped, Failed, Metrics};
use crate::unwind::CatchUnwind;
use crate::write_ahead::WriteAhead;

/// The key in `eventdata.responsepayload` that marks an event whose
/// exchange did not end normally; its value says how it ended.
pub const INCOMPLETE_KEY: &str = "_incomplete";

/// The key in `eventdata.responsepayload` that marks a write-ahead event
/// recorded with response capture on: its response body could not be in it.
pub const WRITE_AHEAD_KEY: &str = "_writeahead";

/// The value of [`WRITE_AHEAD_KEY`].
const WRITE_AHEAD_NOTE: &str = "recorded before the response body was sent: body not captured";

/// The queue, the background task and the counters, shared by a layer and
/// every service and event it made.
pub(crate) struct Shared {
    capacity: AtomicUsize,
    /// The queue's budget in bytes (approximate, captures included).
    queue_bytes: AtomicU64,
    sender: OnceLock<mpsc::Sender<Queued>>,
    state: Arc<State>,
}

/// What the background task needs; it holds no sender, so it ends when the
/// last layer and service are gone.
struct State {
    sink: Arc<dyn AuditSink>,
    counters: Counters,
    metrics: Metrics,
    idle: Notify,
}

/// What the background task publishes.
// Records are the common case: boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
enum Work {
    /// A finished exchange, to be turned into its event.
    Record(Record),
    /// An event already finished (a failed write-ahead).
    Event(Box<AuditEvent>),
}

/// Work in the queue, with the bytes it holds of the queue's budget.
struct Queued {
    work: Work,
    bytes: u64,
}

impl Work {
    /// Roughly what it holds in memory: the event's strings and captures
    /// (raw; escaping happens later, in the sink).
    fn approx_bytes(&self) -> u64 {
        match self {
            Work::Record(record) => record.approx_bytes(),
            Work::Event(event) => event_bytes(event),
        }
    }
}

/// A write-ahead record under way; [`Shared::flush`] waits for it.
pub(crate) struct InFlight(Arc<State>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.counters.write_ahead_in_flight.fetch_sub(1, Relaxed);
        self.0.idle.notify_waiters();
    }
}

impl Shared {
    pub(crate) fn new(sink: Arc<dyn AuditSink>, capacity: usize, queue_bytes: u64) -> Self {
        Shared {
            capacity: AtomicUsize::new(capacity),
            queue_bytes: AtomicU64::new(queue_bytes),
            sender: OnceLock::new(),
            state: Arc::new(State {
                sink,
                counters: Counters::default(),
                metrics: Metrics::new(),
                idle: Notify::new(),
            }),
        }
    }

    pub(crate) fn set_capacity(&self, capacity: usize) {
        self.capacity.store(capacity, Relaxed);
    }

    pub(crate) fn set_queue_bytes(&self, bytes: u64) {
        self.queue_bytes.store(bytes, Relaxed);
    }

    /// Starts the background task on the current runtime, once.
    pub(crate) fn ensure_worker(&self) {
        if self.sender.get().is_some() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        self.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(self.capacity.load(Relaxed));
            runtime.spawn(publish_all(self.state.clone(), receiver));
            sender
        });
    }

    pub(crate) fn count_skipped(&self) {
        self.state.counters.skipped.fetch_add(1, Relaxed);
    }

    pub(crate) fn identity_counters(&self) -> &IdentityCounters {
        &self.state.counters.identity
    }

    pub(crate) fn sink(&self) -> &Arc<dyn AuditSink> {
        &self.state.sink
    }

    pub(crate) fn write_ahead_started(&self) -> InFlight {
        let counters = &self.state.counters;
        counters.write_ahead_in_flight.fetch_add(1, Relaxed);
        InFlight(self.state.clone())
    }

    pub(crate) fn count_write_ahead(&self) {
        self.state.counters.write_ahead.fetch_add(1, Relaxed);
    }

    /// Counts a failed write-ahead and queues its event, if any, as usual;
    /// returns the failures so far.
    pub(crate) fn count_write_ahead_failed(&self, event: Option<Box<AuditEvent>>) -> u64 {
        let failed = self.state.counters.write_ahead_failed.fetch_add(1, Relaxed) + 1;
        if let Some(event) = event {
            self.send(Work::Event(event));
        }
        failed
    }

    /// Queues a finished record or event, never waiting: dropped (counted
    /// by reason) when the queue is at its count or its byte budget.
    fn send(&self, work: Work) {
        let state = &*self.state;
        let counters = &state.counters;
        let bytes = work.approx_bytes();
        let limit = self.queue_bytes.load(Relaxed);
        let refused = match self.sender.get() {
            None => Dropped::NotRunning,
            Some(_) if !counters.reserve_bytes(bytes, limit, &state.metrics) => Dropped::QueueBytes,
            Some(sender) => {
                counters.queued.fetch_add(1, Relaxed);
                let refused = match sender.try_send(Queued { work, bytes }) {
                    Ok(()) => {
                        state.metrics.queued.increment(1);
                        return;
                    }
                    Err(mpsc::error::TrySendError::Full(_)) => Dropped::QueueFull,
                    Err(mpsc::error::TrySendError::Closed(_)) => Dropped::NotRunning,
                };
                counters.queued.fetch_sub(1, Relaxed);
                counters.release_bytes(bytes, &state.metrics);
                refused
            }
        };
        let dropped = counters.count_dropped(refused, &state.metrics);
        tracing::warn!(target: "auditlog_axum", dropped, reason = refused.why(), "audit event dropped: {}", refused.why());
        state.idle.notify_waiters();
    }

    pub(crate) fn stats(&self) -> AuditStats {
        let c = &self.state.counters;
        AuditStats {
            queued: c.queued.load(Relaxed),
            published: c.published.load(Relaxed),
            failed: c.failed.load(Relaxed),
            dropped: c.dropped.load(Relaxed),
            suppressed: c.suppressed.load(Relaxed),
            skipped: c.skipped.load(Relaxed),
            write_ahead: c.write_ahead.load(Relaxed),
            write_ahead_failed: c.write_ahead_failed.load(Relaxed),
            dropped_queue_full: c.dropped_by(Dropped::QueueFull),
            dropped_queue_bytes: c.dropped_by(Dropped::QueueBytes),
            dropped_not_running: c.dropped_by(Dropped::NotRunning),
            failed_sink_error: c.failed_by(Failed::SinkError),
            failed_panicked: c.failed_by(Failed::Panicked),
            queued_bytes: c.queued_bytes.load(Relaxed),
            peak_queued_bytes: c.peak_queued_bytes.load(Relaxed),
            identity_ignored: c.identity.ignored.load(Relaxed),
            identity_conflicts: c.identity.conflicts.load(Relaxed),
        }
    }

    pub(crate) async fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let c = &self.state.counters;
        loop {
            let idle = self.state.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            // A write-ahead in flight may still queue its event.
            let in_flight = c.write_ahead_in_flight.load(Relaxed);
            let handed = c.published.load(Relaxed) + c.failed.load(Relaxed);
            let queued = c.queued.load(Relaxed);
            if handed >= queued && in_flight == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return Err(SinkError::Timeout {
                    undelivered: queued.saturating_sub(handed) + in_flight,
                });
            }
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        self.state.sink.flush(left).await
    }
}

async fn publish_all(state: Arc<State>, mut receiver: mpsc::Receiver<Queued>) {
    let mut batch = Vec::with_capacity(PUBLISH_BATCH);
    // Takes what is waiting in one go: fewer wake-ups under load.
    while receiver.recv_many(&mut batch, PUBLISH_BATCH).await > 0 {
        for Queued { work, bytes } in batch.drain(..) {
            publish_one(&state, work).await;
            // Held until the sink has it: the batch still holds it till then.
            state.counters.release_bytes(bytes, &state.metrics);
        }
        state.idle.notify_waiters();
    }
}

/// Finishes and publishes one event; a panic (in the hook or the sink)
/// loses that event, counted, not the task.
async fn publish_one(state: &State, work: Work) {
    let (counters, metrics) = (&state.counters, &state.metrics);
    let event = match work {
        Work::Record(record) => match catch_unwind(AssertUnwindSafe(|| record.finish())) {
            Ok(event) => event,
            Err(_) => {
                let failed = counters.count_failed(Failed::Panicked, metrics);
                tracing::warn!(target: "auditlog_axum", failed, "audit event lost: finishing it panicked");
                return;
            }
        },
        Work::Event(event) => event,
    };
    match CatchUnwind::new(state.sink.publish(*event)).await {
        Ok(Ok(())) => {
            counters.published.fetch_add(1, Relaxed);
            metrics.published.increment(1);
        }
        Ok(Err(error)) => {
            let failed = counters.count_failed(Failed::SinkError, metrics);
            tracing::warn!(target: "auditlog_axum", failed, %error, "audit event not published");
        }
        Err(()) => {
            let failed = counters.count_failed(Failed::Panicked, metrics);
            tracing::error!(target: "auditlog_axum", failed, "audit event lost: the sink's publish panicked");
        }
    }
}

/// The most events the background task takes from the queue at once.
const PUBLISH_BATCH: usize = 64;

/// How the exchange ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The response body was sent to its end.
    Complete,
    /// The response body was dropped before its end: the client went away.
    DuringBody,
    /// The response future was dropped: the client went away first.
    BeforeResponse,
    /// The handler panicked and nothing caught it.
    Panicked,
    /// The inner service returned an error.
    ServiceError,
    /// The response body yielded an error.
    BodyError,
}

impl End {
    fn note(self) -> Option<&'static str> {
        Some(match self {
            End::Complete => return None,
            End::DuringBody => "client disconnected during the response body",
            End::BeforeResponse => "client disconnected before the response",
            End::Panicked => "handler panicked",
            End::ServiceError => "service error",
            End::BodyError => "response body error",
        })
    }
}

/// An event waiting for its request to end. Dropping it emits the event as
/// cut short (or panicked), so every audited request yields exactly one.
pub(crate) struct Pending {
    inner: Option<PendingInner>,
}

struct PendingInner {
    shared: Arc<Shared>,
    config: Arc<Config>,
    /// Boxed: futures and bodies holding it move a pointer, not the event.
    event: Box<AuditEvent>,
    at: SystemTime,
    context: AuditContext,
    request_capture: Option<Arc<Mutex<Capture>>>,
    status: Option<StatusCode>,
    bodiless: bool,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("emitted", &self.inner.is_none())
            .finish_non_exhaustive()
    }
}

impl Pending {
    pub(crate) fn new(
        shared: Arc<Shared>,
        config: Arc<Config>,
        event: Box<AuditEvent>,
        at: SystemTime,
        context: AuditContext,
        request_capture: Option<Arc<Mutex<Capture>>>,
    ) -> Self {
        Pending {
            inner: Some(PendingInner {
                shared,
                config,
                event,
                at,
                context,
                request_capture,
                status: None,
                bodiless: false,
            }),
        }
    }

    /// Records the response head. `bodiless` responses (to HEAD, 1xx, 204,
    /// 304) end when their body is dropped, polled or not.
    pub(crate) fn responded(&mut self, status: StatusCode, bodiless: bool) {
        if let Some(inner) = &mut self.inner {
            inner.status = Some(status);
            inner.bodiless = bodiless;
        }
    }

    pub(crate) fn is_bodiless(&self) -> bool {
        self.inner.as_ref().is_some_and(|i| i.bodiless)
    }

    pub(crate) fn capture_limit(&self) -> Option<usize> {
        let config = &self.inner.as_ref()?.config;
        config.capture.then_some(config.capture_limit)
    }

    /// Emits the event now.
    pub(crate) fn finish(mut self, end: End, response: Option<Capture>) {
        if let Some(inner) = self.inner.take() {
            inner.emit(end, response);
        }
    }

    /// The write-ahead this request requires, if any: its own (route or
    /// handler), else the layer's.
    pub(crate) fn write_ahead(&self) -> Option<WriteAhead> {
        let inner = self.inner.as_ref()?;
        let write_ahead = inner
            .context
            .write_ahead()
            .unwrap_or(inner.config.write_ahead);
        write_ahead.is_required().then_some(write_ahead)
    }

    /// Finishes the exchange at its response head, for a write-ahead: the
    /// record, or `None` when the handler suppressed the event.
    pub(crate) fn into_write_ahead(mut self) -> Option<(Arc<Shared>, Record)> {
        let inner = self.inner.take()?;
        let shared = inner.shared.clone();
        let record = inner.record(End::Complete, None, true)?;
        Some((shared, record))
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            let end = if std::thread::panicking() {
                End::Panicked
            } else if inner.status.is_none() {
                End::BeforeResponse
            } else if inner.bodiless {
                End::Complete
            } else {
                End::DuringBody
            };
            inner.emit(end, None);
        }
    }
}

impl PendingInner {
    fn emit(self, end: End, response: Option<Capture>) {
        let shared = self.shared.clone();
        if let Some(record) = self.record(end, response, false) {
            shared.send(Work::Record(record));
        }
    }

    /// The record to finish, or `None` (counted) when suppressed.
    fn record(mut self, end: End, response: Option<Capture>, write_ahead: bool) -> Option<Record> {
        let enrichment = self.context.take().unwrap_or_default();
        if enrichment.suppressed {
            self.shared.state.counters.suppressed.fetch_add(1, Relaxed);
            return None;
        }
        let request = self.request_capture.map(|capture| {
            let mut capture = capture.lock().unwrap_or_else(PoisonError::into_inner);
            std::mem::replace(&mut *capture, Capture::new(0, None)).finish()
        });
        let record = Record {
            config: self.config,
            event: self.event,
            at: self.at,
            status: self.status,
            end,
            request,
            response: response.map(Capture::finish),
            write_ahead,
            enrichment,
        };
        Some(record)
    }
}

/// A finished exchange; the background task turns it into the event.
pub(crate) struct Record {
    config: Arc<Config>,
    event: Box<AuditEvent>,
    /// When the request arrived: the event's timestamp.
    at: SystemTime,
    status: Option<StatusCode>,
    end: End,
    request: Option<Captured>,
    response: Option<Captured>,
    /// Recorded at the response head, before its body.
    write_ahead: bool,
    enrichment: Enrichment,
}

impl Record {
    /// Roughly what it holds: the event's strings, the captured bodies (as
    /// allocated) and the handler's details.
    fn approx_bytes(&self) -> u64 {
        let captured = |c: &Option<Captured>| c.as_ref().map_or(0, |c| c.bytes.capacity() as u64);
        event_bytes(&self.event)
            + captured(&self.request)
            + captured(&self.response)
            + map_bytes(&self.enrichment.request_details)
            + map_bytes(&self.enrichment.response_details)
    }

    pub(crate) fn finish(self) -> Box<AuditEvent> {
        let Record {
            config,
            mut event,
            at,
            status,
            end,
            request,
            response,
            write_ahead,
            enrichment: e,
        } = self;
        let (severity, outcome) = match (end, status) {
            (End::Complete | End::DuringBody, Some(status)) => (
                Severity::from_http_status(status.as_u16()),
                Outcome::from_http_status(status.as_u16()),
            ),
            // Like nginx's 499: the client closed the request.
            (End::BeforeResponse, _) => (Severity::Warning, Outcome::Failure),
            _ => (Severity::Error, Outcome::Failure),
        };
        // A fresh id (UUID v4), the spec version and the arrival time.
        let envelope = AuditEvent::builder()
            .timestamp_at(OffsetDateTime::from(at))
            .build();
        event.id = envelope.id;
        event.specversion = envelope.specversion;
        event.timestamp = envelope.timestamp;
        let action = event.action.get_or_insert_with(Default::default);
        action.severity = Some(severity.as_str().to_owned());
        action.status = Some(outcome.as_str().to_owned());
        if let Some(name) = e.action_name {
            action.name = Some(name);
        }

        // Bodies and handler details are redacted; markers, added last,
        // are the middleware's own and never are.
        let rules = Rules {
            redaction: &config.redaction,
            raw_text: config.raw_text,
            only: e.capture_only.as_ref(),
        };
        let request = request.map(|c| rules.payload(c)).unwrap_or_default();
        let response = response.map(|c| rules.payload(c)).unwrap_or_default();
        let (mut request_details, mut response_details) = (e.request_details, e.response_details);
        let redacted = request.redacted
            | response.redacted
            | config.redaction.redact_map(&mut request_details)
            | config.redaction.redact_map(&mut response_details);
        let (mut request_payload, mut response_payload) = (request.map, response.map);
        request_payload.extend(request_details);
        response_payload.extend(response_details);
        if let Some(note) = end.note() {
            response_payload.insert(INCOMPLETE_KEY.into(), Value::from(note));
        }
        if write_ahead && config.capture {
            response_payload.insert(WRITE_AHEAD_KEY.into(), Value::from(WRITE_AHEAD_NOTE));
        }

        if e.resource.is_some() || e.resource_id.is_some() {
            let objectref = event.objectref.get_or_insert_with(Default::default);
            if e.resource.is_some() {
                objectref.resource = e.resource;
            }
            if e.resource_id.is_some() {
                objectref.resourceid = e.resource_id;
            }
        }
        if let Some(identity) = e.identity {
            identity.apply(&mut event);
        }
        if let Some(subject) = e.subject {
            event.subject = Some(subject);
        }
        if let Some(user_id) = e.user_id {
            event.subject.get_or_insert_with(Subject::default).userid = Some(user_id);
        }

        // What needed redacting was sensitive, whatever the settings say.
        let sensitive = redacted || e.sensitive.unwrap_or(config.sensitive);
        let category = e
            .compliance_category
            .or_else(|| config.compliance_category.clone());
        let metadata = (sensitive || category.is_some()).then_some(Metadata {
            issensitive: sensitive,
            compliancecategory: category,
        });
        if metadata.is_some() || !request_payload.is_empty() || !response_payload.is_empty() {
            let data = event.eventdata.get_or_insert_with(Default::default);
            data.requestpayload = request_payload;
            data.responsepayload = response_payload;
            data.metadata = metadata;
        }
        config.hook.on_event(&mut event);
        event
    }
}
