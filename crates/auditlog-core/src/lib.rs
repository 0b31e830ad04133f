//! The audit event of the platform's v1 wire format: model, builder, identity
//! context and canonical JSON.
//!
//! Depend on this crate to build and read events; it knows nothing of tokio,
//! HTTP or Kafka. Sealing (hash and signature) lives in `auditlog-seal`,
//! publishing in `auditlog-kafka`, the HTTP middleware in `auditlog-axum`.
//!
//! # Example
//!
//! ```
//! use auditlog_core::{AuditEvent, Map, Outcome, Severity, Value};
//!
//! let mut payload = Map::new();
//! payload.insert("amount".into(), Value::from_f64(42.5));
//! payload.insert("note".into(), Value::from(""));
//!
//! let event = AuditEvent::builder()
//!     .id("7d0f3c1e-2b4a-4e8f-9c61-5a2d8b9e0f13")
//!     .timestamp("2026-11-23T08:15:30.123456+00:00")
//!     .tenant_id("tenant-0")
//!     .action_name("orders.create")
//!     .severity(Severity::Info)
//!     .status(Outcome::Success)
//!     .request_payload(payload)
//!     .build();
//!
//! // Empty values are pruned, keys sorted, output ASCII only.
//! assert_eq!(
//!     event.canonical_json(),
//!     r#"{"action":{"name":"orders.create","severity":"INFO","status":"SUCCESS"},"eventdata":{"requestpayload":{"amount":42.5}},"id":"7d0f3c1e-2b4a-4e8f-9c61-5a2d8b9e0f13","specversion":"1.0","tenantid":"tenant-0","timestamp":"2026-11-23T08:15:30.123456+00:00"}"#
//! );
//!
//! // Parsing names the field that is wrong.
//! let error = AuditEvent::from_json(r#"{"eventdata":{"requestpayload":[]}}"#).unwrap_err();
//! assert_eq!(error.to_string(), "eventdata.requestpayload: expected an object, found an array");
//! ```
//!
//! # Feature flags
//!
//! | flag | default | what it adds |
//! |---|---|---|
//! | `serde_json` | yes | `From<serde_json::Value>` for payload [`Value`]s |
//!
//! The wire format is specified in `docs/wire-format.md`.

mod builder;
mod canonical;
pub mod catalogue;
mod error;
mod escape;
mod float;
mod identity;
mod model;
mod parse;
mod printable;
mod value;
mod writer;

pub use builder::{format_timestamp, push_timestamp, EventBuilder, Outcome, Severity};
pub use error::{ParseError, ParseErrorKind, Result};
pub use identity::{
    trace_id_from_traceparent, HeaderIdentity, Identity, IdentityConflict, IdentityHeaders,
};
pub use model::{
    Action, AuditEvent, EventData, Kubernetes, Metadata, Network, ObjectRef, ParsedEvent, Security,
    Subject, SPEC_VERSION,
};
pub use parse::{parse_value, MAX_DEPTH};
pub use printable::printable;
pub use value::{Map, Number, Value, MAX_NUMBER_DIGITS};
