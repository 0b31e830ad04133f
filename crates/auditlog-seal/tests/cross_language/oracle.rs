//! Both sides: this crate and the Python reference, one subprocess for all
//! lines.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use auditlog_core::AuditEvent;
use auditlog_seal::{compute_hash, sign, SigningKey};

use super::KEY;

// Both sides.
// ---------------------------------------------------------------------------

#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    Sealed {
        canonical: String,
        hash: String,
        signature: String,
    },
    /// Rejected; the reason is for the report only (the two sides word it
    /// differently).
    Rejected(String),
}

impl Outcome {
    pub(crate) fn agrees_with(&self, other: &Outcome) -> bool {
        match (self, other) {
            (Outcome::Rejected(_), Outcome::Rejected(_)) => true,
            _ => self == other || self.is_stricter_than(other),
        }
    }

    /// We refuse a repeated key on purpose, where Python keeps the last
    /// value: readers disagree on which counts (docs/wire-format.md).
    pub(crate) fn is_stricter_than(&self, other: &Outcome) -> bool {
        matches!(
            (self, other),
            (Outcome::Rejected(reason), Outcome::Sealed { .. }) if reason.contains("duplicate key")
        )
    }
}

pub(crate) fn ours(line: &str, key: &SigningKey) -> Outcome {
    match AuditEvent::parse(line) {
        Ok(parsed) => {
            let hash = compute_hash(&parsed.event);
            Outcome::Sealed {
                canonical: parsed.event.canonical_json(),
                signature: sign(&hash, key),
                hash,
            }
        }
        Err(error) => Outcome::Rejected(error.to_string()),
    }
}

pub(crate) fn theirs(line: &str) -> Outcome {
    let value: serde_json::Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("the oracle printed something that is not JSON ({e}): {line}"));
    if let Some(error) = value.get("error") {
        return Outcome::Rejected(error.to_string());
    }
    let field = |name: &str| {
        value[name]
            .as_str()
            .unwrap_or_else(|| panic!("the oracle's line has no {name}: {line}"))
            .to_owned()
    };
    Outcome::Sealed {
        canonical: field("canonical"),
        hash: field("hash"),
        signature: field("signature"),
    }
}

pub(crate) fn reference_dir() -> PathBuf {
    std::env::var_os("AUDITLOG_PYTHON_REFERENCE")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference")
        })
}

/// Why the oracle cannot run here, if it cannot.
pub(crate) fn oracle_missing(oracle: &std::path::Path) -> Option<String> {
    if !oracle.exists() {
        return Some(format!(
            "the Python reference is not at {} (set AUDITLOG_PYTHON_REFERENCE to its directory)",
            oracle.display()
        ));
    }
    let check = Command::new("python3")
        .args([
            "-c",
            "import sys, pydantic; sys.exit(int(pydantic.VERSION.split('.')[0]) < 2)",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match check {
        Err(e) => Some(format!(
            "python3 cannot be run ({e}): install Python 3, then `pip install 'pydantic>=2'`"
        )),
        Ok(status) if !status.success() => Some(
            "python3 has no pydantic 2: install it with `pip install 'pydantic>=2'`".to_owned(),
        ),
        Ok(_) => None,
    }
}

/// Runs the oracle once over all lines.
pub(crate) fn oracle(oracle: &std::path::Path, input: String) -> Vec<String> {
    python(&[oracle.as_os_str(), KEY.as_ref()], input)
}

/// Seals each line with the Python reference and prints what it publishes:
/// `to_json()` with the `security` block.
pub(crate) const PYTHON_SEALER: &str = r#"
import json, sys
sys.path.insert(0, sys.argv[1])
from models import AuditLogEvent
from security import seal
for line in sys.stdin:
    event = AuditLogEvent.model_validate(json.loads(line))
    print(seal(event, sys.argv[2]).to_json())
"#;

/// Runs `python3 ARGS` with `input` on stdin; its output lines.
pub(crate) fn python(args: &[&std::ffi::OsStr], input: String) -> Vec<String> {
    let mut child = Command::new("python3")
        .args(args)
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONUTF8", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("the oracle runs");
    writer
        .join()
        .unwrap()
        .expect("the oracle reads all its input");
    assert!(
        output.status.success(),
        "python3 {args:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("python prints UTF-8")
        .lines()
        .map(str::to_owned)
        .collect()
}
