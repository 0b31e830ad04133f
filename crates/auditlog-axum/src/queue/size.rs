//! What an event costs the queue's byte budget, roughly.

use auditlog_core::{AuditEvent, Map, Value};

/// What an event costs the queue besides its strings: the event, the
/// record around it and the allocator's rounding, roughly.
pub(crate) const EVENT_OVERHEAD: u64 = 1024;

/// The approximate bytes `event` holds: its strings and payloads, not
/// their escaped JSON (which is made later, by the sink).
pub(crate) fn event_bytes(event: &AuditEvent) -> u64 {
    let text = |s: &Option<String>| s.as_ref().map_or(0, |s| s.len() as u64);
    let mut bytes =
        EVENT_OVERHEAD + text(&event.tenantid) + text(&event.traceid) + text(&event.transactionid);
    if let Some(subject) = &event.subject {
        bytes += text(&subject.userid) + text(&subject.user_type);
        bytes += subject.groups.iter().map(|g| g.len() as u64).sum::<u64>();
    }
    if let Some(action) = &event.action {
        bytes += text(&action.name) + text(&action.method);
    }
    if let Some(network) = &event.network {
        bytes += text(&network.sourceip) + text(&network.useragent);
    }
    if let Some(objectref) = &event.objectref {
        bytes += text(&objectref.resource) + text(&objectref.resourceid);
    }
    if let Some(data) = &event.eventdata {
        bytes += map_bytes(&data.requestpayload) + map_bytes(&data.responsepayload);
    }
    bytes
}

/// The approximate bytes a payload holds.
pub(crate) fn map_bytes(map: &Map) -> u64 {
    map.iter()
        .map(|(key, value)| 16 + key.len() as u64 + value_bytes(value))
        .sum()
}

fn value_bytes(value: &Value) -> u64 {
    16 + match value {
        Value::String(s) => s.len() as u64,
        Value::Array(items) => items.iter().map(value_bytes).sum(),
        Value::Object(map) => map_bytes(map),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_count_towards_an_events_size() {
        let small = AuditEvent::builder().tenant_id("acme").build();
        let mut large = small.clone();
        let mut payload = Map::new();
        payload.insert("body".into(), Value::String("x".repeat(64 * 1024)));
        large.eventdata = Some(auditlog_core::EventData {
            requestpayload: payload,
            ..Default::default()
        });
        assert!(event_bytes(&small) < 2048);
        assert!(event_bytes(&large) > 64 * 1024);
    }
}
