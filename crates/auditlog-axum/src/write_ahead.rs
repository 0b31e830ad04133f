//! Write-ahead auditing: the response waits until its event is durably
//! recorded.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use auditlog_sink::SinkError;
use http::Request;
use tokio::sync::oneshot;
use tower_layer::Layer;
use tower_service::Service;

use crate::context::AuditContext;
use crate::emit::{Record, Shared};

/// How long a response waits for its event to be durably recorded by
/// default before that counts as failed: 5 s.
pub const DEFAULT_WRITE_AHEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether responses wait until their event is durably recorded
/// ([`AuditSink::publish_durable`](auditlog_sink::AuditSink::publish_durable)),
/// and what happens when that fails. See [the crate docs](crate#write-ahead-auditing).
///
/// Set for every route with [`AuditLayer::write_ahead`](crate::AuditLayer::write_ahead),
/// for one route by adding it as the route's layer, or for one request with
/// [`AuditContext::set_write_ahead`]. The most specific wins whole (its
/// timeout and failure policy too).
///
/// ```
/// use auditlog_axum::{AuditLayer, WriteAhead, WriteAheadFailure};
/// use auditlog_sink::JsonLinesSink;
/// use axum::{routing::{get, post}, Router};
///
/// # fn app(sink: JsonLinesSink) -> Router {
/// Router::new()
///     .route("/transfers", post(|| async { "moved" }).layer(WriteAhead::required()))
///     .route("/balance", get(|| async { "42" }))
///     .layer(AuditLayer::new(sink))
/// # }
/// let strict = WriteAhead::required()
///     .timeout(std::time::Duration::from_secs(2))
///     .on_failure(WriteAheadFailure::FailOpen);
/// # let _ = strict;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteAhead {
    pub(crate) required: bool,
    pub(crate) timeout: Duration,
    pub(crate) on_failure: WriteAheadFailure,
}

/// What the client gets when its request's event could not be durably
/// recorded (refused, failed or timed out). Either way the failure is
/// counted ([`AuditStats::write_ahead_failed`](crate::AuditStats::write_ahead_failed))
/// and logged at error level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WriteAheadFailure {
    /// `503 Service Unavailable` with an empty body instead of the
    /// handler's response: the action happened, but it is not confirmed to
    /// the client.
    #[default]
    FailClosed,
    /// The handler's response, as if the write-ahead had succeeded.
    FailOpen,
}

impl Default for WriteAhead {
    /// Off.
    fn default() -> Self {
        WriteAhead::off()
    }
}

impl WriteAhead {
    /// Responses wait for their event to be durable: up to
    /// [`DEFAULT_WRITE_AHEAD_TIMEOUT`], [failing closed](WriteAheadFailure::FailClosed).
    pub fn required() -> Self {
        WriteAhead {
            required: true,
            timeout: DEFAULT_WRITE_AHEAD_TIMEOUT,
            on_failure: WriteAheadFailure::FailClosed,
        }
    }

    /// Responses do not wait (the default); as a route's layer, exempts the
    /// route from the layer's write-ahead.
    pub fn off() -> Self {
        WriteAhead {
            required: false,
            ..WriteAhead::required()
        }
    }

    /// How long a response waits for the durable record before that counts
    /// as failed.
    pub fn timeout(self, timeout: Duration) -> Self {
        WriteAhead { timeout, ..self }
    }

    /// What the client gets when the durable record failed.
    pub fn on_failure(self, on_failure: WriteAheadFailure) -> Self {
        WriteAhead { on_failure, ..self }
    }

    /// Whether responses wait for their event.
    pub fn is_required(&self) -> bool {
        self.required
    }

    fn fails_open(&self) -> bool {
        self.on_failure == WriteAheadFailure::FailOpen
    }
}

/// As a route's layer: sets the write-ahead of the route's requests.
impl<S> Layer<S> for WriteAhead {
    type Service = WriteAheadService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WriteAheadService {
            inner,
            write_ahead: *self,
        }
    }
}

/// Sets the write-ahead of each request's event (through its
/// [`AuditContext`]); made by [`WriteAhead`] as a layer. Requests that are
/// not audited pass through untouched.
#[derive(Debug, Clone)]
pub struct WriteAheadService<S> {
    inner: S,
    write_ahead: WriteAhead,
}

impl<S, B> Service<Request<B>> for WriteAheadService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // On the request, not the response: set even if the handler panics.
        if let Some(context) = request.extensions().get::<AuditContext>() {
            context.set_write_ahead(self.write_ahead);
        }
        self.inner.call(request)
    }
}

/// Whether the held-back response may go out as the handler made it.
pub(crate) struct Confirmation {
    receiver: oneshot::Receiver<bool>,
    fail_open: bool,
}

impl Future for Confirmation {
    /// `true`: send the handler's response; `false`: send a 503.
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        // A closed channel: the task was dropped with its runtime.
        let fail_open = self.fail_open;
        Pin::new(&mut self.receiver)
            .poll(cx)
            .map(|sent| sent.unwrap_or(fail_open))
    }
}

/// Records `record` durably on a task of its own, so that a client going
/// away does not cancel it; the confirmation says what to send.
pub(crate) fn record(shared: Arc<Shared>, record: Record, write_ahead: WriteAhead) -> Confirmation {
    let (sender, receiver) = oneshot::channel();
    let confirmation = Confirmation {
        receiver,
        fail_open: write_ahead.fails_open(),
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        let failed = shared.count_write_ahead_failed(None);
        log_failure(failed, "no tokio runtime to record it", write_ahead);
        let _ = sender.send(write_ahead.fails_open());
        return confirmation;
    };
    let in_flight = shared.write_ahead_started();
    runtime.spawn(async move {
        let confirmed = record_durably(&shared, record, write_ahead).await;
        drop(in_flight);
        let _ = sender.send(confirmed);
    });
    confirmation
}

/// Returns whether the handler's response may be sent.
async fn record_durably(shared: &Shared, record: Record, write_ahead: WriteAhead) -> bool {
    // A panicking hook loses its event, as on the background task.
    let Ok(event) = catch_unwind(AssertUnwindSafe(|| record.finish())) else {
        let failed = shared.count_write_ahead_failed(None);
        log_failure(failed, "finishing the event panicked", write_ahead);
        return write_ahead.fails_open();
    };
    let durable = shared.sink().publish_durable((*event).clone());
    let result = match tokio::time::timeout(write_ahead.timeout, durable).await {
        Ok(result) => result,
        Err(_) => Err(SinkError::Timeout { undelivered: 1 }),
    };
    match result {
        Ok(()) => {
            shared.count_write_ahead();
            true
        }
        Err(error) => {
            // Queued as usual, so that it is recorded if the sink takes it
            // at all; after a timeout or an I/O error the sink may hold it
            // already: a duplicate (same id), never a loss.
            let failed = shared.count_write_ahead_failed(Some(event));
            log_failure(failed, &error.to_string(), write_ahead);
            write_ahead.fails_open()
        }
    }
}

fn log_failure(failed: u64, error: &str, write_ahead: WriteAhead) {
    let response = match write_ahead.on_failure {
        WriteAheadFailure::FailClosed => "503 sent instead of the response",
        WriteAheadFailure::FailOpen => "the response was sent anyway",
    };
    tracing::error!(
        target: "auditlog_axum",
        write_ahead_failed = failed,
        error,
        "audit event not durably recorded before its response: {response}"
    );
}
