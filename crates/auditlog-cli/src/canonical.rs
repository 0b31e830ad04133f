//! `auditlog canonical`: the hashed text of each event.

use std::process::ExitCode;

use auditlog_core::AuditEvent;

use crate::lines::{finish, for_each_line, MAX_LINE_BYTES};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> ExitCode {
    let result = for_each_line(MAX_LINE_BYTES, |_number, line, out| {
        let event = AuditEvent::from_json(line).map_err(|e| e.to_string())?;
        event.write_canonical(out);
        out.push(b'\n');
        Ok(())
    });
    finish(result, |_| {})
}
