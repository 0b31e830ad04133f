//! Project tasks: `cargo xtask <task>` (the alias is in `.cargo/config.toml`).
//!
//! - `ci`: every check CI runs (fmt, clippy, tests, docs, conformance, cargo-deny).
//! - `conformance`: the fixtures of `tests/fixtures/conformance/` through
//!   core, seal and the JSON Schema.
//! - `conformance --events FILE [--key-env NAME]`: events captured from a
//!   service (JSON lines) against the schema and their seals.

use std::path::PathBuf;
use std::process::ExitCode;

mod ci;
mod conformance;
mod tidy;

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  ci                                        every check CI runs
  conformance                               the fixtures of tests/fixtures/conformance
  conformance --events FILE [--key-env NAME]
                                            captured events (JSON lines): schema and seal;
                                            key from $NAME (default AUDITLOG_SIGNING_KEY),
                                            hashes only when it is unset";

/// One task and its arguments.
#[derive(Debug, PartialEq, Eq)]
enum Task {
    Ci,
    Conformance,
    ConformanceEvents { file: PathBuf, key_env: String },
}

fn parse_args(args: &[String]) -> Result<Task, String> {
    let mut args = args.iter().map(String::as_str);
    let task = match args.next() {
        Some("ci") => Task::Ci,
        Some("conformance") => {
            let mut file = None;
            let mut key_env = None;
            while let Some(arg) = args.next() {
                let mut value = |name: &str| {
                    args.next()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("{name} needs a value"))
                };
                match arg {
                    "--events" => file = Some(PathBuf::from(value("--events")?)),
                    "--key-env" => key_env = Some(value("--key-env")?),
                    other => return Err(format!("unknown argument `{other}`")),
                }
            }
            match (file, key_env) {
                (Some(file), key_env) => Task::ConformanceEvents {
                    file,
                    key_env: key_env.unwrap_or_else(|| auditlog_seal::DEFAULT_KEY_ENV.to_owned()),
                },
                (None, Some(_)) => return Err("--key-env goes with --events".to_owned()),
                (None, None) => Task::Conformance,
            }
        }
        Some(other) => return Err(format!("unknown task `{other}`")),
        None => return Err("no task given".to_owned()),
    };
    match args.next() {
        Some(extra) => Err(format!("unexpected argument `{extra}`")),
        None => Ok(task),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse_args(&args).and_then(|task| match task {
        Task::Ci => ci::run(),
        Task::Conformance => conformance::run_fixtures_task(),
        Task::ConformanceEvents { file, key_env } => conformance::run_events_task(&file, &key_env),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            if message.starts_with("unknown") || message.starts_with("no task") {
                eprintln!("{USAGE}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives one level below it).
pub(crate) fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Task, String> {
        parse_args(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn arguments() {
        assert_eq!(parse(&["conformance"]), Ok(Task::Conformance));
        assert_eq!(
            parse(&["conformance", "--events", "f.jsonl"]),
            Ok(Task::ConformanceEvents {
                file: "f.jsonl".into(),
                key_env: "AUDITLOG_SIGNING_KEY".into()
            })
        );
        assert_eq!(
            parse(&["conformance", "--key-env", "K", "--events", "f"]),
            Ok(Task::ConformanceEvents {
                file: "f".into(),
                key_env: "K".into()
            })
        );
        assert!(parse(&["conformance", "--events"]).is_err());
        assert!(parse(&["conformance", "--key-env", "K"]).is_err());
        assert!(parse(&["conformance", "--bless"]).is_err());
        assert!(parse(&["ci", "x"]).is_err());
        assert!(parse(&[]).is_err());
    }
}
