//! The `auditlog` binary, run as a user runs it: every CLI test in one test
//! binary (one link instead of seven), a module per topic.
//!
//! `cargo test -p auditlog-cli --test cli faults -- --nocapture` runs the
//! fault tests alone and shows their `figures:` lines.

mod basics;
mod chain;
#[cfg(feature = "demo")]
mod demo;
#[cfg(feature = "demo")]
mod demo_db;
#[cfg(feature = "kafka")]
mod faults;
#[cfg(feature = "kafka")]
mod kafka;
#[cfg(feature = "kafka")]
mod publish_wire;
mod query;
#[cfg(all(feature = "kafka", feature = "sql"))]
mod relay;
#[cfg(all(feature = "kafka", feature = "sql"))]
mod relay_attacks;
mod repeated_fields;
#[cfg(feature = "sql")]
mod sql;
#[cfg(feature = "sql")]
mod sql_attacks;
#[cfg(feature = "sql")]
mod sql_query;
mod support;
mod verify;
