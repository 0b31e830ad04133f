//! The last look at an event before it is handed to the sink.

use auditlog_core::AuditEvent;

/// Called with each finished event, on the background task, before it is
/// published; may change anything in it.
///
/// Implemented by `()` (does nothing) and by any
/// `Fn(&mut AuditEvent) + Send + Sync + 'static`. The layer keeps the hook
/// behind an `Arc<dyn OnEvent>` so that `Audit<S>` stays one type, whatever
/// hook it runs.
///
/// ```
/// use auditlog_axum::AuditLayer;
/// use auditlog_core::AuditEvent;
/// use auditlog_sink::MemorySink;
///
/// let layer = AuditLayer::new(MemorySink::default()).on_event(|event: &mut AuditEvent| {
///     event.objectref.get_or_insert_with(Default::default).apiversion = Some("v2".into());
/// });
/// # let _ = layer;
/// ```
pub trait OnEvent: Send + Sync + 'static {
    /// Adjusts `event` in place.
    fn on_event(&self, event: &mut AuditEvent);
}

impl OnEvent for () {
    fn on_event(&self, _event: &mut AuditEvent) {}
}

impl<F> OnEvent for F
where
    F: Fn(&mut AuditEvent) + Send + Sync + 'static,
{
    fn on_event(&self, event: &mut AuditEvent) {
        self(event)
    }
}
