//! Recording an event durably before its response goes out.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use auditlog_sink::SinkError;
use tokio::sync::oneshot;

use super::setting::{WriteAhead, WriteAheadFailure};
use crate::queue::EventQueue;
use crate::record::Record;

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
pub(crate) fn record(
    queue: Arc<EventQueue>,
    record: Record,
    write_ahead: WriteAhead,
) -> Confirmation {
    let (sender, receiver) = oneshot::channel();
    let confirmation = Confirmation {
        receiver,
        fail_open: write_ahead.fails_open(),
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        let failed = queue.count_write_ahead_failed(None);
        log_failure(failed, "no tokio runtime to record it", write_ahead);
        let _ = sender.send(write_ahead.fails_open());
        return confirmation;
    };
    let in_flight = queue.write_ahead_started();
    runtime.spawn(async move {
        let confirmed = record_durably(&queue, record, write_ahead).await;
        drop(in_flight);
        let _ = sender.send(confirmed);
    });
    confirmation
}

/// Returns whether the handler's response may be sent.
async fn record_durably(queue: &EventQueue, record: Record, write_ahead: WriteAhead) -> bool {
    // A panicking hook loses its event, as on the background task.
    let Ok(event) = catch_unwind(AssertUnwindSafe(|| record.finish())) else {
        let failed = queue.count_write_ahead_failed(None);
        log_failure(failed, "finishing the event panicked", write_ahead);
        return write_ahead.fails_open();
    };
    let durable = queue.sink().publish_durable((*event).clone());
    let result = match tokio::time::timeout(write_ahead.timeout, durable).await {
        Ok(result) => result,
        Err(_) => Err(SinkError::Timeout { undelivered: 1 }),
    };
    match result {
        Ok(()) => {
            queue.count_write_ahead();
            true
        }
        Err(error) => {
            // Queued as usual, so that it is recorded if the sink takes it
            // at all; after a timeout or an I/O error the sink may hold it
            // already: a duplicate (same id), never a loss.
            let failed = queue.count_write_ahead_failed(Some(event));
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
