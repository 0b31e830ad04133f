//! [`WriteAheadLayer`]: a route's own write-ahead setting.

use tower_layer::Layer;

use super::service::WriteAheadService;
use super::setting::WriteAhead;

/// Sets the [`WriteAhead`] of a route's requests, instead of the audit
/// layer's: add it as the route's layer, inside the audit layer.
///
/// ```
/// use auditlog_axum::{AuditLayer, WriteAhead, WriteAheadLayer};
/// use auditlog_sink::JsonLinesSink;
/// use axum::{routing::{get, post}, Router};
///
/// # fn app(sink: JsonLinesSink) -> Router {
/// Router::new()
///     // This route's responses wait for their event ...
///     .route("/transfers", post(|| async { "moved" }).layer(WriteAheadLayer::required()))
///     // ... this one's do not, whatever the audit layer says.
///     .route("/balance", get(|| async { "42" }).layer(WriteAheadLayer::off()))
///     .layer(AuditLayer::new(sink).write_ahead(WriteAhead::required()))
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteAheadLayer {
    write_ahead: WriteAhead,
}

impl WriteAheadLayer {
    /// Gives the route's requests `write_ahead`.
    pub fn new(write_ahead: WriteAhead) -> Self {
        WriteAheadLayer { write_ahead }
    }

    /// The route's responses wait for their event:
    /// [`WriteAhead::required`], with its default timeout and failure policy.
    pub fn required() -> Self {
        WriteAheadLayer::new(WriteAhead::required())
    }

    /// The route's responses do not wait, whatever the audit layer says:
    /// [`WriteAhead::off`].
    pub fn off() -> Self {
        WriteAheadLayer::new(WriteAhead::off())
    }
}

impl From<WriteAhead> for WriteAheadLayer {
    fn from(write_ahead: WriteAhead) -> Self {
        WriteAheadLayer::new(write_ahead)
    }
}

impl<S> Layer<S> for WriteAheadLayer {
    type Service = WriteAheadService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WriteAheadService::new(inner, self.write_ahead)
    }
}
