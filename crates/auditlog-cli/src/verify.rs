//! `auditlog verify`: a line per failure, then a summary.

use std::process::ExitCode;

use auditlog_seal::verify_json;

use crate::key::{self, DEFAULT_KEY_ENV};
use crate::lines::{finish, for_each_line};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Environment variable holding the HMAC key; without it only hashes are checked.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_KEY_ENV)]
    key_env: String,
}

pub fn run(args: Args) -> ExitCode {
    let key = match key::load(&args.key_env, "signatures are not checked, only hashes") {
        Ok(key) => key,
        Err(message) => {
            eprintln!("auditlog: {message}");
            return ExitCode::from(2);
        }
    };
    let result = for_each_line(|_number, line, _out| {
        let verified = verify_json(line, key.as_ref()).map_err(|e| e.to_string())?;
        if verified.unauthenticated_fields.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "unauthenticated fields (not covered by the hash): {}",
                verified.unauthenticated_fields.join(", ")
            ))
        }
    });
    finish(result, |tally| {
        println!(
            "verified {} events: {} valid, {} failed",
            tally.ok + tally.failed,
            tally.ok,
            tally.failed
        );
    })
}
