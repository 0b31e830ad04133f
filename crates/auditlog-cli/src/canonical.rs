//! `auditlog canonical`: the hashed text of each event.

use std::process::ExitCode;

use auditlog_core::AuditEvent;

use crate::lines::{finish, for_each_line};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> ExitCode {
    let mut buf = Vec::with_capacity(2048);
    let result = for_each_line(|_number, line, out| {
        let event = AuditEvent::from_json(line).map_err(|e| e.to_string())?;
        buf.clear();
        event.write_canonical(&mut buf);
        buf.push(b'\n');
        out.write_all(&buf).map_err(|e| e.to_string())
    });
    finish(result, |_| {})
}
