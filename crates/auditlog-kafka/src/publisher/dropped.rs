//! Why the publisher refused an event: each reason counted apart.

/// Why an event was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dropped {
    QueueFull,
    QueueBytes,
    SpoolFull,
    SpoolError,
    KeyPanicked,
}

impl Dropped {
    pub(super) const ALL: [Dropped; 5] = [
        Dropped::QueueFull,
        Dropped::QueueBytes,
        Dropped::SpoolFull,
        Dropped::SpoolError,
        Dropped::KeyPanicked,
    ];

    pub(super) fn label(self) -> &'static str {
        match self {
            Dropped::QueueFull => "queue_full",
            Dropped::QueueBytes => "queue_bytes",
            Dropped::SpoolFull => "spool_full",
            Dropped::SpoolError => "spool_error",
            Dropped::KeyPanicked => "key_panicked",
        }
    }

    /// Completes "audit event dropped: ...".
    pub(super) fn why(self) -> &'static str {
        match self {
            Dropped::QueueFull => "the audit queue is full (capacity in events)",
            Dropped::QueueBytes => "the audit queue is full (capacity in bytes)",
            Dropped::SpoolFull => "the audit spool is full",
            Dropped::SpoolError => "the audit spool failed",
            Dropped::KeyPanicked => "the message key function panicked",
        }
    }
}
