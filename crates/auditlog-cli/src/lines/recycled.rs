//! One event per line worker, kept from line to line: each line is read
//! into the previous one's buffers (`AuditEvent::parse_into`) instead of
//! allocating some thirty strings and freeing them again.

use std::cell::RefCell;

use auditlog_core::AuditEvent;

thread_local! {
    static EVENT: RefCell<AuditEvent> = RefCell::new(AuditEvent::default());
}

/// Runs `f` with this thread's recycled event (what the last line left in
/// it: read the next line into it with `parse_into` before use).
pub(crate) fn with_recycled_event<T>(f: impl FnOnce(&mut AuditEvent) -> T) -> T {
    EVENT.with_borrow_mut(f)
}
