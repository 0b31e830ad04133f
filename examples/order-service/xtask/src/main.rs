//! The order service's tasks: `cargo xtask conformance` (the alias is in
//! `.cargo/config.toml`).
//!
//! `conformance` runs the service's tests with their audit events captured
//! to `target/audit-capture/`, then the auditlog conformance suite: the
//! library's wire-format fixtures, and every captured event against the
//! schema, its seal, and what the service states of each route below.
//! `conformance --events PATH [--key-env NAME]` checks other captured events
//! (e.g. a staging environment's) the same way, routes aside.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use auditlog_conformance::{Route, Suite};
use auditlog_seal::SigningKey;

/// The key the tests sign with and the suite checks with: a test key, not a
/// secret.
const TEST_KEY: &str = "order-service-conformance-key";

/// What the service promises of its events, route by route: writes and
/// reads carry the caller's tenant, writes the user too, and every
/// successful event names the order it touched.
fn routes() -> Vec<Route> {
    vec![
        Route::new("POST", "/orders")
            .tenant_id()
            .user_id()
            .resource_id(),
        Route::new("GET", "/orders/{id}").tenant_id().resource_id(),
        Route::new("DELETE", "/orders/{id}")
            .tenant_id()
            .user_id()
            .resource_id(),
    ]
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        Some((task, [])) if task == "conformance" => conformance(),
        Some((task, flags)) if task == "conformance" => auditlog_conformance::run(flags),
        _ => {
            eprintln!("usage: cargo xtask");
            for line in auditlog_conformance::USAGE.lines() {
                eprintln!("  {line}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The tests, capturing their events, then the suite over them.
fn conformance() -> ExitCode {
    let capture = target_dir().join("audit-capture");
    // Only this run's events: a removed test leaves no stale capture.
    if let Err(e) = std::fs::remove_dir_all(&capture) {
        if e.kind() != std::io::ErrorKind::NotFound {
            eprintln!("xtask: {}: {e}", capture.display());
            return ExitCode::FAILURE;
        }
    }
    eprintln!(
        "==> cargo test (each route's events captured to {})",
        capture.display()
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let tested = Command::new(cargo)
        .args(["test", "--quiet"])
        .current_dir(project_root())
        .env("AUDIT_CAPTURE_DIR", &capture)
        .env("AUDITLOG_SIGNING_KEY", TEST_KEY)
        .status();
    match tested {
        Ok(status) if status.success() => {}
        Ok(_) => {
            eprintln!("xtask: the tests failed: fix them first");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("xtask: could not run cargo: {e}");
            return ExitCode::FAILURE;
        }
    }
    eprintln!("==> conformance: the library's fixtures; the captured events and the routes");
    Suite::new()
        .fixtures()
        .events(&capture)
        .signing_key(SigningKey::new(TEST_KEY).expect("a non-empty key"))
        .routes(routes())
        .main()
}

/// The workspace root (xtask lives one level below it).
fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// Where cargo builds: `$CARGO_TARGET_DIR`, or `target/` at the root.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => std::env::current_dir()
            .map(|cwd| cwd.join(&dir))
            .unwrap_or_else(|_| dir.into()),
        None => project_root().join("target"),
    }
}
