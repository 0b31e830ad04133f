//! `auditlog canonical`, `seal` and `verify`, run as a user runs them: JSON
//! lines in, results out.

use crate::support::{auditlog, text};

const WORKED_EXAMPLE: &str = r#"{"id":"x","action":{"name":"é","method":"GET"},"eventdata":{"requestpayload":{"b":[null,"",{}],"a":1e16,"c":1e-5,"d":123456789012345678901234,"e":"\u007f\ud83d\ude00","f":{"g":null}}}}"#;

#[test]
fn canonical_prints_the_hashed_text_and_reports_bad_lines_by_number() {
    let input = format!(
        "{WORKED_EXAMPLE}\n{{\"eventdata\":{{\"requestpayload\":[]}}}}\n\n{{\"id\":\"y\"}}\n"
    );
    let output = auditlog(&["canonical"], &[], &input);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stdout),
        "{\"action\":{\"method\":\"GET\",\"name\":\"\\u00e9\"},\"eventdata\":{\"requestpayload\":{\"a\":1e+16,\"b\":[null,\"\",{}],\"c\":1e-05,\"d\":123456789012345678901234,\"e\":\"\\u007f\\ud83d\\ude00\"}},\"id\":\"x\"}\n{\"id\":\"y\"}\n"
    );
    assert_eq!(
        text(&output.stderr),
        "line 2: eventdata.requestpayload: expected an object, found an array\n"
    );
}

#[test]
fn seal_signs_with_the_key_from_the_environment() {
    let output = auditlog(&["seal"], &[("AUDITLOG_SIGNING_KEY", "k")], WORKED_EXAMPLE);
    assert!(output.status.success());
    let published = text(&output.stdout);
    assert!(published.ends_with(r#""id":"x","security":{"hash":"af2941233dd3d2547e4108711020b74cf48de76557628c9dcdabcc3019b52c5f","signature":"bb320fd218ced6792d4b111295732ee6810fdd8d0faff5fcfbfd62a5981f36b8"}}
"#), "{published}");

    let custom = auditlog(
        &["seal", "--key-env", "MY_KEY"],
        &[("MY_KEY", "k")],
        WORKED_EXAMPLE,
    );
    assert_eq!(custom.stdout, output.stdout);
}

#[test]
fn seal_without_a_key_hashes_only_and_says_so() {
    let output = auditlog(&["seal"], &[], WORKED_EXAMPLE);
    assert!(output.status.success());
    assert!(!text(&output.stdout).contains("signature"));
    assert!(text(&output.stderr).contains("AUDITLOG_SIGNING_KEY is not set"));
}

#[test]
fn verify_names_each_failed_check_and_summarizes() {
    let sealed =
        text(&auditlog(&["seal"], &[("AUDITLOG_SIGNING_KEY", "k")], WORKED_EXAMPLE).stdout);
    let sealed = sealed.trim_end();
    let tampered = sealed.replace("GET", "PUT");
    let unsigned = text(&auditlog(&["seal"], &[], WORKED_EXAMPLE).stdout);
    let extra = sealed.replacen('{', r#"{"approved":true,"#, 1);
    let input = format!(
        "{sealed}\n{tampered}\n{}\n{extra}\nnot json\n",
        unsigned.trim_end()
    );

    let output = auditlog(&["verify"], &[("AUDITLOG_SIGNING_KEY", "k")], &input);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stdout),
        "verified 5 events: 1 valid, 4 failed\n"
    );
    let stderr = text(&output.stderr);
    assert!(stderr.contains("line 2: hash mismatch"), "{stderr}");
    assert!(stderr.contains("line 3: no signature"), "{stderr}");
    assert!(
        stderr.contains("line 4: not in published form: differs from byte 3"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 5: event: malformed JSON at column 1"),
        "{stderr}"
    );

    let wrong_key = auditlog(&["verify"], &[("AUDITLOG_SIGNING_KEY", "other")], sealed);
    assert_eq!(wrong_key.status.code(), Some(1));
    assert!(text(&wrong_key.stderr).contains("line 1: signature mismatch"));
}

#[test]
fn the_key_is_never_taken_from_the_command_line() {
    let output = auditlog(&["seal", "--key", "k"], &[], WORKED_EXAMPLE);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
}
