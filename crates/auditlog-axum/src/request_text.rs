//! [`RequestText`]: what the request itself says for its event (action
//! name, method, resource, client address, user agent), copied into one
//! buffer on the request path and made into the event's strings on the
//! background task. The buffer is inline up to `INLINE` bytes: no
//! allocation on the request's thread instead of five strings, each freed
//! on another thread, which glibc's allocator makes pay on both sides (a
//! tenth of an audited request's CPU before this; see
//! docs/performance.md, "CPU per request").

use std::fmt::Write;

use auditlog_core::{AuditEvent, Network, ObjectRef};

use crate::event_slot::Spare;
use crate::inline_text::InlineText;

/// The parts, in the order of `RequestText::ends`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Part {
    ActionName,
    Method,
    Resource,
    SourceIp,
    UserAgent,
}

const PARTS: usize = 5;

/// The request's own text for its event.
#[derive(Debug, Default)]
pub(crate) struct RequestText {
    text: InlineText,
    /// Where each part starts and ends in `text`; `None` when absent.
    spans: [Option<(u32, u32)>; PARTS],
}

impl RequestText {
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        RequestText {
            text: InlineText::with_capacity(bytes),
            spans: [None; PARTS],
        }
    }

    pub(crate) fn set(&mut self, part: Part, value: &str) {
        self.set_with(part, |text| text.push_str(value));
    }

    /// Sets `part` to what `write` appends (e.g. an address, formatted in
    /// place).
    pub(crate) fn set_display(&mut self, part: Part, value: impl std::fmt::Display) {
        self.set_with(part, |text| {
            let _ = write!(text, "{value}");
        });
    }

    fn set_with(&mut self, part: Part, write: impl FnOnce(&mut InlineText)) {
        let start = self.text.len();
        write(&mut self.text);
        // Beyond 4 GiB of headers the part is left out rather than cut.
        self.spans[part as usize] = match (u32::try_from(start), u32::try_from(self.text.len())) {
            (Ok(start), Ok(end)) => Some((start, end)),
            _ => None,
        };
    }

    /// The part's text, cut from `text` (the whole buffer, read once by the
    /// caller rather than checked as UTF-8 again per part), in a spare
    /// string.
    fn get(&self, text: &str, part: Part, spare: &mut Spare) -> Option<String> {
        self.spans[part as usize]
            .map(|(start, end)| spare.text(&text[start as usize..end as usize]))
    }

    /// The bytes it holds beyond the record itself, for the queue's budget.
    pub(crate) fn bytes(&self) -> u64 {
        self.text.heap_bytes().max(self.text.len()) as u64
    }

    /// Writes the parts into `event` (before anything the handler set),
    /// in the order of `Part`.
    pub(crate) fn apply(&self, event: &mut AuditEvent, spare: &mut Spare) {
        let text = self.text.as_str();
        let name = self.get(text, Part::ActionName, spare);
        let method = self.get(text, Part::Method, spare);
        if name.is_some() || method.is_some() {
            let action = event.action.get_or_insert_with(Default::default);
            action.name = name;
            action.method = method;
        }
        if let Some(resource) = self.get(text, Part::Resource, spare) {
            event.objectref = Some(ObjectRef {
                resource: Some(resource),
                ..ObjectRef::default()
            });
        }
        let sourceip = self.get(text, Part::SourceIp, spare);
        let useragent = self.get(text, Part::UserAgent, spare);
        if sourceip.is_some() || useragent.is_some() {
            event.network = Some(Network {
                sourceip,
                useragent,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_come_back_as_the_events_fields_and_absent_ones_stay_absent() {
        let mut text = RequestText::with_capacity(16);
        text.set(Part::ActionName, "/orders/{id}");
        text.set(Part::Method, "GET");
        text.set_display(Part::SourceIp, std::net::Ipv4Addr::new(10, 0, 0, 7));
        let mut event = AuditEvent::default();
        text.apply(&mut event, &mut Spare::default());
        let action = event.action.expect("action");
        assert_eq!(action.name.as_deref(), Some("/orders/{id}"));
        assert_eq!(action.method.as_deref(), Some("GET"));
        assert!(event.objectref.is_none(), "no resource was set");
        let network = event.network.expect("network");
        assert_eq!(network.sourceip.as_deref(), Some("10.0.0.7"));
        assert_eq!(network.useragent, None);
        assert!(text.bytes() >= "/orders/{id}GET10.0.0.7".len() as u64);
    }
}
