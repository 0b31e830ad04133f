//! [`CaptureOnly`] as a route's layer.

use std::task::{Context, Poll};

use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use crate::context::AuditContext;
use crate::fields::CaptureOnly;

/// As a route's layer: only the named fields of the route's bodies are
/// captured.
impl<S> Layer<S> for CaptureOnly {
    type Service = CaptureOnlyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CaptureOnlyService {
            inner,
            only: self.clone(),
        }
    }
}

/// Sets the allow-list of each request's capture (through its
/// [`AuditContext`]); made by [`CaptureOnly`] as a layer.
#[derive(Debug, Clone)]
pub struct CaptureOnlyService<S> {
    inner: S,
    only: CaptureOnly,
}

impl<S, B> Service<Request<B>> for CaptureOnlyService<S>
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
        if let Some(context) = request.extensions().get::<AuditContext>() {
            context.capture_only(self.only.clone());
        }
        self.inner.call(request)
    }
}
