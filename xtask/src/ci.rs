//! `cargo xtask ci`: every check CI runs, in the order that fails fastest.

use std::process::Command;

use crate::project_root;

/// One check: what runs, and what to do when it fails.
struct Step {
    name: &'static str,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    fix: &'static str,
}

const STEPS: &[Step] = &[
    Step {
        name: "format",
        args: &["fmt", "--all", "--check"],
        env: &[],
        fix: "run `cargo fmt --all`",
    },
    Step {
        name: "clippy",
        args: &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        env: &[],
        fix: "fix the lints above",
    },
    Step {
        name: "tests and doc tests",
        args: &["test", "--workspace", "--no-fail-fast"],
        env: &[],
        fix: "fix the failing tests above",
    },
    Step {
        name: "differential test of the JSON reader (its own workspace)",
        args: &[
            "test",
            "--manifest-path",
            "tests/differential/Cargo.toml",
            "--target-dir",
            "target/differential",
        ],
        env: &[],
        fix: "a reader reads a document otherwise than we do: refuse it (see tests/differential)",
    },
    Step {
        name: "docs",
        args: &["doc", "--workspace", "--no-deps"],
        env: &[("RUSTDOCFLAGS", "-D rustdoc::broken_intra_doc_links")],
        fix: "fix the broken doc links above",
    },
    Step {
        name: "conformance",
        args: &["run", "-q", "-p", "xtask", "--", "conformance"],
        env: &[],
        fix: "see the fixture diffs above (crates/auditlog-conformance/fixtures)",
    },
    Step {
        name: "dependencies",
        args: &["deny", "check", "bans", "licenses", "sources"],
        env: &[],
        fix: "see deny.toml; `cargo install cargo-deny` if it is missing",
    },
];

/// Runs every step; the first failure stops the run with what fixes it.
pub(crate) fn run() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for step in STEPS {
        eprintln!("==> {} (cargo {})", step.name, step.args.join(" "));
        let status = Command::new(&cargo)
            .args(step.args)
            .envs(step.env.iter().copied())
            .current_dir(project_root())
            .status()
            .map_err(|e| format!("could not run cargo: {e}"))?;
        if !status.success() {
            return Err(format!("{} failed: {}", step.name, step.fix));
        }
    }
    eprintln!("==> all checks passed");
    Ok(())
}
