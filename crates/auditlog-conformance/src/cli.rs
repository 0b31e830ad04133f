//! The command line of `cargo xtask conformance`, for any xtask to hand its
//! arguments to.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::{Error, Suite, DEFAULT_KEY_ENV};

/// The flags [`run`] takes, for an xtask's own usage text.
pub const USAGE: &str = "\
conformance                               the library's wire-format fixtures
conformance --events PATH [--key-env NAME]
                                          captured events (JSON lines; a file, or a
                                          directory of *.jsonl): schema and seal; key
                                          from $NAME (default AUDITLOG_SIGNING_KEY),
                                          hashes only when it is unset";

/// Runs the suite the flags ask for, prints what it found, and returns the
/// exit code: `cargo xtask conformance [FLAGS]` in one call.
///
/// `args` are the flags after the task name: none for the embedded
/// fixtures; `--events PATH [--key-env NAME]` for captured events instead
/// (see [`Suite::events`] and [`Suite::key_env`]). Output: a line per
/// failed check (`FAIL <case>: <check>: <details>`), then `conformance: N
/// passed, M failed` and, alone on the last line, `N passed, M failed`.
///
/// ```no_run
/// // xtask/src/main.rs
/// fn main() -> std::process::ExitCode {
///     let args: Vec<String> = std::env::args().skip(1).collect();
///     match args.split_first() {
///         Some((task, flags)) if task == "conformance" => auditlog_conformance::run(flags),
///         _ => {
///             eprintln!("usage: cargo xtask {}", auditlog_conformance::USAGE);
///             std::process::ExitCode::FAILURE
///         }
///     }
/// }
/// ```
pub fn run<I>(args: I) -> ExitCode
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let args: Vec<String> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    match suite_from_args(&args) {
        Ok(suite) => suite.main(),
        Err(error) => {
            eprintln!("conformance: {error}");
            eprintln!("usage: cargo xtask");
            for line in USAGE.lines() {
                eprintln!("  {line}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The suite `args` ask for.
fn suite_from_args(args: &[String]) -> Result<Suite, Error> {
    let usage = |message: String| Error::Usage { message };
    let mut args = args.iter().map(String::as_str);
    let mut events = None;
    let mut key_env = None;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .map(str::to_owned)
                .ok_or_else(|| usage(format!("{name} needs a value")))
        };
        match arg {
            "--events" => events = Some(PathBuf::from(value("--events")?)),
            "--key-env" => key_env = Some(value("--key-env")?),
            other => return Err(usage(format!("unknown argument `{other}`"))),
        }
    }
    match (events, key_env) {
        (Some(events), key_env) => Ok(Suite::new()
            .events(events)
            .key_env(key_env.unwrap_or_else(|| DEFAULT_KEY_ENV.to_owned()))),
        (None, Some(_)) => Err(usage("--key-env goes with --events".to_owned())),
        (None, None) => Ok(Suite::new().fixtures()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<String, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        suite_from_args(&args)
            .map(|suite| format!("{suite:?}"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn arguments() {
        assert_eq!(parse(&[]), Ok(format!("{:?}", Suite::new().fixtures())));
        assert_eq!(
            parse(&["--events", "f.jsonl"]),
            Ok(format!(
                "{:?}",
                Suite::new()
                    .events("f.jsonl")
                    .key_env(auditlog_seal::DEFAULT_KEY_ENV)
            ))
        );
        assert_eq!(
            parse(&["--key-env", "K", "--events", "f"]),
            Ok(format!("{:?}", Suite::new().events("f").key_env("K")))
        );
        assert_eq!(parse(&["--events"]), Err("--events needs a value".into()));
        assert_eq!(
            parse(&["--key-env", "K"]),
            Err("--key-env goes with --events".into())
        );
        assert_eq!(
            parse(&["--bless"]),
            Err("unknown argument `--bless`".into())
        );
    }
}
