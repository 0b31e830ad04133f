//! Filters over events: the store's queries and `auditlog query`.

use auditlog_core::{AuditEvent, Severity};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Which events to select. Every set criterion must match; text fields match
/// exactly. Events without a timestamp never match a time bound.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Query {
    /// `tenantid` equals this.
    pub tenant: Option<String>,
    /// `subject.userid` equals this.
    pub user: Option<String>,
    /// `action.name` equals this.
    pub action: Option<String>,
    /// `objectref.resource` equals this.
    pub resource: Option<String>,
    /// `action.status` equals this (`SUCCESS`, `FAILURE`).
    pub status: Option<String>,
    /// Severity at least this.
    pub min_severity: Option<Severity>,
    /// Severity at most this.
    pub max_severity: Option<Severity>,
    /// Timestamp at or after this.
    pub since: Option<OffsetDateTime>,
    /// Timestamp before this.
    pub until: Option<OffsetDateTime>,
    /// At most this many results, the newest first.
    pub limit: Option<usize>,
}

/// A time bound that is not RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadTimestamp(pub String);

impl std::fmt::Display for BadTimestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not an RFC 3339 timestamp: {:?}", self.0)
    }
}

impl std::error::Error for BadTimestamp {}

/// Parses an event timestamp (the Python format is RFC 3339).
pub fn parse_timestamp(text: &str) -> Result<OffsetDateTime, BadTimestamp> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| BadTimestamp(text.to_owned()))
}

impl Query {
    /// Matches everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only events of this tenant.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Only events of this user.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Only events with this action name.
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }

    /// Only events about this kind of resource.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// Only events with this outcome (`SUCCESS`, `FAILURE`).
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// Severities from `min` up; events with an unknown severity never match.
    pub fn min_severity(mut self, min: Severity) -> Self {
        self.min_severity = Some(min);
        self
    }

    /// Severities up to `max`; events with an unknown severity never match.
    pub fn max_severity(mut self, max: Severity) -> Self {
        self.max_severity = Some(max);
        self
    }

    /// At or after `since`.
    pub fn since(mut self, since: OffsetDateTime) -> Self {
        self.since = Some(since);
        self
    }

    /// Before `until`.
    pub fn until(mut self, until: OffsetDateTime) -> Self {
        self.until = Some(until);
        self
    }

    /// At most `limit` results, the newest first.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Whether `event` meets every criterion (the limit aside).
    pub fn matches(&self, event: &AuditEvent) -> bool {
        let action = event.action.as_ref();
        let text = |wanted: &Option<String>, actual: Option<&str>| {
            wanted.as_deref().is_none_or(|w| actual == Some(w))
        };
        text(&self.tenant, event.tenantid.as_deref())
            && text(
                &self.user,
                event.subject.as_ref().and_then(|s| s.userid.as_deref()),
            )
            && text(&self.action, action.and_then(|a| a.name.as_deref()))
            && text(
                &self.resource,
                event.objectref.as_ref().and_then(|o| o.resource.as_deref()),
            )
            && text(&self.status, action.and_then(|a| a.status.as_deref()))
            && self.severity_matches(event)
            && self.time_matches(event)
    }

    fn severity_matches(&self, event: &AuditEvent) -> bool {
        if self.min_severity.is_none() && self.max_severity.is_none() {
            return true;
        }
        event.severity().is_some_and(|s| {
            self.min_severity.is_none_or(|min| s >= min)
                && self.max_severity.is_none_or(|max| s <= max)
        })
    }

    fn time_matches(&self, event: &AuditEvent) -> bool {
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        let Some(at) = event
            .timestamp
            .as_deref()
            .and_then(|t| parse_timestamp(t).ok())
        else {
            return false;
        };
        self.since.is_none_or(|since| at >= since) && self.until.is_none_or(|until| at < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auditlog_core::catalogue;

    #[test]
    fn every_criterion_must_match() {
        let event = catalogue::login_failed("alice", "bad password")
            .tenant_id("t-1")
            .timestamp("2026-11-23T08:15:30.123456+00:00")
            .build();
        let at = |t: &str| parse_timestamp(t).unwrap();
        assert!(Query::new().matches(&event));
        assert!(Query::new()
            .tenant("t-1")
            .user("alice")
            .action("auth.login")
            .resource("session")
            .status("FAILURE")
            .min_severity(Severity::Warning)
            .max_severity(Severity::Warning)
            .since(at("2026-11-23T08:15:30.123456Z"))
            .until(at("2026-11-23T09:00:00+01:00").replace_hour(10).unwrap())
            .matches(&event));
        assert!(!Query::new().tenant("t-2").matches(&event));
        assert!(!Query::new().min_severity(Severity::Error).matches(&event));
        assert!(!Query::new()
            .until(at("2026-11-23T08:15:30.123456+00:00"))
            .matches(&event));
        assert!(!Query::new()
            .since(at("2026-11-23T08:15:31Z"))
            .matches(&event));
        let undated = AuditEvent::default();
        assert!(!Query::new()
            .since(at("2000-01-01T00:00:00Z"))
            .matches(&undated));
    }
}
