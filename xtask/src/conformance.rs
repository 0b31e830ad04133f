//! `cargo xtask conformance [FLAGS]`: the suite of `auditlog-conformance`
//! (its fixtures and schema are compiled into that crate, under
//! `crates/auditlog-conformance/fixtures/` and `schema/`), exactly as a
//! service's own xtask runs it.

use std::process::ExitCode;

/// Runs the suite with the flags after the task name.
pub(crate) fn run(flags: &[String]) -> ExitCode {
    auditlog_conformance::run(flags)
}
