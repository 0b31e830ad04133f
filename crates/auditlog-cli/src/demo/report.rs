//! How the demo prints requests and the events it read back.

use auditlog_core::AuditEvent;

use super::kafka::Consumed;

/// One line per event: verdict, severity, status, method, action, resource,
/// who, from where.
pub(crate) fn event_line(consumed: &Consumed) -> String {
    let event = match &consumed.verified {
        Ok(verified) => &verified.event,
        Err(error) => {
            return format!("  FAILED  {error}: {}", short(&consumed.line, 100));
        }
    };
    let signed = event
        .security
        .as_ref()
        .is_some_and(|s| s.signature.is_some());
    let verdict = if signed { "signed ok" } else { "hash ok  " };
    let action = event.action.clone().unwrap_or_default();
    let objectref = event.objectref.clone().unwrap_or_default();
    let resource = match (&objectref.resource, &objectref.resourceid) {
        (Some(r), Some(id)) => format!("{r}/{id}"),
        (Some(r), None) => r.clone(),
        _ => "-".into(),
    };
    let mut who = Vec::new();
    if let Some(tenant) = &event.tenantid {
        who.push(format!("tenant={tenant}"));
    }
    if let Some(user) = event.subject.as_ref().and_then(|s| s.userid.as_ref()) {
        who.push(format!("user={user}"));
    }
    if let Some(ip) = event.network.as_ref().and_then(|n| n.sourceip.as_ref()) {
        who.push(format!("ip={ip}"));
    }
    if let Some(note) = incomplete(event) {
        who.push(format!("({note})"));
    }
    if let Some(note) = identity_note(event) {
        who.push(format!("(identity headers: {note})"));
    }
    format!(
        "  {verdict}  {:<7} {:<7}  {:<6} {:<13} {:<10} {}",
        action.severity.as_deref().unwrap_or("-"),
        action.status.as_deref().unwrap_or("-"),
        action.method.as_deref().unwrap_or("-"),
        action.name.as_deref().unwrap_or("-"),
        resource,
        who.join(" ")
    )
}

/// What the middleware noted about identity headers it did not believe.
fn identity_note(event: &AuditEvent) -> Option<String> {
    let data = event.eventdata.as_ref()?;
    Some(
        data.requestpayload
            .get(auditlog_axum::IDENTITY_KEY)?
            .to_json(),
    )
}

fn incomplete(event: &AuditEvent) -> Option<&str> {
    event
        .eventdata
        .as_ref()?
        .responsepayload
        .get(auditlog_axum::INCOMPLETE_KEY)?
        .as_str()
}

/// The event as indented JSON, exactly the fields that were published.
pub(crate) fn pretty(line: &str) -> String {
    serde_json::from_str::<serde_json::Value>(line)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or_else(|_| line.to_owned())
}

/// At most `max` characters of `text`, on one line.
pub(crate) fn short(text: &str, max: usize) -> String {
    let one_line: String = text
        .trim()
        .chars()
        .map(|c| if c == '\n' { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}
