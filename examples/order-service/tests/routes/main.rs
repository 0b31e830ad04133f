//! The service's routes driven over real HTTP, each test's audit events
//! captured to `$AUDIT_CAPTURE_DIR/<test>.jsonl` (default
//! `target/tmp/audit-capture/`): what `cargo xtask conformance` checks.

mod orders;
mod service;
