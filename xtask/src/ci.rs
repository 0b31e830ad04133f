//! `cargo xtask ci`: every check CI runs, in the order that fails fastest.
//!
//! It runs on a fresh machine by itself: the tools it needs beyond cargo
//! (rustfmt, clippy, cargo-deny, pydantic for the cross-language test) are
//! installed first when missing, each install announced with its command.

use std::process::{Command, Stdio};

use crate::project_root;

/// One check: what runs, where, and what to do when it fails.
struct Step {
    name: &'static str,
    args: &'static [&'static str],
    /// The directory it runs in, from the root (`""`: the root).
    dir: &'static str,
    env: &'static [(&'static str, &'static str)],
    /// `CARGO_TARGET_DIR`, from the root, for a workspace of its own.
    target_dir: Option<&'static str>,
    fix: &'static str,
}

/// A step run by cargo at the root, with no environment of its own.
const fn cargo(name: &'static str, args: &'static [&'static str], fix: &'static str) -> Step {
    Step {
        name,
        args,
        dir: "",
        env: &[],
        target_dir: None,
        fix,
    }
}

const STEPS: &[Step] = &[
    cargo(
        "format",
        &["fmt", "--all", "--check"],
        "run `cargo fmt --all`",
    ),
    cargo(
        "format of the example service (its own workspace)",
        &[
            "fmt",
            "--all",
            "--check",
            "--manifest-path",
            "examples/order-service/Cargo.toml",
        ],
        "run `cargo fmt --all` in examples/order-service",
    ),
    cargo(
        "clippy",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        "fix the lints above",
    ),
    cargo(
        "tests and doc tests",
        &["test", "--workspace", "--no-fail-fast"],
        "fix the failing tests above",
    ),
    cargo(
        "differential test of the JSON reader (its own workspace)",
        &[
            "test",
            "--manifest-path",
            "tests/differential/Cargo.toml",
            "--target-dir",
            "target/differential",
        ],
        "a reader reads a document otherwise than we do: refuse it (see tests/differential)",
    ),
    Step {
        name: "docs",
        args: &["doc", "--workspace", "--no-deps"],
        dir: "",
        env: &[("RUSTDOCFLAGS", "-D rustdoc::broken_intra_doc_links")],
        target_dir: None,
        fix: "fix the broken doc links above",
    },
    cargo(
        "conformance",
        &["run", "-q", "-p", "xtask", "--", "conformance"],
        "see the fixture diffs above (crates/auditlog-conformance/fixtures)",
    ),
    // What a service adopting auditlog runs in its CI: its route tests
    // capture their events, then its xtask checks them and the fixtures.
    Step {
        name: "example service: its tests, then its `cargo xtask conformance`",
        args: &["xtask", "conformance"],
        dir: "examples/order-service",
        env: &[],
        target_dir: Some("target/order-service"),
        fix: "see the failures above (examples/order-service, its xtask states the routes)",
    },
    cargo(
        "dependencies",
        &["deny", "check", "bans", "licenses", "sources"],
        "see deny.toml",
    ),
];

/// A tool the steps need beyond cargo and rustc: how to tell it is there,
/// how to install it.
struct Tool {
    name: &'static str,
    /// Succeeds when the tool is there (`cargo` stands for `$CARGO`).
    probe: &'static [&'static str],
    install: &'static [&'static str],
}

const TOOLS: &[Tool] = &[
    Tool {
        name: "rustfmt",
        probe: &["cargo", "fmt", "--version"],
        install: &["rustup", "component", "add", "rustfmt"],
    },
    Tool {
        name: "clippy",
        probe: &["cargo", "clippy", "--version"],
        install: &["rustup", "component", "add", "clippy"],
    },
    Tool {
        name: "cargo-deny (a few minutes to build)",
        probe: &["cargo", "deny", "--version"],
        install: &["cargo", "install", "--locked", "cargo-deny"],
    },
    Tool {
        name: "pydantic 2 for python3 (the cross-language test runs the Python reference)",
        probe: &[
            "python3",
            "-c",
            "import sys, pydantic; sys.exit(int(pydantic.VERSION.split('.')[0]) < 2)",
        ],
        install: &["python3", "-m", "pip", "install", "--quiet", "pydantic>=2"],
    },
];

/// Installs what is missing, then runs every step; the first failure stops
/// the run with what fixes it.
pub(crate) fn run() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = project_root();
    for tool in TOOLS {
        install_if_missing(tool, &cargo)?;
    }
    for step in STEPS {
        eprintln!("==> {} (cargo {})", step.name, step.args.join(" "));
        let mut command = Command::new(&cargo);
        command
            .args(step.args)
            .envs(step.env.iter().copied())
            .current_dir(root.join(step.dir));
        if let Some(dir) = step.target_dir {
            command.env("CARGO_TARGET_DIR", root.join(dir));
        }
        let status = command
            .status()
            .map_err(|e| format!("could not run cargo: {e}"))?;
        if !status.success() {
            return Err(format!("{} failed: {}", step.name, step.fix));
        }
    }
    eprintln!("==> all checks passed");
    Ok(())
}

fn install_if_missing(tool: &Tool, cargo: &str) -> Result<(), String> {
    if succeeds(tool.probe, cargo, true) {
        return Ok(());
    }
    eprintln!(
        "==> installing {}, which is missing: {}",
        tool.name,
        tool.install.join(" ")
    );
    if succeeds(tool.install, cargo, false) && succeeds(tool.probe, cargo, true) {
        return Ok(());
    }
    Err(format!(
        "{} is missing and `{}` did not install it: install it, then run `cargo xtask ci` again",
        tool.name,
        tool.install.join(" ")
    ))
}

/// Whether `command` runs and succeeds; `quiet` hides its output.
fn succeeds(command: &[&str], cargo: &str, quiet: bool) -> bool {
    let Some((program, args)) = command.split_first() else {
        return false;
    };
    let program = if *program == "cargo" { cargo } else { program };
    let mut command = Command::new(program);
    command.args(args).current_dir(project_root());
    if quiet {
        command.stdout(Stdio::null()).stderr(Stdio::null());
    }
    command.status().is_ok_and(|status| status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_runs_somewhere_that_exists() {
        for step in STEPS {
            let dir = project_root().join(step.dir);
            assert!(dir.is_dir(), "{}: {}", step.name, dir.display());
            for arg in step.args.windows(2) {
                if arg[0] == "--manifest-path" {
                    assert!(project_root().join(arg[1]).is_file(), "{}", arg[1]);
                }
            }
        }
        assert!(succeeds(&["cargo", "--version"], "cargo", true));
        assert!(!succeeds(
            &["cargo", "no-such-subcommand-here"],
            "cargo",
            true
        ));
    }
}
