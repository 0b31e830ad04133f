//! The response future of [`Audit`](crate::Audit).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::{Method, Response, StatusCode};
use pin_project_lite::pin_project;

use crate::body::ResponseBody;
use crate::capture::content_type;
use crate::pending::PendingEvent;
use crate::record::End;
use crate::write_ahead::{self, Confirmation};

pin_project! {
    /// Resolves to the inner service's response with its body wrapped in a
    /// [`ResponseBody`]. Dropped before that (the client went away), it
    /// emits the event as cut short. With write-ahead, it holds the
    /// response back until the event is durably recorded.
    pub struct ResponseFuture<F: Future> {
        #[pin]
        inner: F,
        pending: Option<PendingEvent>,
        head: bool,
        // The response, waiting for its write-ahead.
        held: Option<(F::Output, Confirmation)>,
    }
}

impl<F: Future> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("pending", &self.pending)
            .field("write_ahead", &self.held.is_some())
            .finish_non_exhaustive()
    }
}

impl<F: Future> ResponseFuture<F> {
    pub(crate) fn new(inner: F, pending: Option<PendingEvent>, method: &Method) -> Self {
        ResponseFuture {
            inner,
            pending,
            head: method == Method::HEAD,
            held: None,
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            if let Some((_, confirmation)) = this.held.as_mut() {
                let confirmed = ready!(Pin::new(confirmation).poll(cx));
                let (output, _) = this.held.take().expect("held until confirmed");
                // The event is recorded: the body carries none.
                return Poll::Ready(output.map(|response| match confirmed {
                    true => response.map(|body| ResponseBody::new(body, None, None)),
                    false => service_unavailable(),
                }));
            }
            let response = match ready!(this.inner.as_mut().poll(cx)) {
                Ok(response) => response,
                Err(error) => {
                    if let Some(pending) = this.pending.take() {
                        pending.finish(End::ServiceError, None);
                    }
                    return Poll::Ready(Err(error));
                }
            };
            let mut pending = this.pending.take();
            if let Some(pending) = &mut pending {
                let status = response.status();
                pending.responded(status, *this.head || has_no_body(status));
            }
            if let Some(write_ahead) = pending.as_ref().and_then(PendingEvent::write_ahead) {
                let recorded = pending.take().and_then(PendingEvent::into_write_ahead);
                if let Some((queue, record)) = recorded {
                    let confirmation = write_ahead::record(queue, record, write_ahead);
                    *this.held = Some((Ok(response), confirmation));
                    continue;
                }
            }
            let (parts, body) = response.into_parts();
            let body = ResponseBody::new(body, pending, content_type(&parts.headers));
            return Poll::Ready(Ok(Response::from_parts(parts, body)));
        }
    }
}

/// What a failed write-ahead sends instead of the handler's response.
fn service_unavailable<B: http_body::Body>() -> Response<ResponseBody<B>> {
    let mut response = Response::new(ResponseBody::empty());
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response
}

/// Statuses whose responses carry no body, whatever the body says.
fn has_no_body(status: StatusCode) -> bool {
    status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
}
