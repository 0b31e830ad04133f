//! Project tasks: `cargo xtask <task>` (the alias is in `.cargo/config.toml`).
//!
//! - `ci`: every check CI runs (fmt, clippy, tests, docs, conformance, cargo-deny).
//! - `conformance [FLAGS]`: the suite of `auditlog-conformance` — its
//!   fixtures through core, seal and the JSON Schema, or with `--events`
//!   events captured from a service (what services run in their own xtask).

use std::path::PathBuf;
use std::process::ExitCode;

mod ci;
mod conformance;
mod tidy;

fn usage() -> String {
    format!(
        "usage: cargo xtask <task>\n\ntasks:\n  ci{:40}every check CI runs\n{}",
        "",
        auditlog_conformance::USAGE
            .lines()
            .map(|line| format!("  {line}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// One task and its arguments.
#[derive(Debug, PartialEq, Eq)]
enum Task {
    Ci,
    /// The flags are `auditlog-conformance`'s to read.
    Conformance(Vec<String>),
}

fn parse_args(args: &[String]) -> Result<Task, String> {
    match args.split_first() {
        Some((task, rest)) if task == "conformance" => Ok(Task::Conformance(rest.to_vec())),
        Some((task, [])) if task == "ci" => Ok(Task::Ci),
        Some((task, [extra, ..])) if task == "ci" => Err(format!("unexpected argument `{extra}`")),
        Some((other, _)) => Err(format!("unknown task `{other}`")),
        None => Err("no task given".to_owned()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse_args(&args).and_then(|task| match task {
        Task::Ci => ci::run().map(|()| ExitCode::SUCCESS),
        Task::Conformance(flags) => Ok(conformance::run(&flags)),
    });
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("xtask: {message}");
            if message.starts_with("unknown") || message.starts_with("no task") {
                eprintln!("{}", usage());
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
        assert_eq!(parse(&["conformance"]), Ok(Task::Conformance(vec![])));
        assert_eq!(
            parse(&["conformance", "--events", "f.jsonl"]),
            Ok(Task::Conformance(vec!["--events".into(), "f.jsonl".into()]))
        );
        assert_eq!(parse(&["ci"]), Ok(Task::Ci));
        assert!(parse(&["ci", "x"]).is_err());
        assert!(parse(&["bless"]).is_err());
        assert!(parse(&[]).is_err());
        assert!(usage().contains("  conformance --events PATH [--key-env NAME]"));
    }
}
