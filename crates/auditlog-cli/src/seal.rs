//! `auditlog seal`: each event sealed, as the JSON that goes on the wire.

use std::process::ExitCode;

use auditlog_core::AuditEvent;

use crate::key::{self, DEFAULT_KEY_ENV};
use crate::lines::{finish, for_each_line};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Environment variable holding the HMAC signing key (unsigned when unset).
    #[arg(long, value_name = "NAME", default_value = DEFAULT_KEY_ENV)]
    key_env: String,
}

pub fn run(args: Args) -> ExitCode {
    let key = match key::load(&args.key_env, "events are hashed but not signed") {
        Ok(key) => key,
        Err(message) => {
            eprintln!("auditlog: {message}");
            return ExitCode::from(2);
        }
    };
    let result = for_each_line(|number, line, out| {
        let parsed = AuditEvent::parse(line).map_err(|e| e.to_string())?;
        if !parsed.unknown_fields.is_empty() {
            // Not an error: the Python library drops them the same way.
            eprintln!(
                "line {number}: dropped fields the v1 model does not know (Python drops them too): {}",
                parsed.unknown_fields.join(", ")
            );
        }
        let mut event = parsed.event;
        auditlog_seal::seal_into(&mut event, key.as_ref(), out);
        out.push(b'\n');
        Ok(())
    });
    finish(result, |_| {})
}
