//! `auditlog query` over files and stdin.

use std::process::Output;

use crate::support::auditlog;

fn event(id: &str, tenant: &str, severity: &str, timestamp: &str) -> String {
    format!(
        r#"{{"id":"{id}","tenantid":"{tenant}","timestamp":"{timestamp}","subject":{{"userid":"u-{id}"}},"objectref":{{"resource":"orders"}},"action":{{"name":"login","severity":"{severity}","status":"FAILURE"}}}}"#
    )
}

fn ids(output: &Output) -> Vec<String> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| line.split('"').nth(3).unwrap().to_owned())
        .collect()
}

fn input() -> String {
    [
        event("1", "a", "INFO", "2026-11-23T08:00:00+00:00"),
        event("2", "b", "ERROR", "2026-11-23T09:00:00+00:00"),
        event("3", "a", "WARNING", "2026-11-23T10:00:00.5+00:00"),
        "not json".to_owned(),
        event("4", "a", "CRITICAL", "2026-11-23T11:00:00+00:00"),
    ]
    .join("\n")
}

#[test]
fn filters_combine_and_bad_lines_are_reported() {
    let output = auditlog(
        &["query", "--tenant", "a", "--min-severity", "warning"],
        &[],
        &input(),
    );
    assert_eq!(ids(&output), ["3", "4"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("line 4: event: malformed JSON"),
        "{stderr}"
    );
}

#[test]
fn time_range_and_limit_keep_the_newest_in_input_order() {
    let output = auditlog(
        &[
            "query",
            "--since",
            "2026-11-23T08:30:00Z",
            "--until",
            "2026-11-23T11:00:00Z",
            "--limit",
            "1",
        ],
        &[],
        &input(),
    );
    assert_eq!(ids(&output), ["3"]);
    let all = auditlog(
        &[
            "query", "--limit", "2", "--status", "FAILURE", "--user", "u-2",
        ],
        &[],
        &input(),
    );
    assert_eq!(ids(&all), ["2"]);
}

#[test]
fn reads_files_and_names_them_in_errors() {
    let dir = std::env::temp_dir().join(format!("auditlog-query-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let first = dir.join("first.jsonl");
    let second = dir.join("second.jsonl");
    std::fs::write(&first, input()).unwrap();
    std::fs::write(
        &second,
        event("5", "a", "ERROR", "2026-11-24T00:00:00+00:00"),
    )
    .unwrap();
    let output = auditlog(
        &[
            "query",
            "--tenant",
            "a",
            "--resource",
            "orders",
            first.to_str().unwrap(),
            second.to_str().unwrap(),
        ],
        &[],
        "",
    );
    assert_eq!(ids(&output), ["1", "3", "4", "5"]);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("first.jsonl: line 4:"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_filter_values_are_refused_up_front() {
    let output = auditlog(&["query", "--min-severity", "LOUD"], &[], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8(output.stderr)
        .unwrap()
        .contains("unknown severity"));
}
