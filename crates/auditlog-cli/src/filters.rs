//! The filters of `auditlog query` and `auditlog export`: the same flags
//! over files and over a database (`--db`), and those only a database's
//! columns answer.

use auditlog_core::Severity;
use auditlog_store::parse_timestamp;

/// Filters every source answers.
#[derive(Debug, clap::Args)]
pub(crate) struct Filters {
    /// `tenantid` equals T.
    #[arg(long, value_name = "T")]
    pub(crate) tenant: Option<String>,
    /// `subject.userid` equals U.
    #[arg(long, value_name = "U")]
    pub(crate) user: Option<String>,
    /// `action.name` equals A.
    #[arg(long, value_name = "A")]
    pub(crate) action: Option<String>,
    /// `objectref.resource` equals R.
    #[arg(long, value_name = "R")]
    pub(crate) resource: Option<String>,
    /// `action.status` equals S (SUCCESS or FAILURE).
    #[arg(long, value_name = "S")]
    pub(crate) status: Option<String>,
    /// Severity at least S: INFO < WARNING < ERROR < CRITICAL.
    #[arg(long, value_name = "S", value_parser = parse_severity)]
    pub(crate) min_severity: Option<Severity>,
    /// At or after this RFC 3339 time.
    #[arg(long, value_name = "TS", value_parser = parse_time)]
    pub(crate) since: Option<time::OffsetDateTime>,
    /// Before this RFC 3339 time.
    #[arg(long, value_name = "TS", value_parser = parse_time)]
    pub(crate) until: Option<time::OffsetDateTime>,
}

/// Filters only a database answers (its columns).
#[cfg(feature = "sql")]
#[derive(Debug, clap::Args)]
pub(crate) struct DbFilters {
    /// `objectref.resourceid` equals ID.
    #[arg(long, value_name = "ID", requires = "db")]
    resource_id: Option<String>,
    /// Severity at most S.
    #[arg(long, value_name = "S", value_parser = parse_severity, requires = "db")]
    max_severity: Option<Severity>,
    /// `network.sourceip` equals IP.
    #[arg(long, value_name = "IP", requires = "db")]
    source_ip: Option<String>,
    /// `traceid` equals ID.
    #[arg(long, value_name = "ID", requires = "db")]
    trace_id: Option<String>,
    /// `transactionid` equals ID.
    #[arg(long, value_name = "ID", requires = "db")]
    transaction_id: Option<String>,
    /// `action.name` or `objectref.resource` contains TEXT (ASCII case
    /// ignored; `%` and `_` match themselves).
    #[arg(long, value_name = "TEXT", requires = "db")]
    text: Option<String>,
    /// The stream (chain id) is ID.
    #[arg(long, value_name = "ID", requires = "db")]
    stream: Option<String>,
}

pub(crate) fn parse_severity(text: &str) -> Result<Severity, String> {
    Severity::parse(&text.to_ascii_uppercase())
        .ok_or_else(|| format!("unknown severity {text:?}: use INFO, WARNING, ERROR or CRITICAL"))
}

pub(crate) fn parse_time(text: &str) -> Result<time::OffsetDateTime, String> {
    parse_timestamp(text).map_err(|e| e.to_string())
}

/// The database query for these filters. Times become the text the
/// library writes (UTC), which the `ts` column compares in time order.
#[cfg(feature = "sql")]
pub(crate) fn sql_query(filters: &Filters, db: &DbFilters) -> auditlog_sql::Query {
    use auditlog_core::format_timestamp;
    use auditlog_sql::Query;
    type Filter = fn(Query, String) -> Query;
    let text_filters: [(&Option<String>, Filter); 11] = [
        (&filters.tenant, Query::tenant),
        (&filters.user, Query::user),
        (&filters.action, Query::action),
        (&filters.resource, Query::resource),
        (&filters.status, Query::status),
        (&db.resource_id, Query::resource_id),
        (&db.source_ip, Query::source_ip),
        (&db.trace_id, Query::trace_id),
        (&db.transaction_id, Query::transaction_id),
        (&db.text, Query::text),
        (&db.stream, Query::stream),
    ];
    let mut query = Query::new();
    for (value, filter) in text_filters {
        if let Some(value) = value {
            query = filter(query, value.clone());
        }
    }
    if let Some(severity) = filters.min_severity {
        query = query.min_severity(severity);
    }
    if let Some(severity) = db.max_severity {
        query = query.max_severity(severity);
    }
    if let Some(since) = filters.since {
        query = query.since(format_timestamp(since));
    }
    if let Some(until) = filters.until {
        query = query.until(format_timestamp(until));
    }
    query
}
