//! What the layer counts on its side channel, as one snapshot.

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
    /// Of `dropped`: the queue held [`queue_capacity`](crate::AuditLayer::queue_capacity) events.
    pub dropped_queue_full: u64,
    /// Of `dropped`: the event did not fit in what was left of
    /// [`queue_bytes`](crate::AuditLayer::queue_bytes).
    pub dropped_queue_bytes: u64,
    /// Of `dropped`: no tokio runtime ran the background task.
    pub dropped_not_running: u64,
    /// Of `failed`: the sink returned an error.
    pub failed_sink_error: u64,
    /// Of `failed`: finishing the event (the [`OnEvent`](crate::OnEvent) hook) or the
    /// sink's `publish` panicked.
    pub failed_panicked: u64,
    /// Approximate bytes held by the events in the queue now.
    pub queued_bytes: u64,
    /// The most bytes the queue held at once so far: never above
    /// [`queue_bytes`](crate::AuditLayer::queue_bytes).
    pub peak_queued_bytes: u64,
    /// Requests whose identity headers were present and not used: the
    /// [`IdentitySource`](crate::IdentitySource) does not believe headers from their peer, or the
    /// service had attached an [`AuditIdentity`](crate::AuditIdentity)
    /// (noted under [`IDENTITY_KEY`](crate::IDENTITY_KEY) in the event).
    pub identity_ignored: u64,
    /// Requests with an identity header repeated with different values
    /// (left out of the event and noted under
    /// [`IDENTITY_KEY`](crate::IDENTITY_KEY)).
    pub identity_conflicts: u64,
}
