//! Event assembly: a finished exchange ([`Record`]) and how it becomes its
//! event, on the background task (or the write-ahead's).

use std::sync::Arc;
use std::time::SystemTime;

use auditlog_core::{
    push_timestamp, AuditEvent, Kubernetes, Metadata, Outcome, Severity, Subject, Value,
    SPEC_VERSION,
};
use http::StatusCode;
use time::OffsetDateTime;

use crate::capture::Captured;
use crate::config::Config;
use crate::context::Enrichment;
use crate::event_slot::{EventSlot, Spare};
use crate::identity::AuditIdentity;
use crate::payload::Rules;
use crate::queue::{map_bytes, EVENT_OVERHEAD};
use crate::request_text::RequestText;

/// The key in `eventdata.responsepayload` that marks an event whose
/// exchange did not end normally; its value says how it ended.
pub const INCOMPLETE_KEY: &str = "_incomplete";

/// The key in `eventdata.responsepayload` that marks a write-ahead event
/// recorded with response capture on: its response body could not be in it.
pub const WRITE_AHEAD_KEY: &str = "_writeahead";

/// The value of [`WRITE_AHEAD_KEY`].
const WRITE_AHEAD_NOTE: &str = "recorded before the response body was sent: body not captured";

/// How the exchange ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The response body was sent to its end.
    Complete,
    /// The response body was dropped before its end: the client went away.
    DuringBody,
    /// The response future was dropped: the client went away first.
    BeforeResponse,
    /// The handler panicked and nothing caught it.
    Panicked,
    /// The inner service returned an error.
    ServiceError,
    /// The response body yielded an error.
    BodyError,
}

impl End {
    fn note(self) -> Option<&'static str> {
        Some(match self {
            End::Complete => return None,
            End::DuringBody => "client disconnected during the response body",
            End::BeforeResponse => "client disconnected before the response",
            End::Panicked => "handler panicked",
            End::ServiceError => "service error",
            End::BodyError => "response body error",
        })
    }
}

/// A finished exchange; the background task turns it into the event.
pub(crate) struct Record {
    pub(crate) config: Arc<Config>,
    /// The identity the request arrived with, if it said any.
    pub(crate) identity: Option<Box<AuditIdentity>>,
    /// The request's own text, made into the event's fields by `finish`.
    pub(crate) text: RequestText,
    /// When the request arrived: the event's timestamp.
    pub(crate) at: SystemTime,
    pub(crate) status: Option<StatusCode>,
    pub(crate) end: End,
    /// Boxed, as the fields below: a record moves a pointer, not the body's
    /// hash state.
    pub(crate) request: Option<Box<Captured>>,
    pub(crate) response: Option<Box<Captured>>,
    /// Recorded at the response head, before its body.
    pub(crate) write_ahead: bool,
    /// What the handler set, if anything.
    pub(crate) enrichment: Option<Box<Enrichment>>,
}

impl Record {
    /// Roughly what it holds: the event's strings, the captured bodies (as
    /// allocated) and the handler's details.
    pub(crate) fn approx_bytes(&self) -> u64 {
        let captured =
            |c: &Option<Box<Captured>>| c.as_ref().map_or(0, |c| c.bytes.capacity() as u64);
        EVENT_OVERHEAD
            + self.identity.as_ref().map_or(0, |i| i.approx_bytes())
            + self.text.bytes()
            + captured(&self.request)
            + captured(&self.response)
            + self.enrichment.as_ref().map_or(0, |e| {
                map_bytes(&e.request_details) + map_bytes(&e.response_details)
            })
    }

    /// The event, on its own: for a caller that keeps it (the write-ahead).
    pub(crate) fn finish(self) -> Box<AuditEvent> {
        let mut slot = EventSlot::default();
        self.fill(&mut slot);
        Box::new(slot.take())
    }

    /// Makes the event in `slot` (emptied by its last `recycle`), its
    /// strings in the slot's spare buffers, in the order `recycle` keeps
    /// them.
    pub(crate) fn fill(self, slot: &mut EventSlot) {
        let (event, spare) = slot.parts();
        let Record {
            config,
            identity,
            text,
            at,
            status,
            end,
            request,
            response,
            write_ahead,
            enrichment,
        } = self;
        let e = enrichment.map(|e| *e).unwrap_or_default();
        let (severity, outcome) = match (end, status) {
            (End::Complete | End::DuringBody, Some(status)) => (
                Severity::from_http_status(status.as_u16()),
                Outcome::from_http_status(status.as_u16()),
            ),
            // Like nginx's 499: the client closed the request.
            (End::BeforeResponse, _) => (Severity::Warning, Outcome::Failure),
            _ => (Severity::Error, Outcome::Failure),
        };
        // Made here, not on the request path: allocated and freed on the
        // background task's thread (see docs/performance.md, "CPU per
        // request").
        event.kubernetes = config.kubernetes.as_ref().map(|k| {
            let mut text = |value: &Option<String>| value.as_deref().map(|v| spare.text(v));
            Kubernetes {
                namespacename: text(&k.namespacename),
                podname: text(&k.podname),
                containername: text(&k.containername),
                nodename: text(&k.nodename),
            }
        });
        if let Some(identity) = identity {
            identity.apply(event);
        }
        text.apply(event, spare);
        // A fresh id (UUID v4), the spec version and the arrival time: what
        // `AuditEvent::builder()` sets, without its own clock read and
        // timestamp text, replaced here by the arrival's.
        event.id = Some(new_event_id(spare));
        event.specversion = Some(spare.text(SPEC_VERSION));
        event.timestamp = Some(spare.with(|text| push_timestamp(text, OffsetDateTime::from(at))));
        let action = event.action.get_or_insert_with(Default::default);
        action.severity = Some(spare.text(severity.as_str()));
        action.status = Some(spare.text(outcome.as_str()));
        if let Some(name) = e.action_name {
            action.name = Some(name);
        }

        // Bodies and handler details are redacted; markers, added last,
        // are the middleware's own and never are.
        let rules = Rules {
            redaction: &config.redaction,
            raw_text: config.raw_text,
            only: e.capture_only.as_ref(),
        };
        let request = request.map(|c| rules.payload(*c)).unwrap_or_default();
        let response = response.map(|c| rules.payload(*c)).unwrap_or_default();
        let (mut request_details, mut response_details) = (e.request_details, e.response_details);
        let redacted = request.redacted
            | response.redacted
            | config.redaction.redact_map(&mut request_details)
            | config.redaction.redact_map(&mut response_details);
        let (mut request_payload, mut response_payload) = (request.map, response.map);
        request_payload.extend(request_details);
        response_payload.extend(response_details);
        if let Some(note) = end.note() {
            response_payload.insert(INCOMPLETE_KEY.into(), Value::from(note));
        }
        if write_ahead && config.capture {
            response_payload.insert(WRITE_AHEAD_KEY.into(), Value::from(WRITE_AHEAD_NOTE));
        }

        if e.resource.is_some() || e.resource_id.is_some() {
            let objectref = event.objectref.get_or_insert_with(Default::default);
            if e.resource.is_some() {
                objectref.resource = e.resource;
            }
            if e.resource_id.is_some() {
                objectref.resourceid = e.resource_id;
            }
        }
        if let Some(identity) = e.identity {
            identity.apply(event);
        }
        if let Some(subject) = e.subject {
            event.subject = Some(subject);
        }
        if let Some(user_id) = e.user_id {
            event.subject.get_or_insert_with(Subject::default).userid = Some(user_id);
        }

        // What needed redacting was sensitive, whatever the settings say.
        let sensitive = redacted || e.sensitive.unwrap_or(config.sensitive);
        let category = e
            .compliance_category
            .or_else(|| config.compliance_category.clone());
        let metadata = (sensitive || category.is_some()).then_some(Metadata {
            issensitive: sensitive,
            compliancecategory: category,
        });
        if metadata.is_some() || !request_payload.is_empty() || !response_payload.is_empty() {
            let data = event.eventdata.get_or_insert_with(Default::default);
            data.requestpayload = request_payload;
            data.responsepayload = response_payload;
            data.metadata = metadata;
        }
        config.hook.on_event(event);
    }
}

/// A UUID v4 in its lowercase hyphenated text, written straight into a
/// spare string (no formatter).
fn new_event_id(spare: &mut Spare) -> String {
    let mut text = [0; uuid::fmt::Hyphenated::LENGTH];
    spare.text(uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record is moved half a dozen times on its way to the background
    /// task (into the queue's slot, out into the batch, ...): what the
    /// handler set and the event itself stay behind pointers.
    #[test]
    fn a_record_stays_small_enough_to_move_cheaply() {
        let size = std::mem::size_of::<Record>();
        assert!(size <= 384, "Record is {size} bytes");
    }

    #[test]
    fn event_ids_are_distinct_lowercase_uuid_v4_text() {
        let mut spare = Spare::default();
        let (a, b) = (new_event_id(&mut spare), new_event_id(&mut spare));
        assert_ne!(a, b);
        for id in [a, b] {
            let parsed = uuid::Uuid::parse_str(&id).expect("a UUID");
            assert_eq!(parsed.get_version_num(), 4);
            assert_eq!(id, parsed.to_string(), "the text `Uuid::to_string` gives");
        }
    }
}
