//! The CloudEvents fields a message carries as Kafka headers, the same for
//! the publisher and for lines relayed from elsewhere.

use auditlog_core::AuditEvent;
use rdkafka::message::{Header, OwnedHeaders};

/// The envelope fields a message carries as headers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Envelope<'a> {
    pub(crate) id: Option<&'a str>,
    specversion: Option<&'a str>,
    time: Option<&'a str>,
    tenant: Option<&'a str>,
}

impl<'a> Envelope<'a> {
    pub(crate) fn of(event: &'a AuditEvent) -> Self {
        Envelope {
            id: event.id.as_deref(),
            specversion: event.specversion.as_deref(),
            time: event.timestamp.as_deref(),
            tenant: event.tenantid.as_deref(),
        }
    }

    /// `content-type` and each `ce_*` field the event has.
    pub(crate) fn headers(self) -> OwnedHeaders {
        let mut headers = OwnedHeaders::new_with_capacity(5).insert(Header {
            key: "content-type",
            value: Some("application/json"),
        });
        for (name, value) in [
            ("ce_id", self.id),
            ("ce_specversion", self.specversion),
            ("ce_time", self.time),
            ("ce_tenantid", self.tenant),
        ] {
            if let Some(value) = value {
                headers = headers.insert(Header {
                    key: name,
                    value: Some(value),
                });
            }
        }
        headers
    }
}
