//! The Python reference accepts chained events unchanged.

use super::*;

fn reference_dir() -> std::path::PathBuf {
    std::env::var_os("AUDITLOG_PYTHON_REFERENCE")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference")
        })
}

/// Runs the reference library's own `verify()` on each line with `key` and
/// returns its verdicts.
fn python_verify(lines: &[String], key: Option<&str>) -> Vec<bool> {
    let dir = reference_dir();
    assert!(
        dir.join("security.py").exists(),
        "the Python reference is not at {} (set AUDITLOG_PYTHON_REFERENCE)",
        dir.display()
    );
    let script = "import json, sys\n\
        sys.path.insert(0, sys.argv[1])\n\
        from models import AuditLogEvent\n\
        from security import verify\n\
        key = sys.argv[2] or None\n\
        for line in sys.stdin:\n\
        \x20   print(json.dumps(verify(AuditLogEvent.model_validate_json(line), key)))\n";
    let mut child = Command::new("python3")
        .args(["-c", script, dir.to_str().unwrap(), key.unwrap_or("")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let input = lines.join("\n") + "\n";
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the reference failed");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| l == "true")
        .collect()
}

#[test]
fn the_python_reference_verifies_chained_events_and_checkpoints_unchanged() {
    let key = hmac_key("k1", "secret");
    let stream = sealed(20, 7, key);
    let lines: Vec<String> = stream
        .events
        .iter()
        .chain(&stream.checkpoints)
        .cloned()
        .collect();
    assert!(python_verify(&lines, Some("secret")).iter().all(|&ok| ok));
    assert_eq!(python_verify(&lines, Some("secret")).len(), lines.len());
    // And it is a real check: a changed event or another key fails there.
    let tampered = lines[0].replace("orders.create", "orders.delete");
    assert_eq!(python_verify(&[tampered], Some("secret")), [false]);
    assert_eq!(python_verify(&lines[..1], Some("other")), [false]);

    // Ed25519 chains carry no HMAC signature: Python checks the hash only.
    let ed = sealed(3, 100, ChainKey::ed25519("ed-1", &[5; 32]).unwrap());
    assert_eq!(python_verify(&ed.events, None), [true, true, true]);
}

#[test]
fn the_oracle_hashes_chained_events_as_we_do() {
    let key = hmac_key("k1", "secret");
    let stream = sealed(10, 4, key);
    let oracle = reference_dir().join("oracle.py");
    let mut child = Command::new("python3")
        .args([oracle.to_str().unwrap(), "secret"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let lines: Vec<&String> = stream.events.iter().chain(&stream.checkpoints).collect();
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    let answers: Vec<&str> = output.lines().collect();
    assert_eq!(answers.len(), lines.len());
    for (line, answer) in lines.iter().zip(answers) {
        let event = AuditEvent::from_json(line).unwrap();
        let security = event.security.as_ref().unwrap();
        let answer = auditlog_core::parse_value(answer).unwrap();
        let answer = answer.as_object().unwrap();
        assert_eq!(
            answer["canonical"].as_str(),
            Some(event.canonical_json().as_str())
        );
        assert_eq!(answer["hash"].as_str(), security.hash.as_deref());
        assert_eq!(answer["signature"].as_str(), security.signature.as_deref());
    }
}
