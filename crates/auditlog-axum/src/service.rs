//! [`Audit`]: the middleware service.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use auditlog_core::AuditEvent;
use auditlog_sink::AuditSink;
use http::{header, Extensions, Request, Response};
use tower_service::Service;

use crate::body::RequestBody;
use crate::capture::Capture;
use crate::context::AuditContext;
use crate::emit::{Pending, Shared};
use crate::future::ResponseFuture;
use crate::layer::{path_segments, ActionName, AuditLayer, Config};
use crate::network::client_ip;

/// Audits each request to the wrapped service; made by [`AuditLayer`].
#[derive(Clone)]
pub struct Audit<S> {
    inner: S,
    config: Arc<Config>,
    shared: Arc<Shared>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Audit<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S> Audit<S> {
    /// Wraps `inner`, publishing to `sink` with the default settings.
    pub fn new(inner: S, sink: impl AuditSink) -> Self {
        Self::from_layer(inner, &AuditLayer::new(sink))
    }

    /// A layer publishing to `sink` (the same as [`AuditLayer::new`]).
    pub fn layer(sink: impl AuditSink) -> AuditLayer {
        AuditLayer::new(sink)
    }

    pub(crate) fn from_layer(inner: S, layer: &AuditLayer) -> Self {
        Audit {
            inner,
            config: layer.config.clone(),
            shared: layer.shared.clone(),
        }
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

    /// The event as far as the request says, and the body capture.
    fn start<B>(&self, request: &mut Request<B>) -> (Pending, Option<Arc<Mutex<Capture>>>) {
        let config = &self.config;
        let headers = request.headers();
        let identity = config.identity_headers.extract(
            headers
                .iter()
                .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?))),
        );
        let path = request.uri().path();
        let name = match config.action_name {
            ActionName::RouteTemplate => matched_path(request.extensions()).unwrap_or(path),
            ActionName::RawPath => path,
        };
        let mut event = AuditEvent::builder()
            .identity(&identity)
            .action_name(name)
            .method(request.method().as_str());
        if let Some(resource) = path_segments(path).next() {
            event = event.resource(resource);
        }
        let peer = peer_ip(request.extensions());
        if let Some(ip) = client_ip(peer, headers, &config.trusted_proxies) {
            event = event.source_ip(ip.to_string());
        }
        if let Some(agent) = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
        {
            event = event.user_agent(agent);
        }
        if let Some(kubernetes) = &config.kubernetes {
            event = event.kubernetes(kubernetes.clone());
        }
        let capture = config
            .capture
            .then(|| Arc::new(Mutex::new(Capture::new(config.capture_limit))));
        let context = AuditContext::attached();
        request.extensions_mut().insert(context.clone());
        let pending = Pending::new(
            self.shared.clone(),
            self.config.clone(),
            event.build(),
            context,
            capture.clone(),
        );
        (pending, capture)
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Audit<S>
where
    S: Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>,
    ResBody: http_body::Body,
{
    type Response = Response<crate::ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let method = request.method().clone();
        if self.config.skips(request.uri().path()) {
            self.shared.count_skipped();
            let request = request.map(|body| RequestBody::new(body, None));
            return ResponseFuture::new(self.inner.call(request), None, &method);
        }
        self.shared.ensure_worker();
        let (pending, capture) = self.start(&mut request);
        let request = request.map(|body| RequestBody::new(body, capture));
        ResponseFuture::new(self.inner.call(request), Some(pending), &method)
    }
}

#[cfg(feature = "axum")]
fn matched_path(extensions: &Extensions) -> Option<&str> {
    extensions
        .get::<axum::extract::MatchedPath>()
        .map(|path| path.as_str())
}

#[cfg(not(feature = "axum"))]
fn matched_path(_extensions: &Extensions) -> Option<&str> {
    None
}

#[cfg(feature = "axum")]
fn peer_ip(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip())
}

#[cfg(not(feature = "axum"))]
fn peer_ip(_extensions: &Extensions) -> Option<IpAddr> {
    None
}
