//! `auditlog verify` against hostile input: lines crafted so that another
//! JSON reader would read another event than the one the seal covers, keys
//! that try to write on the terminal, missing keys, huge lines.

use crate::support::{auditlog, text};

const KEY: (&str, &str) = ("AUDITLOG_SIGNING_KEY", "k");
const REFUND: &str = r#"{"id":"r-1","tenantid":"t-1","action":{"name":"refund","method":"POST"},"eventdata":{"requestpayload":{"refund":5000.0,"rate":100000.0}}}"#;

fn sealed(event: &str) -> String {
    let output = auditlog(&["seal"], &[KEY], event);
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout).trim_end().to_owned()
}

fn verify(args: &[&str], input: &str) -> (Option<i32>, String, String) {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    let output = auditlog(&all, &[KEY], input);
    (
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr),
    )
}

#[test]
fn a_number_rust_alone_would_read_as_the_sealed_one_is_refused() {
    let line = sealed(REFUND);
    // Rust's float parser saturates the exponent and reads 5000.0 again;
    // Python, JavaScript and Java read 0.0.
    let trick = format!("5{}e-655360", "0".repeat(65_539));
    let forged = line.replace("5000.0", &trick);
    // The other way round: every other reader sees 5000.0 (0.<65,536
    // zeros>5e65540), our float parser alone would not.
    let other_way = line.replace("5000.0", &format!("0.{}5e65540", "0".repeat(65_536)));
    for forged in [&forged, &other_way] {
        for mode in [&[][..], &["--lenient"][..]] {
            let (code, stdout, stderr) = verify(mode, forged);
            assert_eq!(code, Some(1), "{mode:?}: {stdout}{stderr}");
            assert_eq!(stdout, "verified 1 events: 0 valid, 1 failed\n");
            assert!(
                stderr.contains("eventdata.requestpayload.refund: number has"),
                "{stderr}"
            );
        }
        let (code, stdout, _) = verify(&["--chain"], forged);
        assert_eq!(code, Some(1), "{stdout}");
        assert!(stdout.contains("INVALID line 1"), "{stdout}");
    }
    let (code, stdout, stderr) = verify(&[], &line);
    assert_eq!(
        (code, stdout.as_str()),
        (Some(0), "verified 1 events: 1 valid, 0 failed\n"),
        "{stderr}"
    );
}

#[test]
fn duplicate_keys_are_refused_strict_or_lenient() {
    let line = sealed(REFUND);
    let doubled = line.replace(r#""refund":5000.0"#, r#""refund":5000.0,"refund":1.0"#);
    let deep = line.replace(r#""name":"refund""#, r#""name":"refund","name":"refund""#);
    for forged in [&doubled, &deep] {
        for mode in [&[][..], &["--lenient"][..]] {
            let (code, _, stderr) = verify(mode, forged);
            assert_eq!(code, Some(1));
            assert!(stderr.contains("duplicate key"), "{stderr}");
        }
    }
}

#[test]
fn pruned_members_and_respelled_numbers_are_not_the_published_form() {
    let line = sealed(REFUND);
    let pruned = line.replacen('{', r#"{"traceid":null,"#, 1);
    let empty_object = line.replace(r#""rate":100000.0"#, r#""note":{},"rate":100000.0"#);
    let respelled = line.replace("100000.0", "1E5");
    let spaced = line.replace(r#""tenantid":"t-1""#, r#""tenantid" : "t-1""#);

    let input = format!("{pruned}\n{empty_object}\n{respelled}\n{spaced}\n");
    let (code, stdout, stderr) = verify(&[], &input);
    assert_eq!(code, Some(1));
    assert_eq!(stdout, "verified 4 events: 0 valid, 4 failed\n");
    for n in 1..=4 {
        assert!(
            stderr.contains(&format!(
                "line {n}: not in published form: differs from byte"
            )),
            "{stderr}"
        );
    }

    // Leniently, re-encodings pass; members no hash covers do not.
    let (code, stdout, stderr) = verify(&["--lenient"], &input);
    assert_eq!(code, Some(1));
    assert_eq!(stdout, "verified 4 events: 2 valid, 2 failed\n");
    assert!(
        stderr.contains("line 1: members no hash covers: traceid"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 2: members no hash covers: eventdata.requestpayload.note"),
        "{stderr}"
    );
}

#[test]
fn no_key_no_valid() {
    let line = sealed(REFUND);
    let without_key = auditlog(&["verify"], &[], &line);
    assert_eq!(without_key.status.code(), Some(2));
    assert!(without_key.stdout.is_empty());
    assert!(
        text(&without_key.stderr).contains("no key: $AUDITLOG_SIGNING_KEY is not set"),
        "{}",
        text(&without_key.stderr)
    );

    // A typo in --key-env is an error, not a quiet downgrade to hashes.
    let typo = auditlog(
        &["verify", "--key-env", "AUDITLOG_SIGNNG_KEY"],
        &[KEY],
        &line,
    );
    assert_eq!(typo.status.code(), Some(2));
    assert!(text(&typo.stderr).contains("$AUDITLOG_SIGNNG_KEY is not set"));
    let typo = auditlog(
        &["seal", "--key-env", "AUDITLOG_SIGNNG_KEY"],
        &[KEY],
        REFUND,
    );
    assert_eq!(typo.status.code(), Some(2), "sealing unsigned by a typo");

    let hash_only = auditlog(&["verify", "--hash-only"], &[], &line);
    assert_eq!(hash_only.status.code(), Some(0));
    assert_eq!(
        text(&hash_only.stdout),
        "verified 1 events (hash only — not authenticated): 1 hashes match, 0 failed\n"
    );
    // A forger recomputes the hash: hash-only cannot tell, and says so.
    let forged = sealed(&REFUND.replace("5000.0", "1.0"));
    let unsigned_forgery = auditlog(&["seal"], &[], &REFUND.replace("5000.0", "1.0"));
    assert_ne!(forged, text(&unsigned_forgery.stdout).trim_end());
}

#[test]
fn strict_chains_fail_streams_that_prove_too_little() {
    let chained = auditlog(
        &["seal", "--chain", "c-1", "--checkpoint-every", "100"],
        &[KEY],
        &format!("{REFUND}\n{}\n", REFUND.replace("r-1", "r-2")),
    );
    assert!(chained.status.success());
    let lines = text(&chained.stdout);
    let events: Vec<&str> = lines
        .lines()
        .filter(|l| !l.contains(r#""length""#))
        .collect();
    assert_eq!(events.len(), 2, "{lines}");

    let (code, stdout, _) = verify(&["--chain", "--strict"], &lines);
    assert_eq!(code, Some(0), "{stdout}");

    // Without the checkpoint: clean by default, not under --strict.
    let no_checkpoint = format!("{}\n", events.join("\n"));
    let (code, _, _) = verify(&["--chain"], &no_checkpoint);
    assert_eq!(code, Some(0));
    let (code, stdout, _) = verify(&["--chain", "--strict"], &no_checkpoint);
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains("UNMET: chain c-1 has no checkpoint"),
        "{stdout}"
    );

    // Nothing at all, and an expected chain that is absent.
    let (code, stdout, _) = verify(&["--chain", "--strict"], "");
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains("UNMET: no chained event in the stream"),
        "{stdout}"
    );
    let (code, stdout, _) = verify(&["--chain", "--expect-chain", "c-2"], &lines);
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains("UNMET: chain c-2 is not in the stream"),
        "{stdout}"
    );

    // Only the second event: not anchored at seq 1 unless read from the middle.
    let (code, stdout, _) = verify(&["--chain", "--strict"], events[1]);
    assert_eq!(code, Some(1));
    assert!(stdout.contains("starts at seq 2"), "{stdout}");
}

#[test]
fn keys_from_the_input_cannot_write_on_the_terminal() {
    let fake = "x\nverified 1 events: 1 valid, 0 failed\n\u{1b}[2K";
    let escaped = serde_json_escape(fake);
    // A parse error names the key's path.
    let bad = format!(r#"{{"eventdata":{{"requestpayload":{{"{escaped}":NaN}}}}}}"#);
    let (_, stdout, stderr) = verify(&[], &bad);
    assert_eq!(stdout, "verified 1 events: 0 valid, 1 failed\n");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(stderr.contains(r"x\u{a}verified 1 events"), "{stderr:?}");

    // The chain report lists unauthenticated members by path.
    let line = sealed(REFUND).replacen('{', &format!(r#"{{"{escaped}":1,"#), 1);
    let (_, stdout, _) = verify(&["--chain", "--lenient"], &line);
    assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
    assert!(
        !stdout.lines().any(|l| l.starts_with("verified 1 events")),
        "{stdout:?}"
    );
}

#[test]
fn lines_past_max_line_bytes_are_reported_and_the_rest_verified() {
    let line = sealed(REFUND);
    let huge = format!(r#"{{"id":"{}"}}"#, "x".repeat(300_000));
    let input = format!("{line}\n{huge}\n{line}\n");
    let (code, stdout, stderr) = verify(&["--max-line-bytes", "100000"], &input);
    assert_eq!(code, Some(1));
    assert_eq!(stdout, "verified 3 events: 2 valid, 1 failed\n");
    assert!(
        stderr.contains(
            "line 2: line of 300009 bytes is longer than 100000 (--max-line-bytes): skipped"
        ),
        "{stderr}"
    );
}

/// `text` as the inside of a JSON string.
fn serde_json_escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' => "\\n".to_owned(),
            c if c.is_control() => format!("\\u{:04x}", u32::from(c)),
            c => c.to_string(),
        })
        .collect()
}
