//! What a handler can add to, or take from, its request's event.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use auditlog_core::{Map, Subject, Value};

use crate::fields::CaptureOnly;
use crate::identity::AuditIdentity;
use crate::write_ahead::setting::WriteAhead;

/// A handle on the audit event of the current request, put in the request
/// extensions by [`Audit`](crate::Audit).
///
/// Handlers take it as an extractor (feature `axum`) or from
/// `request.extensions()`, and enrich or suppress the event. What they set
/// wins over what the middleware derived; payload details are merged into
/// the captured payloads (and redacted like them). When the request is not
/// audited (skipped path, no layer) the handle is detached and every call
/// is a no-op.
///
/// ```
/// use auditlog_axum::AuditContext;
///
/// async fn delete_order(audit: AuditContext) -> &'static str {
///     audit.set_resource_id("42");
///     audit.set_action_name("orders.delete");
///     audit.request_detail("reason", "customer request");
///     "deleted"
/// }
/// # let _ = delete_order;
/// ```
#[derive(Debug, Clone, Default)]
pub struct AuditContext {
    /// The enrichment is made when the handler first sets something: a
    /// request whose handler sets nothing allocates a few bytes here and
    /// hands nothing on.
    inner: Option<Arc<Mutex<Option<Box<Enrichment>>>>>,
}

/// Handler overrides, applied when the event is finished.
#[derive(Debug, Default)]
pub(crate) struct Enrichment {
    pub(crate) suppressed: bool,
    pub(crate) action_name: Option<String>,
    pub(crate) resource: Option<String>,
    pub(crate) resource_id: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) subject: Option<Subject>,
    pub(crate) sensitive: Option<bool>,
    pub(crate) compliance_category: Option<String>,
    pub(crate) request_details: Map,
    pub(crate) response_details: Map,
    pub(crate) write_ahead: Option<WriteAhead>,
    pub(crate) capture_only: Option<CaptureOnly>,
    pub(crate) identity: Option<AuditIdentity>,
}

impl AuditContext {
    pub(crate) fn attached() -> Self {
        AuditContext {
            inner: Some(Arc::default()),
        }
    }

    /// A handle that belongs to no event: every call is a no-op.
    pub fn detached() -> Self {
        AuditContext::default()
    }

    /// Whether this request's event will be emitted (it is audited and not
    /// suppressed).
    pub fn is_active(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|inner| !lock(inner).as_ref().is_some_and(|e| e.suppressed))
    }

    fn with(&self, f: impl FnOnce(&mut Enrichment)) {
        if let Some(inner) = &self.inner {
            f(lock(inner).get_or_insert_with(Box::default));
        }
    }

    /// Emits no event for this request (counted as suppressed).
    pub fn suppress(&self) {
        self.with(|e| e.suppressed = true);
    }

    /// `action.name`, instead of the route template.
    pub fn set_action_name(&self, name: impl Into<String>) {
        self.with(|e| e.action_name = Some(name.into()));
    }

    /// `objectref.resource`, instead of the first path segment.
    pub fn set_resource(&self, resource: impl Into<String>) {
        self.with(|e| e.resource = Some(resource.into()));
    }

    /// `objectref.resourceid`.
    pub fn set_resource_id(&self, id: impl Into<String>) {
        self.with(|e| e.resource_id = Some(id.into()));
    }

    /// `subject.userid`, e.g. once the handler authenticated the caller.
    pub fn set_user_id(&self, user_id: impl Into<String>) {
        self.with(|e| e.user_id = Some(user_id.into()));
    }

    /// The identity the service vouches for, replacing what the request
    /// arrived with (headers or an attached [`AuditIdentity`]);
    /// [`set_subject`](Self::set_subject) and
    /// [`set_user_id`](Self::set_user_id) still win over its subject.
    /// [`AuditIdentity::attach_to`] calls it for an authentication layer
    /// inside the audit layer.
    pub fn set_identity(&self, identity: AuditIdentity) {
        self.with(|e| e.identity = Some(identity));
    }

    /// The whole `subject`, replacing what the headers said.
    pub fn set_subject(&self, subject: Subject) {
        self.with(|e| e.subject = Some(subject));
    }

    /// `eventdata.metadata.issensitive` for this event.
    pub fn set_sensitive(&self, sensitive: bool) {
        self.with(|e| e.sensitive = Some(sensitive));
    }

    /// `eventdata.metadata.compliancecategory` for this event.
    pub fn set_compliance_category(&self, category: impl Into<String>) {
        self.with(|e| e.compliance_category = Some(category.into()));
    }

    /// A member of `eventdata.requestpayload` (kept even when capture is off).
    pub fn request_detail(&self, key: impl Into<String>, value: impl Into<Value>) {
        self.with(|e| {
            e.request_details.insert(key.into(), value.into());
        });
    }

    /// A member of `eventdata.responsepayload` (kept even when capture is off).
    pub fn response_detail(&self, key: impl Into<String>, value: impl Into<Value>) {
        self.with(|e| {
            e.response_details.insert(key.into(), value.into());
        });
    }

    /// Whether this request's response waits until its event is durably
    /// recorded, instead of what the layer says; what the
    /// [`WriteAheadLayer`](crate::WriteAheadLayer) sets. Takes effect when set before the
    /// handler returns its response.
    pub fn set_write_ahead(&self, write_ahead: WriteAhead) {
        self.with(|e| e.write_ahead = Some(write_ahead));
    }

    /// Captures only the named fields of this request's bodies, instead of
    /// all of them; what the [`CaptureOnly`] route layer sets.
    pub fn capture_only(&self, only: CaptureOnly) {
        self.with(|e| e.capture_only = Some(only));
    }

    /// What [`set_write_ahead`](Self::set_write_ahead) set, if anything.
    pub(crate) fn write_ahead(&self) -> Option<WriteAhead> {
        self.inner
            .as_ref()
            .and_then(|inner| lock(inner).as_ref()?.write_ahead)
    }

    /// Takes what the handler set: `None` when it set nothing (the common
    /// case). The handle is detached afterwards.
    pub(crate) fn take(&mut self) -> Option<Box<Enrichment>> {
        let inner = self.inner.take()?;
        let taken = lock(&inner).take();
        taken
    }
}

// Here rather than in `identity`, so that module needs nothing of this one.
impl AuditIdentity {
    /// Hands this identity to the audit layer: inserts it into the request
    /// `extensions` (where the audit layer reads it when the request
    /// arrives, and handlers may too) and, when the audit layer already
    /// saw the request (this code runs inside it), sets it on the request's
    /// [`AuditContext`].
    pub fn attach_to(self, extensions: &mut http::Extensions) {
        if let Some(context) = extensions.get::<AuditContext>() {
            context.set_identity(self.clone());
        }
        extensions.insert(self);
    }
}

fn lock(inner: &Mutex<Option<Box<Enrichment>>>) -> MutexGuard<'_, Option<Box<Enrichment>>> {
    inner.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(feature = "axum")]
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for AuditContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<AuditContext>()
            .cloned()
            .unwrap_or_default())
    }
}
