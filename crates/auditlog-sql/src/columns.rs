//! The columns of a row, taken from its sealed event: the same function fills
//! them on insert and checks them on verification, so a column edited by
//! hand (say, the tenant a query filters on) is caught.

use auditlog_core::{AuditEvent, Severity};

/// What a row holds besides its published line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    /// `security.chain`.
    pub stream: String,
    /// `security.seq` of an event, `security.length` of a checkpoint.
    pub seq: i64,
    /// True for a checkpoint (`security.length` set).
    pub is_checkpoint: bool,
    /// `id`.
    pub event_id: String,
    /// `timestamp` in UTC, as the library writes it
    /// ([`auditlog_core::format_timestamp`]), so that the text sorts in time
    /// order whatever offset the event was given with; `None` when it is no
    /// RFC 3339 time (see [`sortable_time`]).
    pub ts: Option<String>,
    /// `tenantid`.
    pub tenant: Option<String>,
    /// `subject.userid`.
    pub user_id: Option<String>,
    /// `action.name`.
    pub action: Option<String>,
    /// `action.method`.
    pub method: Option<String>,
    /// `objectref.resource`.
    pub resource: Option<String>,
    /// `objectref.resourceid`.
    pub resource_id: Option<String>,
    /// `action.severity`.
    pub severity: Option<String>,
    /// The severity as a number for ranges: INFO 0 … CRITICAL 3, others 4.
    pub severity_rank: Option<i32>,
    /// `action.status`.
    pub status: Option<String>,
    /// `network.sourceip`.
    pub source_ip: Option<String>,
    /// `traceid`.
    pub trace_id: Option<String>,
    /// `transactionid`.
    pub transaction_id: Option<String>,
    /// `security.hash`.
    pub hash: String,
    /// `security.prev`.
    pub prev: Option<String>,
    /// `security.link`.
    pub link: String,
}

/// Why a sealed event cannot be a row.
pub(crate) const NOT_CHAINED: &str = "the event is not chained (no chain, id, hash or link)";

impl Columns {
    /// The columns of a chained event or checkpoint; `None` when the event
    /// lacks what every row must have (chain, position, id, hash, link).
    pub fn of(event: &AuditEvent) -> Option<Columns> {
        let security = event.security.as_ref()?;
        let (seq, is_checkpoint) = match (security.seq, security.length) {
            (Some(seq), None) => (seq, false),
            (None, Some(length)) => (length, true),
            _ => return None,
        };
        let action = event.action.as_ref();
        let objectref = event.objectref.as_ref();
        let severity = action.and_then(|a| a.severity.clone());
        Some(Columns {
            stream: security.chain.clone()?,
            seq: i64::try_from(seq).ok()?,
            is_checkpoint,
            event_id: event.id.clone()?,
            ts: event.timestamp.as_deref().and_then(sortable_time),
            tenant: event.tenantid.clone(),
            user_id: event.subject.as_ref().and_then(|s| s.userid.clone()),
            action: action.and_then(|a| a.name.clone()),
            method: action.and_then(|a| a.method.clone()),
            resource: objectref.and_then(|o| o.resource.clone()),
            resource_id: objectref.and_then(|o| o.resourceid.clone()),
            severity_rank: severity.as_deref().map(severity_rank),
            severity,
            status: action.and_then(|a| a.status.clone()),
            source_ip: event.network.as_ref().and_then(|n| n.sourceip.clone()),
            trace_id: event.traceid.clone(),
            transaction_id: event.transactionid.clone(),
            hash: security.hash.clone()?,
            prev: security.prev.clone(),
            link: security.link.clone()?,
        })
    }

    /// The first column that differs from `other`, by name.
    pub(crate) fn first_difference(&self, other: &Columns) -> Option<&'static str> {
        let pairs: [(&'static str, bool); 20] = [
            ("stream", self.stream == other.stream),
            ("seq", self.seq == other.seq),
            ("is_checkpoint", self.is_checkpoint == other.is_checkpoint),
            ("event_id", self.event_id == other.event_id),
            ("ts", self.ts == other.ts),
            ("tenant", self.tenant == other.tenant),
            ("user_id", self.user_id == other.user_id),
            ("action", self.action == other.action),
            ("method", self.method == other.method),
            ("resource", self.resource == other.resource),
            ("resource_id", self.resource_id == other.resource_id),
            ("severity", self.severity == other.severity),
            ("severity_rank", self.severity_rank == other.severity_rank),
            ("status", self.status == other.status),
            ("source_ip", self.source_ip == other.source_ip),
            ("trace_id", self.trace_id == other.trace_id),
            (
                "transaction_id",
                self.transaction_id == other.transaction_id,
            ),
            ("hash", self.hash == other.hash),
            ("prev", self.prev == other.prev),
            ("link", self.link == other.link),
        ];
        pairs
            .into_iter()
            .find(|(_, same)| !same)
            .map(|(name, _)| name)
    }
}

/// An event's `timestamp` as the `ts` column holds it: UTC, in the form the
/// library writes, whose text compares in time order; `None` for text that
/// is no RFC 3339 time. Time filters and retention compare this text: kept
/// verbatim, `2026-03-01T23:00:00-05:00` would sort before midnight UTC and
/// be pruned early, and `0` before every time.
pub(crate) fn sortable_time(timestamp: &str) -> Option<String> {
    let at = time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
        .ok()?;
    Some(auditlog_core::format_timestamp(at))
}

pub(crate) fn severity_rank(severity: &str) -> i32 {
    match Severity::parse(severity) {
        Some(Severity::Info) => 0,
        Some(Severity::Warning) => 1,
        Some(Severity::Error) => 2,
        Some(Severity::Critical) => 3,
        _ => 4,
    }
}
