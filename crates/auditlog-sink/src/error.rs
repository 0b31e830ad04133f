//! Why a sink refused or could not deliver an event, with the cause kept.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// Why a sink refused or could not deliver an event.
///
/// `Clone` (an error may be reported to several waiters) and `PartialEq`
/// (tests compare outcomes): two [`Io`](SinkError::Io) errors are equal when
/// they say the same.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SinkError {
    /// The queue is full and the overflow policy refused the event (counted).
    QueueFull,
    /// The sink is shut down and accepts nothing more.
    Closed,
    /// `flush` ran out of time with this many events still undelivered.
    Timeout {
        /// Events accepted but neither delivered nor reported failed.
        undelivered: u64,
    },
    /// Writing or delivering failed; the cause is its
    /// [`source`](Error::source). Make one with [`SinkError::io`].
    Io(Arc<dyn Error + Send + Sync>),
    /// [`AuditSink::publish_durable`](crate::AuditSink::publish_durable) on a
    /// sink that cannot make an event durable before returning; the event was
    /// not accepted.
    NotDurable,
    /// A bounded store behind the sink (a durable spool, say) is at its size
    /// bound and its policy refused the event (counted). `store` names it in
    /// messages: "audit {store} full".
    Full {
        /// What is full, e.g. `"spool"`.
        store: &'static str,
    },
}

impl SinkError {
    /// Writing or delivering failed because of `cause`: an error, or a
    /// message (`String`, `&str`) when there is no error value to keep.
    pub fn io(cause: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        SinkError::Io(Arc::from(cause.into()))
    }

    /// As [`io`](Self::io), saying what failed: the message reads
    /// "{what}: {cause}" and the source chain goes on to `cause`.
    pub fn io_in(what: &'static str, cause: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        SinkError::Io(Arc::new(InContext {
            what,
            cause: cause.into(),
        }))
    }
}

/// A cause with what failed: `audit spool: No space left on device`.
#[derive(Debug)]
struct InContext {
    what: &'static str,
    cause: Box<dyn Error + Send + Sync>,
}

impl fmt::Display for InContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.cause)
    }
}

impl Error for InContext {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.cause)
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkError::QueueFull => {
                f.write_str("audit queue full: event refused by the overflow policy")
            }
            SinkError::Closed => f.write_str("audit sink is closed"),
            SinkError::Timeout { undelivered } => {
                write!(f, "timed out with {undelivered} audit events undelivered")
            }
            // The cause is in the message too: most callers log only this line.
            SinkError::Io(cause) => write!(f, "audit sink failed: {cause}"),
            SinkError::NotDurable => f.write_str(
                "audit sink cannot record events durably (write-ahead needs a spool or a file)",
            ),
            SinkError::Full { store } => {
                write!(
                    f,
                    "audit {store} full: event refused by the {store}'s policy"
                )
            }
        }
    }
}

impl Error for SinkError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            SinkError::Io(cause) => Some(&**cause),
            _ => None,
        }
    }
}

impl PartialEq for SinkError {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (SinkError::QueueFull, SinkError::QueueFull)
            | (SinkError::Closed, SinkError::Closed)
            | (SinkError::NotDurable, SinkError::NotDurable) => true,
            (SinkError::Timeout { undelivered: a }, SinkError::Timeout { undelivered: b }) => {
                a == b
            }
            (SinkError::Io(a), SinkError::Io(b)) => a.to_string() == b.to_string(),
            (SinkError::Full { store: a }, SinkError::Full { store: b }) => a == b,
            _ => false,
        }
    }
}

impl Eq for SinkError {}

impl From<std::io::Error> for SinkError {
    fn from(error: std::io::Error) -> Self {
        SinkError::io(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_io_failure_keeps_its_cause() {
        let error = SinkError::from(std::io::Error::other("disk full"));
        assert_eq!(error.to_string(), "audit sink failed: disk full");
        let cause = error.source().expect("a source");
        assert_eq!(cause.to_string(), "disk full");
        assert!(cause.downcast_ref::<std::io::Error>().is_some());
        assert_eq!(error, SinkError::io("disk full"));
    }

    #[test]
    fn context_goes_in_the_message_and_the_cause_stays_reachable() {
        let error = SinkError::io_in("audit spool", std::io::Error::other("EIO"));
        assert_eq!(error.to_string(), "audit sink failed: audit spool: EIO");
        let context = error.source().expect("the context");
        let cause = context.source().expect("the cause");
        assert!(cause.downcast_ref::<std::io::Error>().is_some());
    }
}
