//! [`Audit`]: the middleware service.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use std::time::SystemTime;

use auditlog_sink::AuditSink;
use http::{header, Extensions, Request, Response};
use tower_service::Service;

use crate::body::{RequestBody, ResponseBody};
use crate::capture::{content_type, Capture};
use crate::config::{path_segments, ActionName, Config};
use crate::context::AuditContext;
use crate::future::ResponseFuture;
use crate::identity::{self, AuditIdentity, IDENTITY_KEY};
use crate::network::client_ip;
use crate::pending::PendingEvent;
use crate::queue::EventQueue;
use crate::request_text::{Part, RequestText};

/// Audits each request to the wrapped service; made by
/// [`AuditLayer`](crate::AuditLayer).
#[derive(Clone)]
pub struct Audit<S> {
    inner: S,
    config: Arc<Config>,
    queue: Arc<EventQueue>,
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
        Self::from_parts(
            inner,
            Arc::new(Config::new()),
            Arc::new(EventQueue::new(sink)),
        )
    }

    /// Wraps `inner` with a layer's settings and queue.
    pub(crate) fn from_parts(inner: S, config: Arc<Config>, queue: Arc<EventQueue>) -> Self {
        Audit {
            inner,
            config,
            queue,
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
    fn start<B>(&self, request: &mut Request<B>) -> (PendingEvent, Option<Arc<Mutex<Capture>>>) {
        let config = &self.config;
        let headers = request.headers();
        let peer = peer_ip(request.extensions());
        let identity = identity::resolve(
            config.identity_source,
            &config.identity_headers,
            &config.trusted_proxies,
            headers,
            request.extensions(),
            peer,
        );
        identity.count(self.queue.identity_counters());
        let path = request.uri().path();
        let name = match config.action_name {
            ActionName::RouteTemplate => matched_path(request.extensions()).unwrap_or(path),
            ActionName::RawPath => path,
        };
        // Only what the request says, here, copied into one buffer; the
        // strings, the id, the timestamp text and the payloads are made on
        // the background task.
        let user_agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        let resource = path_segments(path).next();
        let mut text = RequestText::with_capacity(
            name.len() + 8 + resource.map_or(0, str::len) + 40 + user_agent.map_or(0, str::len),
        );
        text.set(Part::ActionName, name);
        text.set(Part::Method, request.method().as_str());
        if let Some(resource) = resource {
            text.set(Part::Resource, resource);
        }
        if let Some(ip) = client_ip(peer, headers, &config.trusted_proxies) {
            text.set_display(Part::SourceIp, ip);
        }
        if let Some(user_agent) = user_agent {
            text.set(Part::UserAgent, user_agent);
        }
        let arrived_with =
            (identity.identity != AuditIdentity::default()).then(|| Box::new(identity.identity));
        let capture = config
            .capture
            .then(|| Capture::new(config.capture_limit, content_type(headers)))
            .map(|capture| Arc::new(Mutex::new(capture)));
        let context = AuditContext::attached();
        if let Some(note) = identity.note {
            context.request_detail(IDENTITY_KEY, note);
        }
        request.extensions_mut().insert(context.clone());
        let pending = PendingEvent::new(
            self.queue.clone(),
            self.config.clone(),
            arrived_with,
            text,
            SystemTime::now(),
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
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let method = request.method().clone();
        if self.config.skips(request.uri().path()) {
            self.queue.count_skipped();
            let request = request.map(|body| RequestBody::new(body, None));
            return ResponseFuture::new(self.inner.call(request), None, &method);
        }
        self.queue.ensure_worker();
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
