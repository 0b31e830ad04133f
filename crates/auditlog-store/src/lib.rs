//! Keep, query and watch audit events in process: a bounded in-memory store
//! with query, export and subscriptions, plus counters and on-emit hooks
//! around any [`AuditSink`](auditlog_sink::AuditSink).
//!
//! Depend on this crate for tests that assert "this request emitted this
//! event", for an admin page of recent events, or to forward events in real
//! time. It needs no async runtime and no Kafka.
//!
//! # Example
//!
//! ```
//! use auditlog_core::{catalogue, Severity};
//! use auditlog_store::{MemoryStore, Query};
//!
//! let store = MemoryStore::new(10_000);
//! let feed = store.subscribe(100);
//! store.insert(catalogue::login_failed("alice", "bad password").tenant_id("t-1").build());
//! store.insert(catalogue::logout("bob").tenant_id("t-1").build());
//!
//! let failures = store.query(&Query::new().tenant("t-1").min_severity(Severity::Warning));
//! assert_eq!(failures.len(), 1);
//! assert_eq!(feed.drain().len(), 2);
//! ```
//!
//! # Feature flags
//!
//! | flag | default | what it adds |
//! |---|---|---|
//! | `prometheus` | no | `install_prometheus()`: a Prometheus recorder for the counters |
//!
//! # Metrics
//!
//! [`Observed`] counts `auditlog_events_total` and
//! `auditlog_events_failed_total` by `action`, `tenant` and `status`, and
//! `auditlog_hook_failures_total` / `auditlog_hook_dropped_total`. The
//! `tenant` label has one value per tenant: mind the cardinality.

mod observe;
mod query;
mod store;

#[cfg(feature = "prometheus")]
pub use observe::install_prometheus;
pub use observe::{
    Observed, ObservedBuilder, EVENTS_FAILED_TOTAL, EVENTS_TOTAL, HOOK_DROPPED_TOTAL,
    HOOK_FAILURES_TOTAL,
};
pub use query::{parse_timestamp, BadTimestamp, Query};
pub use store::{MemoryStore, StoreStats, Subscription};
