//! The response future of [`Audit`](crate::Audit).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::{Method, Response, StatusCode};
use pin_project_lite::pin_project;

use crate::body::ResponseBody;
use crate::emit::{End, Pending};

pin_project! {
    /// Resolves to the inner service's response with its body wrapped in a
    /// [`ResponseBody`]. Dropped before that (the client went away), it
    /// emits the event as cut short.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        pending: Option<Pending>,
        head: bool,
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, pending: Option<Pending>, method: &Method) -> Self {
        ResponseFuture {
            inner,
            pending,
            head: method == Method::HEAD,
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
        let this = self.project();
        match ready!(this.inner.poll(cx)) {
            Ok(response) => {
                let mut pending = this.pending.take();
                if let Some(pending) = &mut pending {
                    let status = response.status();
                    pending.responded(status, *this.head || has_no_body(status));
                }
                Poll::Ready(Ok(response.map(|body| ResponseBody::new(body, pending))))
            }
            Err(error) => {
                if let Some(pending) = this.pending.take() {
                    pending.finish(End::ServiceError, None);
                }
                Poll::Ready(Err(error))
            }
        }
    }
}

/// Statuses whose responses carry no body, whatever the body says.
fn has_no_body(status: StatusCode) -> bool {
    status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
}
