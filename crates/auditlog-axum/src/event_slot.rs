//! [`EventSlot`]: the one event the background task fills for each record
//! and lends to the sink, and the spare string buffers it refills.
//!
//! Each event used to be a new `Box<AuditEvent>` with a dozen new strings,
//! moved by value into the sink's boxed future and on into the sink: about
//! ten allocations and four copies of the ~900-byte event per request (see
//! docs/performance.md, "CPU per request", sixth round). The slot stays put;
//! the sink borrows it ([`AuditSink::publish_borrowed`]).
//!
//! Nothing of one event can reach the next: after each publish the whole
//! event is taken out and dropped, and only the buffers of the strings the
//! layer itself writes come back, emptied.
//!
//! [`AuditSink::publish_borrowed`]: auditlog_sink::AuditSink::publish_borrowed

use auditlog_core::AuditEvent;

/// The event being filled, and spare buffers for its strings.
#[derive(Debug, Default)]
pub(crate) struct EventSlot {
    event: AuditEvent,
    spare: Spare,
}

/// Emptied string buffers, handed out last in, first out.
#[derive(Debug, Default)]
pub(crate) struct Spare(Vec<String>);

/// Buffers larger than this are dropped rather than kept (a huge user
/// agent would otherwise be held for the task's life).
const KEPT_CAPACITY_MAX: usize = 1024;

impl EventSlot {
    /// The (empty) event to fill and the buffers to fill it with.
    pub(crate) fn parts(&mut self) -> (&mut AuditEvent, &mut Spare) {
        (&mut self.event, &mut self.spare)
    }

    /// The event as the sink left it.
    pub(crate) fn event(&mut self) -> &mut AuditEvent {
        &mut self.event
    }

    /// Empties the slot for the next event: drops everything the last one
    /// held and keeps its layer-written strings' buffers, emptied.
    pub(crate) fn recycle(&mut self) {
        let event = std::mem::take(&mut self.event);
        let spare = &mut self.spare;
        // What is left from before (the sealed hash and signature, unused)
        // is let go: the spare list never grows past one event's strings.
        spare.0.clear();
        // Pushed in the reverse of the order `Record::fill` takes them, so
        // each field gets its own buffer back (already the right size).
        let action = event.action.unwrap_or_default();
        let network = event.network.unwrap_or_default();
        let resource = event.objectref.and_then(|o| o.resource);
        let kubernetes = event.kubernetes.unwrap_or_default();
        for text in [
            action.status,
            action.severity,
            event.timestamp,
            event.specversion,
            event.id,
            network.useragent,
            network.sourceip,
            resource,
            action.method,
            action.name,
            kubernetes.nodename,
            kubernetes.containername,
            kubernetes.podname,
            kubernetes.namespacename,
        ]
        .into_iter()
        .flatten()
        {
            spare.keep(text);
        }
    }

    /// Takes the filled event out (for a caller that keeps it).
    pub(crate) fn take(&mut self) -> AuditEvent {
        std::mem::take(&mut self.event)
    }
}

impl Spare {
    /// A string holding `value`, in a spare buffer when there is one.
    pub(crate) fn text(&mut self, value: &str) -> String {
        self.with(|text| text.push_str(value))
    }

    /// A string holding what `write` appends to an empty one.
    pub(crate) fn with(&mut self, write: impl FnOnce(&mut String)) -> String {
        let mut text = self.0.pop().unwrap_or_default();
        // Emptied when kept; cleared again so that no text can leak even
        // if that changes.
        text.clear();
        write(&mut text);
        text
    }

    fn keep(&mut self, mut text: String) {
        if text.capacity() <= KEPT_CAPACITY_MAX {
            text.clear();
            self.0.push(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auditlog_core::{Action, Network, Security};

    #[test]
    fn a_recycled_slot_is_empty_and_hands_back_emptied_buffers() {
        let mut slot = EventSlot::default();
        let (event, spare) = slot.parts();
        event.id = Some(spare.text("an id"));
        event.tenantid = Some("acme".into());
        event.action = Some(Action {
            name: Some(spare.text("/orders/{id}")),
            method: Some(spare.text("GET")),
            ..Action::default()
        });
        event.network = Some(Network {
            sourceip: None,
            useragent: Some("u".repeat(KEPT_CAPACITY_MAX + 1)),
        });
        event.security = Some(Security {
            hash: Some("h".into()),
            ..Security::default()
        });
        slot.recycle();
        assert_eq!(*slot.event(), AuditEvent::default(), "nothing left of it");
        // The name was pushed last: it comes back first, emptied; the huge
        // user agent was not kept.
        let (_, spare) = slot.parts();
        assert_eq!(spare.0.len(), 3, "name, method and id kept");
        let name = spare.text("x");
        assert_eq!(name, "x");
        assert!(name.capacity() >= "/orders/{id}".len(), "its own buffer");
        assert!(spare.0.iter().all(String::is_empty));
    }

    #[test]
    fn spare_buffers_run_out_into_fresh_strings() {
        let mut spare = Spare::default();
        assert_eq!(spare.text("fresh"), "fresh");
        spare.keep(String::from("old text"));
        assert_eq!(spare.with(|t| t.push('n')), "n");
        assert_eq!(spare.text(""), "");
        // A buffer that somehow came back holding text is cleared before use.
        spare.0.push(String::from("old text"));
        assert_eq!(spare.text("n"), "n");
    }
}
