//! Test helpers shared by the auditlog crates' tests, as `tracing-mock` is
//! for tracing's: never published, a dev-dependency only.
//!
//! - [`strategies`]: proptest strategies for whole events and payload values.
//! - [`VerifyingSink`]: an in-memory sink that seals as a real sink does and
//!   hands back only events that verify.
//! - [`eventually`]: polls a condition, failing only when it never holds.
//! - [`rng::Rng`]: a deterministic generator for tests that make their own
//!   random inputs.
//! - [`RecordedMetrics`]: a `metrics` recorder whose counters and gauges a
//!   test can read.
//! - [`TestPostgres`]: a real PostgreSQL server, a throwaway cluster of its
//!   own or a fresh database on the server `AUDITLOG_TEST_POSTGRES` names.
//!
//! # Example
//!
//! ```
//! use auditlog_core::AuditEvent;
//! use auditlog_sink::AuditSink;
//! use auditlog_testkit::VerifyingSink;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let sink = VerifyingSink::new(Some(VerifyingSink::test_key()));
//! sink.publish(AuditEvent::builder().tenant_id("t-1").build()).await.unwrap();
//! let events = sink.wait_for(1).await;
//! assert_eq!(events[0].tenantid.as_deref(), Some("t-1"));
//! # });
//! ```

mod metrics;
pub mod postgres;
pub mod rng;
mod sink;
pub mod strategies;
mod wait;

pub use metrics::RecordedMetrics;
pub use postgres::TestPostgres;
pub use sink::VerifyingSink;
pub use wait::{eventually, PATIENCE};
