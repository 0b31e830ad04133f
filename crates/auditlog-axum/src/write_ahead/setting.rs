//! [`WriteAhead`]: whether a response waits for its event, how long, and
//! what the client gets when that fails.

use std::time::Duration;

/// Whether responses wait until their event is durably recorded
/// ([`AuditSink::publish_durable`](auditlog_sink::AuditSink::publish_durable)),
/// and what happens when that fails. See [the crate docs](crate#write-ahead-auditing).
///
/// Set for every route with [`AuditLayer::write_ahead`](crate::AuditLayer::write_ahead),
/// for one route with a [`WriteAheadLayer`](crate::WriteAheadLayer) as the
/// route's layer, or for one request with
/// [`AuditContext::set_write_ahead`](crate::AuditContext::set_write_ahead).
/// The most specific wins whole (its timeout and failure policy too).
///
/// ```
/// use auditlog_axum::{AuditLayer, WriteAhead, WriteAheadFailure, WriteAheadLayer};
/// use auditlog_sink::JsonLinesSink;
/// use axum::{routing::{get, post}, Router};
///
/// # fn app(sink: JsonLinesSink) -> Router {
/// Router::new()
///     .route("/transfers", post(|| async { "moved" }).layer(WriteAheadLayer::required()))
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
    required: bool,
    pub(crate) timeout: Duration,
    pub(crate) on_failure: WriteAheadFailure,
}

/// How long a response waits for its event to be durably recorded by
/// default before that counts as failed: 5 s.
pub const DEFAULT_WRITE_AHEAD_TIMEOUT: Duration = Duration::from_secs(5);

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

    /// Responses do not wait (the default); on a route, exempts it from
    /// the layer's write-ahead.
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

    /// Whether the handler's response goes out when the record failed.
    pub(crate) fn fails_open(&self) -> bool {
        self.on_failure == WriteAheadFailure::FailOpen
    }
}
