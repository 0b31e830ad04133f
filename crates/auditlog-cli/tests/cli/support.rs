//! Running the `auditlog` binary as a user runs it, for every CLI test.

use std::io::Write;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// `auditlog ARGS` with its stdin and stderr piped, without any
/// `AUDITLOG_*` variable of the caller's environment.
pub(crate) fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auditlog"));
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("AUDITLOG_")) {
        command.env_remove(name);
    }
    command
}

/// Runs `auditlog ARGS` with `stdin` and `env` (see [`command`]).
pub(crate) fn auditlog(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut command = command(args);
    command.envs(env.iter().copied());
    let mut child = command.spawn().expect("auditlog runs");
    let written = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    // A command that refuses its arguments exits before reading its input.
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

/// Output bytes as text.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Stdout of a command that must have exited 0 (both outputs shown if not).
pub(crate) fn succeeded(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// A SQLite file in a temporary directory, migrated by `auditlog migrate`,
/// and its `sqlite://` URL.
pub(crate) fn migrated_sqlite() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    succeeded(&auditlog(&["migrate", "--db", &url], &[], ""));
    (dir, url)
}

/// Waits for `child` to exit; past `patience` kills it and gives `None`.
pub(crate) fn exit_within(child: &mut Child, patience: Duration) -> Option<ExitStatus> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if started.elapsed() > patience {
            child.kill().unwrap();
            child.wait().unwrap();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
