//! A fluent builder that fills the envelope the way the Python library does.

use time::OffsetDateTime;

use crate::identity::Identity;
use crate::model::{
    Action, AuditEvent, EventData, Kubernetes, Metadata, Network, ObjectRef, Subject, SPEC_VERSION,
};
use crate::value::Map;

/// How serious an action's outcome was. The v1 wire format knows `INFO`,
/// `WARNING` and `ERROR`; `CRITICAL` is for security events. Ordered by
/// seriousness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// `INFO`: the action went as expected.
    Info,
    /// `WARNING`: refused or failed on the caller's side (4xx).
    Warning,
    /// `ERROR`: failed on the service's side (5xx).
    Error,
    /// `CRITICAL`: a security event that needs attention.
    Critical,
}

impl Severity {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Error => "ERROR",
            Severity::Critical => "CRITICAL",
        }
    }

    /// `ERROR` for 5xx, `WARNING` for 4xx, else `INFO`.
    pub fn from_http_status(status: u16) -> Self {
        match status {
            500.. => Severity::Error,
            400.. => Severity::Warning,
            _ => Severity::Info,
        }
    }

    /// Reads a wire value (case-sensitive, as written on the wire).
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "INFO" => Some(Severity::Info),
            "WARNING" => Some(Severity::Warning),
            "ERROR" => Some(Severity::Error),
            "CRITICAL" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// Whether the action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// `SUCCESS`.
    Success,
    /// `FAILURE`.
    Failure,
}

impl Outcome {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "SUCCESS",
            Outcome::Failure => "FAILURE",
        }
    }

    /// `SUCCESS` below 400, else `FAILURE`.
    pub fn from_http_status(status: u16) -> Self {
        if status < 400 {
            Outcome::Success
        } else {
            Outcome::Failure
        }
    }
}

impl From<Severity> for String {
    fn from(value: Severity) -> Self {
        value.as_str().to_owned()
    }
}

impl From<Outcome> for String {
    fn from(value: Outcome) -> Self {
        value.as_str().to_owned()
    }
}

/// Formats a time as the Python library does: UTC, `isoformat()`,
/// microseconds, `+00:00`; the fraction is left out when it is zero.
pub fn format_timestamp(at: OffsetDateTime) -> String {
    let mut text = String::with_capacity(32);
    push_timestamp(&mut text, at);
    text
}

/// Appends [`format_timestamp`]'s text to `text`: for a caller that reuses
/// one string from event to event (the axum layer's background task).
pub fn push_timestamp(text: &mut String, at: OffsetDateTime) {
    let at = at.to_offset(time::UtcOffset::UTC);
    let Ok(year @ 0..=9999) = u32::try_from(at.year()) else {
        // Keeps `{:04}`'s spelling (a sign, more digits).
        text.push_str(&format_timestamp_slowly(at));
        return;
    };
    // Digits written by hand into a fixed layout on the stack, appended in
    // one copy: once per audited request, where `format!` cost three
    // allocations and 2-3 % of the request's CPU.
    let mut layout = *b"0000-00-00T00:00:00.000000+00:00";
    for (value, end, width) in [
        (year, 4, 4),
        (u32::from(u8::from(at.month())), 7, 2),
        (u32::from(at.day()), 10, 2),
        (u32::from(at.hour()), 13, 2),
        (u32::from(at.minute()), 16, 2),
        (u32::from(at.second()), 19, 2),
        (at.microsecond(), 26, 6),
    ] {
        put_digits(&mut layout[end - width..end], value);
    }
    let layout = std::str::from_utf8(&layout).expect("ASCII digits");
    if at.microsecond() == 0 {
        text.push_str(&layout[..19]);
        text.push_str("+00:00");
    } else {
        text.push_str(layout);
    }
}

/// Writes the last `digits.len()` decimal digits of `value` into `digits`,
/// zero-padded.
fn put_digits(digits: &mut [u8], mut value: u32) {
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// [`format_timestamp`] for years that do not fit in four digits.
fn format_timestamp_slowly(at: OffsetDateTime) -> String {
    let micros = at.microsecond();
    let date_time = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    if micros == 0 {
        format!("{date_time}+00:00")
    } else {
        format!("{date_time}.{micros:06}+00:00")
    }
}

/// Builds an [`AuditEvent`] with a fresh UUID v4 `id`, `specversion` "1.0"
/// and the current `timestamp`.
///
/// ```
/// use auditlog_core::{AuditEvent, Outcome, Severity};
///
/// let event = AuditEvent::builder()
///     .tenant_id("tenant-1")
///     .user_id("alice")
///     .resource("orders")
///     .action_name("orders.create")
///     .method("POST")
///     .severity(Severity::Info)
///     .status(Outcome::Success)
///     .build();
/// assert_eq!(event.specversion.as_deref(), Some("1.0"));
/// assert!(event.canonical_json().contains(r#""userid":"alice""#));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct EventBuilder {
    event: AuditEvent,
}

impl Default for EventBuilder {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $method:ident => $section:ident . $field:ident;)*) => {$(
        $(#[$doc])*
        pub fn $method(mut self, value: impl Into<String>) -> Self {
            self.event.$section.get_or_insert_with(Default::default).$field = Some(value.into());
            self
        }
    )*};
}

impl EventBuilder {
    /// A builder with `id`, `specversion` and `timestamp` filled in.
    pub fn new() -> Self {
        EventBuilder {
            event: AuditEvent {
                id: Some(uuid::Uuid::new_v4().to_string()),
                specversion: Some(SPEC_VERSION.to_owned()),
                timestamp: Some(format_timestamp(OffsetDateTime::now_utc())),
                ..AuditEvent::default()
            },
        }
    }

    /// Sets the `id` (a UUID v4 by default).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.event.id = Some(id.into());
        self
    }

    /// Sets the `timestamp` text as is.
    pub fn timestamp(mut self, timestamp: impl Into<String>) -> Self {
        self.event.timestamp = Some(timestamp.into());
        self
    }

    /// Sets the `timestamp` from a time, in the Python format.
    pub fn timestamp_at(self, at: OffsetDateTime) -> Self {
        self.timestamp(format_timestamp(at))
    }

    /// Sets `tenantid`.
    pub fn tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        self.event.tenantid = Some(tenant_id.into());
        self
    }

    /// Sets `traceid`.
    pub fn trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.event.traceid = Some(trace_id.into());
        self
    }

    /// Sets `transactionid`.
    pub fn transaction_id(mut self, transaction_id: impl Into<String>) -> Self {
        self.event.transactionid = Some(transaction_id.into());
        self
    }

    /// Fills the envelope and `subject` from request identity; fields the
    /// identity lacks are left as they are.
    pub fn identity(mut self, identity: &Identity) -> Self {
        let e = &mut self.event;
        set_if_some(&mut e.tenantid, &identity.tenant_id);
        set_if_some(&mut e.traceid, &identity.trace_id);
        set_if_some(&mut e.transactionid, &identity.transaction_id);
        if identity.user_id.is_some() || identity.requester_type.is_some() {
            let subject = e.subject.get_or_insert_with(Subject::default);
            set_if_some(&mut subject.userid, &identity.user_id);
            set_if_some(&mut subject.user_type, &identity.requester_type);
        }
        self
    }

    setters! {
        /// `subject.userid`
        user_id => subject.userid;
        /// `subject.type`
        user_type => subject.user_type;
        /// `objectref.resource`
        resource => objectref.resource;
        /// `objectref.resourceid`
        resource_id => objectref.resourceid;
        /// `objectref.apiversion`
        api_version => objectref.apiversion;
        /// `action.name`
        action_name => action.name;
        /// `action.method`
        method => action.method;
        /// `action.severity`: a [`Severity`] or any wire string.
        severity => action.severity;
        /// `action.status`: an [`Outcome`] or any wire string.
        status => action.status;
        /// `network.sourceip`
        source_ip => network.sourceip;
        /// `network.useragent`
        user_agent => network.useragent;
    }

    /// `subject.groups`
    pub fn groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let subject = self.event.subject.get_or_insert_with(Subject::default);
        subject.groups = groups.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the whole `subject` section.
    pub fn subject(mut self, subject: Subject) -> Self {
        self.event.subject = Some(subject);
        self
    }

    /// The `kubernetes` section, e.g. [`Kubernetes::from_env`].
    pub fn kubernetes(mut self, kubernetes: Kubernetes) -> Self {
        self.event.kubernetes = Some(kubernetes);
        self
    }

    /// Sets the whole `objectref` section.
    pub fn objectref(mut self, objectref: ObjectRef) -> Self {
        self.event.objectref = Some(objectref);
        self
    }

    /// Sets the whole `action` section.
    pub fn action(mut self, action: Action) -> Self {
        self.event.action = Some(action);
        self
    }

    /// Sets the whole `network` section.
    pub fn network(mut self, network: Network) -> Self {
        self.event.network = Some(network);
        self
    }

    /// `eventdata.requestpayload`
    pub fn request_payload(mut self, payload: Map) -> Self {
        self.eventdata().requestpayload = payload;
        self
    }

    /// `eventdata.responsepayload`
    pub fn response_payload(mut self, payload: Map) -> Self {
        self.eventdata().responsepayload = payload;
        self
    }

    /// `eventdata.metadata.issensitive`
    pub fn sensitive(mut self, sensitive: bool) -> Self {
        self.metadata().issensitive = sensitive;
        self
    }

    /// `eventdata.metadata.compliancecategory`
    pub fn compliance_category(mut self, category: impl Into<String>) -> Self {
        self.metadata().compliancecategory = Some(category.into());
        self
    }

    fn eventdata(&mut self) -> &mut EventData {
        self.event.eventdata.get_or_insert_with(EventData::default)
    }

    fn metadata(&mut self) -> &mut Metadata {
        self.eventdata()
            .metadata
            .get_or_insert_with(Metadata::default)
    }

    /// The event, unsealed.
    pub fn build(self) -> AuditEvent {
        self.event
    }
}

fn set_if_some(target: &mut Option<String>, value: &Option<String>) {
    if value.is_some() {
        target.clone_from(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn timestamps_match_python_isoformat() {
        assert_eq!(
            format_timestamp(datetime!(2026-11-23 08:15:30.123456 UTC)),
            "2026-11-23T08:15:30.123456+00:00"
        );
        assert_eq!(
            format_timestamp(datetime!(2026-11-23 08:15:30 UTC)),
            "2026-11-23T08:15:30+00:00"
        );
        assert_eq!(
            format_timestamp(datetime!(2026-11-23 10:15:30.000001 +02:00)),
            "2026-11-23T08:15:30.000001+00:00"
        );
    }

    #[test]
    fn hand_written_digits_agree_with_format_for_every_kind_of_time() {
        for at in [
            datetime!(0001-01-01 00:00:00 UTC),
            datetime!(0999-09-09 09:09:09.000009 UTC),
            datetime!(1970-01-01 00:00:00.5 UTC),
            datetime!(9999-12-31 23:59:59.999999 UTC),
            datetime!(2026-02-28 23:59:59.999999 -01:00),
        ] {
            assert_eq!(
                format_timestamp(at),
                format_timestamp_slowly(at.to_offset(time::UtcOffset::UTC)),
                "{at}"
            );
        }
    }

    #[test]
    fn hand_written_digits_agree_with_format_across_the_four_digit_years() {
        // Steps of a prime number of seconds and microseconds from year 1
        // to 9999: every field takes many values, the fraction is sometimes
        // zero.
        let first = datetime!(0001-01-01 00:00:00 UTC);
        let last = datetime!(9999-12-31 23:59:59.999999 UTC);
        let step = (last - first) / 20_011;
        let mut at = first;
        let mut without_fraction = 0;
        while at <= last {
            for at in [at, at.replace_microsecond(0).unwrap()] {
                without_fraction += usize::from(at.microsecond() == 0);
                assert_eq!(format_timestamp(at), format_timestamp_slowly(at), "{at}");
            }
            let Some(next) = at.checked_add(step + time::Duration::microseconds(7)) else {
                break;
            };
            at = next;
        }
        assert!(without_fraction > 20_000);
    }

    #[test]
    fn a_pushed_timestamp_is_appended_whole_after_what_the_string_held() {
        // A day before year 0: the slow path's spelling.
        let before_year_0 = OffsetDateTime::from_unix_timestamp(-62_167_219_200 - 86_400).unwrap();
        let mut text = String::from("kept:");
        push_timestamp(&mut text, before_year_0);
        push_timestamp(&mut text, datetime!(2026-11-23 08:15:30 UTC));
        assert_eq!(
            text,
            format!(
                "kept:{}2026-11-23T08:15:30+00:00",
                format_timestamp_slowly(before_year_0)
            )
        );
        assert!(text.starts_with("kept:-001-12-31T00:00:00+00:00"), "{text}");
    }

    #[test]
    fn builder_fills_envelope_with_uuid_v4() {
        let event = EventBuilder::new().build();
        let id = uuid::Uuid::parse_str(event.id.as_deref().unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 4);
        assert_eq!(event.specversion.as_deref(), Some("1.0"));
        assert!(event.timestamp.unwrap().ends_with("+00:00"));
    }

    #[test]
    fn builder_sets_each_section() {
        let event = EventBuilder::new()
            .id("e")
            .timestamp("t")
            .user_id("u")
            .groups(["g"])
            .resource("r")
            .method("GET")
            .severity(Severity::from_http_status(404))
            .status(Outcome::from_http_status(404))
            .source_ip("1.2.3.4")
            .compliance_category("PCI")
            .build();
        assert_eq!(
            event.canonical_json(),
            r#"{"action":{"method":"GET","severity":"WARNING","status":"FAILURE"},"eventdata":{"metadata":{"compliancecategory":"PCI","issensitive":false}},"id":"e","network":{"sourceip":"1.2.3.4"},"objectref":{"resource":"r"},"specversion":"1.0","subject":{"groups":["g"],"userid":"u"},"timestamp":"t"}"#
        );
    }

    #[test]
    fn severity_is_ordered_and_follows_http_status() {
        assert!(Severity::Info < Severity::Warning && Severity::Error < Severity::Critical);
        assert_eq!(Severity::from_http_status(503), Severity::Error);
        assert_eq!(Severity::from_http_status(399), Severity::Info);
        assert_eq!(Outcome::from_http_status(400), Outcome::Failure);
    }
}
