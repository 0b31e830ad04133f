//! Bodies that pass every frame through unchanged, copying data up to the
//! capture cap; the response body emits the event when it ends or is dropped.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{ready, Context, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::capture::Capture;
use crate::pending::PendingEvent;
use crate::record::End;

pin_project! {
    /// The request body as the inner service sees it: the original body,
    /// with the first bytes copied when payload capture is on.
    #[derive(Debug)]
    pub struct RequestBody<B> {
        #[pin]
        inner: B,
        capture: Option<Arc<Mutex<Capture>>>,
    }
}

impl<B> RequestBody<B> {
    pub(crate) fn new(inner: B, capture: Option<Arc<Mutex<Capture>>>) -> Self {
        RequestBody { inner, capture }
    }

    /// The original body.
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B: Body> Body for RequestBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if let (Some(capture), Some(Ok(frame))) = (this.capture.as_ref(), &frame) {
            if let Some(data) = frame.data_ref() {
                capture
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .copy_from(data);
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// The response body as the client gets it: the original body, frame
    /// by frame. The request's event is emitted when it ends, fails, or is
    /// dropped early (then marked as cut short). Empty when a failed
    /// write-ahead replaced the response.
    pub struct ResponseBody<B: Body> {
        #[pin]
        inner: Option<B>,
        state: Option<BodyState>,
    }

    impl<B: Body> PinnedDrop for ResponseBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(state) = this.state.take() {
                let ended = this.inner.as_pin_mut().is_none_or(|inner| inner.is_end_stream());
                let end = if state.pending.is_bodiless() || ended {
                    End::Complete
                } else {
                    End::DuringBody
                };
                state.pending.finish(end, state.capture);
            }
        }
    }
}

struct BodyState {
    pending: PendingEvent,
    capture: Option<Capture>,
}

impl<B: Body> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("audited", &self.state.is_some())
            .finish_non_exhaustive()
    }
}

impl<B: Body> ResponseBody<B> {
    /// `content_type`: the response's, for its capture.
    pub(crate) fn new(inner: B, pending: Option<PendingEvent>, content_type: Option<&str>) -> Self {
        let state = pending.map(|pending| BodyState {
            capture: pending
                .capture_limit()
                .map(|limit| Capture::new(limit, content_type)),
            pending,
        });
        ResponseBody {
            inner: Some(inner),
            state,
        }
    }

    /// No body, no event.
    pub(crate) fn empty() -> Self {
        ResponseBody {
            inner: None,
            state: None,
        }
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let Some(mut inner) = this.inner.as_pin_mut() else {
            return Poll::Ready(None);
        };
        let frame = ready!(inner.as_mut().poll_frame(cx));
        let Some(state) = this.state.as_mut() else {
            return Poll::Ready(frame);
        };
        let end = match &frame {
            Some(Ok(frame)) => {
                if let (Some(capture), Some(data)) = (state.capture.as_mut(), frame.data_ref()) {
                    capture.copy_from(data);
                }
                // hyper stops polling once a body says it has ended.
                inner.is_end_stream().then_some(End::Complete)
            }
            Some(Err(_)) => Some(End::BodyError),
            None => Some(End::Complete),
        };
        if let Some(end) = end {
            if let Some(state) = this.state.take() {
                state.pending.finish(end, state.capture);
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}
