//! [`WriteAheadService`]: hands the route's write-ahead setting to each
//! request's event.

use std::task::{Context, Poll};

use http::Request;
use tower_service::Service;

use super::setting::WriteAhead;
use crate::context::AuditContext;

/// Sets the write-ahead of each request's event (through its
/// [`AuditContext`]); made by [`WriteAheadLayer`](crate::WriteAheadLayer).
/// Requests that are not audited pass through untouched.
#[derive(Debug, Clone)]
pub struct WriteAheadService<S> {
    inner: S,
    write_ahead: WriteAhead,
}

impl<S> WriteAheadService<S> {
    /// Wraps `inner`, giving its requests `write_ahead`.
    pub fn new(inner: S, write_ahead: WriteAhead) -> Self {
        WriteAheadService { inner, write_ahead }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
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
