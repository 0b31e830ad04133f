//! Finding events: a filter builder over the row's columns, pages newest
//! first with a keyset cursor (never OFFSET: a page costs the same deep in
//! the table, and rows added meanwhile do not shift it), and counts per
//! severity and status. Every value is a bound parameter.

use auditlog_core::Severity;
use futures_util::TryStreamExt;
use sqlx::Pool;

use crate::backend::reads::{Param, FOUND_COLUMNS};
use crate::backend::Backend;
use crate::columns::{severity_rank, sortable_time, Columns};
use crate::cursor::{self, Position};
use crate::error::Result;

/// The most rows a page holds, whatever [`Query::limit`] asks.
pub const MAX_PAGE: u32 = 1000;

/// Which rows: every filter set must hold (AND). Times compare the
/// timestamp text (`ts`), which sorts in time order for the UTC timestamps
/// the library writes (`YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`): give times in
/// that form ([`auditlog_core::format_timestamp`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    equal: Vec<(&'static str, String)>,
    min_rank: Option<i32>,
    max_rank: Option<i32>,
    since: Option<String>,
    until: Option<String>,
    text: Option<String>,
    checkpoints: bool,
    limit: u32,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            equal: Vec::new(),
            min_rank: None,
            max_rank: None,
            since: None,
            until: None,
            text: None,
            checkpoints: false,
            limit: 100,
        }
    }
}

/// A row found: its published line (byte for byte) and its columns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditRow {
    /// The row id (recording order).
    pub id: i64,
    /// The published line: verifies as it is.
    pub line: String,
    /// The stream (chain id).
    pub stream: String,
    /// The event's seq; a checkpoint's length.
    pub seq: i64,
    /// True for a checkpoint row.
    pub is_checkpoint: bool,
    /// `id` of the event.
    pub event_id: String,
    /// `timestamp`.
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
}

impl AuditRow {
    pub(crate) fn new(columns: Columns, line: String, id: i64) -> Self {
        AuditRow {
            id,
            line,
            stream: columns.stream,
            seq: columns.seq,
            is_checkpoint: columns.is_checkpoint,
            event_id: columns.event_id,
            ts: columns.ts,
            tenant: columns.tenant,
            user_id: columns.user_id,
            action: columns.action,
            method: columns.method,
            resource: columns.resource,
            resource_id: columns.resource_id,
            severity: columns.severity,
            status: columns.status,
            source_ip: columns.source_ip,
            trace_id: columns.trace_id,
            transaction_id: columns.transaction_id,
            hash: columns.hash,
        }
    }
}

/// One page, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page {
    /// The rows, `ts` descending, then `id` descending (rows without `ts`
    /// first on PostgreSQL, last on SQLite: each database's own order).
    pub rows: Vec<AuditRow>,
    /// Pass to [`page`] for the next page; `None` on the last one.
    pub next: Option<String>,
}

/// Rows per value of a column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// `(severity, rows)`, by severity text (`None`: no severity).
    pub by_severity: Vec<(Option<String>, i64)>,
    /// `(status, rows)`, by status text.
    pub by_status: Vec<(Option<String>, i64)>,
}

macro_rules! equal_filter {
    ($(#[$doc:meta] $name:ident => $column:literal),* $(,)?) => {
        $(
            #[$doc]
            #[must_use]
            pub fn $name(self, value: impl Into<String>) -> Self {
                self.equal($column, value.into())
            }
        )*
    };
}

impl Query {
    /// Every event, 100 a page.
    pub fn new() -> Self {
        Query::default()
    }

    fn equal(mut self, column: &'static str, value: String) -> Self {
        self.equal.retain(|(c, _)| *c != column);
        self.equal.push((column, value));
        self
    }

    equal_filter! {
        /// `tenantid` equals this.
        tenant => "tenant",
        /// `subject.userid` equals this.
        user => "user_id",
        /// `action.name` equals this.
        action => "action",
        /// `objectref.resource` equals this.
        resource => "resource",
        /// `objectref.resourceid` equals this.
        resource_id => "resource_id",
        /// `action.status` equals this (SUCCESS, FAILURE).
        status => "status",
        /// `network.sourceip` equals this.
        source_ip => "source_ip",
        /// `traceid` equals this.
        trace_id => "trace_id",
        /// `transactionid` equals this.
        transaction_id => "transaction_id",
        /// The stream (chain id) is this.
        stream => "stream",
    }

    /// Severity at least this (INFO < WARNING < ERROR < CRITICAL).
    #[must_use]
    pub fn min_severity(mut self, severity: Severity) -> Self {
        self.min_rank = Some(severity_rank(severity.as_str()));
        self
    }

    /// Severity at most this.
    #[must_use]
    pub fn max_severity(mut self, severity: Severity) -> Self {
        self.max_rank = Some(severity_rank(severity.as_str()));
        self
    }

    /// `ts` at or after this (an RFC 3339 time in any offset; other text is
    /// compared as it is).
    #[must_use]
    pub fn since(mut self, ts: impl Into<String>) -> Self {
        self.since = Some(as_ts(ts.into()));
        self
    }

    /// `ts` before this (as [`since`](Self::since)).
    #[must_use]
    pub fn until(mut self, ts: impl Into<String>) -> Self {
        self.until = Some(as_ts(ts.into()));
        self
    }

    /// `action.name` or `objectref.resource` contains this text, ASCII case
    /// ignored; `%`, `_` and `\` in it match themselves.
    #[must_use]
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Checkpoint rows too (left out by default: they are not events).
    #[must_use]
    pub fn with_checkpoints(mut self) -> Self {
        self.checkpoints = true;
        self
    }

    /// At most `rows` a page (1 to [`MAX_PAGE`]).
    #[must_use]
    pub fn limit(mut self, rows: u32) -> Self {
        self.limit = rows.clamp(1, MAX_PAGE);
        self
    }

    /// The page size.
    pub fn page_size(&self) -> u32 {
        self.limit
    }

    /// The filters as a stable text: cursors are tied to it.
    fn fingerprint(&self) -> String {
        let mut copy = self.clone();
        copy.limit = 0;
        format!("{copy:?}")
    }

    /// ` WHERE ...` with the filters, their values appended to `params`.
    pub(crate) fn where_clause(&self, params: &mut Vec<Param>) -> String {
        let mut terms = Vec::new();
        let bind = |params: &mut Vec<Param>, value: Param| {
            params.push(value);
            format!("${}", params.len())
        };
        if !self.checkpoints {
            terms.push("NOT is_checkpoint".to_owned());
        }
        for (column, value) in &self.equal {
            let p = bind(params, Param::Text(value.clone()));
            terms.push(format!("{column} = {p}"));
        }
        if let Some(rank) = self.min_rank {
            let p = bind(params, Param::Int(rank.into()));
            terms.push(format!("severity_rank >= {p}"));
        }
        if let Some(rank) = self.max_rank {
            let p = bind(params, Param::Int(rank.into()));
            terms.push(format!("severity_rank <= {p}"));
        }
        if let Some(since) = &self.since {
            let p = bind(params, Param::Text(since.clone()));
            terms.push(format!("ts >= {p}"));
        }
        if let Some(until) = &self.until {
            let p = bind(params, Param::Text(until.clone()));
            terms.push(format!("ts < {p}"));
        }
        if let Some(text) = &self.text {
            let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
            let a = bind(params, Param::Text(pattern.clone()));
            let b = bind(params, Param::Text(pattern));
            terms.push(format!(
                "(lower(action) LIKE {a} ESCAPE '\\' OR lower(resource) LIKE {b} ESCAPE '\\')"
            ));
        }
        if terms.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", terms.join(" AND "))
        }
    }
}

/// `text` with the LIKE wildcards and the escape character escaped.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The page of `query` after `cursor` (from the previous page's
/// [`Page::next`]; `None` for the first). An altered cursor, or one from
/// another query, is [`Error::BadQuery`](crate::Error::BadQuery).
pub async fn page<DB: Backend>(
    pool: &Pool<DB>,
    query: &Query,
    cursor: Option<&str>,
) -> Result<Page> {
    let fingerprint = query.fingerprint();
    let after = cursor
        .map(|c| cursor::decode(c, &fingerprint))
        .transpose()?;
    // Two segments, timed rows and untimed ones, in the order the database
    // sorts NULL; each read with a condition its `ts` index can seek to.
    let segments = if DB::NULL_TS_FIRST {
        [Segment::Untimed, Segment::Timed]
    } else {
        [Segment::Timed, Segment::Untimed]
    };
    let start = match &after {
        Some(Position { ts: None, .. }) => Segment::Untimed,
        Some(Position { ts: Some(_), .. }) => Segment::Timed,
        None => segments[0],
    };
    let wanted = query.limit as usize + 1;
    let mut rows: Vec<AuditRow> = Vec::new();
    for segment in segments.into_iter().skip_while(|s| *s != start) {
        let from = if segment == start {
            after.as_ref()
        } else {
            None
        };
        let mut params = Vec::new();
        let filters = query.where_clause(&mut params);
        let joiner = if filters.is_empty() {
            " WHERE "
        } else {
            " AND "
        };
        let condition = segment.condition(from, &mut params);
        params.push(Param::Int((wanted - rows.len()) as i64));
        let sql = format!(
            "SELECT {FOUND_COLUMNS} FROM audit_events{filters}{joiner}{condition} \
             ORDER BY ts DESC, id DESC LIMIT ${}",
            params.len()
        );
        let found: Vec<AuditRow> = DB::found(pool, &sql, &params)
            .map_ok(|(columns, line, id)| AuditRow::new(columns, line, id))
            .try_collect()
            .await?;
        rows.extend(found);
        if rows.len() >= wanted {
            break;
        }
    }
    let more = rows.len() > query.limit as usize;
    rows.truncate(query.limit as usize);
    let next = match rows.last() {
        Some(last) if more => Some(cursor::encode(
            &Position {
                ts: last.ts.clone(),
                id: last.id,
            },
            &fingerprint,
        )),
        _ => None,
    };
    Ok(Page { rows, next })
}

/// Rows with a timestamp, or without: a page reads them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    Timed,
    Untimed,
}

impl Segment {
    /// The segment's rows, strictly after `from` (in this segment) in the
    /// order `ts DESC, id DESC`: a range the `ts` indexes seek to (with
    /// `id` the last column of every SQLite index, and PostgreSQL's
    /// incremental sort for ties), so a deep page costs what the first does.
    fn condition(self, from: Option<&Position>, params: &mut Vec<Param>) -> String {
        let mut bind = |value: Param| {
            params.push(value);
            params.len()
        };
        match (self, from) {
            (Segment::Timed, None) => "ts IS NOT NULL".to_owned(),
            (Segment::Timed, Some(from)) => {
                let ts = bind(Param::Text(from.ts.clone().unwrap_or_default()));
                let id = bind(Param::Int(from.id));
                format!("ts IS NOT NULL AND (ts, id) < (${ts}, ${id})")
            }
            (Segment::Untimed, None) => "ts IS NULL".to_owned(),
            (Segment::Untimed, Some(from)) => {
                let id = bind(Param::Int(from.id));
                format!("ts IS NULL AND id < ${id}")
            }
        }
    }
}

/// Rows of `query` per severity and per status (its page size ignored).
pub async fn counts<DB: Backend>(pool: &Pool<DB>, query: &Query) -> Result<Counts> {
    let tally = |column: &str| {
        let mut params = Vec::new();
        let sql = format!(
            "SELECT {column}, count(*) FROM audit_events{} GROUP BY {column} ORDER BY {column}",
            query.where_clause(&mut params)
        );
        (sql, params)
    };
    let (severity_sql, severity_params) = tally("severity");
    let (status_sql, status_params) = tally("status");
    Ok(Counts {
        by_severity: DB::tally(pool, &severity_sql, &severity_params).await?,
        by_status: DB::tally(pool, &status_sql, &status_params).await?,
    })
}

/// A time as the `ts` column holds it (UTC), so that `...Z` and
/// `...-05:00` compare as the instants they name.
fn as_ts(time: String) -> String {
    sortable_time(&time).unwrap_or(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_the_text_match_themselves() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }

    #[test]
    fn a_crafted_cursor_becomes_bound_values_and_the_filters_still_hold() {
        // The check is no secret: anyone can craft a cursor that passes it.
        let query = Query::new().tenant("acme");
        let hostile = "') OR 1=1 --";
        let position = Position {
            ts: Some(hostile.into()),
            id: i64::MIN,
        };
        let crafted = cursor::encode(&position, &query.fingerprint());
        let from = cursor::decode(&crafted, &query.fingerprint()).unwrap();
        let mut params = Vec::new();
        let sql =
            query.where_clause(&mut params) + &Segment::Timed.condition(Some(&from), &mut params);
        assert!(!sql.contains("OR 1=1"), "{sql}");
        assert!(params.contains(&Param::Text(hostile.into())));
        assert!(params.contains(&Param::Int(i64::MIN)));
        assert!(
            params.contains(&Param::Text("acme".into())),
            "the tenant filter holds"
        );
    }

    #[test]
    fn a_time_in_any_offset_filters_as_the_instant_it_names() {
        let eastern = Query::new().since("2026-03-01T23:00:00-05:00");
        let utc = Query::new().since("2026-03-02T04:00:00Z");
        assert_eq!(eastern, utc);
        assert_eq!(eastern.since.as_deref(), Some("2026-03-02T04:00:00+00:00"));
    }

    #[test]
    fn values_are_bound_never_written_into_the_sql() {
        let query = Query::new().tenant("a' OR '1'='1").text("x%");
        let mut params = Vec::new();
        let sql = query.where_clause(&mut params);
        assert!(!sql.contains("OR '1'"), "{sql}");
        assert_eq!(params[0], Param::Text("a' OR '1'='1".into()));
        assert_eq!(params[1], Param::Text(r"%x\%%".into()));
    }
}
