//! `auditlog record|query|prune|verify --db` against hostile input and
//! careless use: each test is an attack, and asserts that it fails.

use std::process::Output;

use crate::support::{auditlog, migrated_sqlite, succeeded, text};

const KEY: &str = "attack-test-key";
const ENV: [(&str, &str); 1] = [("AUDITLOG_SIGNING_KEY", KEY)];

fn run(args: &[&str], stdin: &str) -> Output {
    auditlog(args, &ENV, stdin)
}

fn code(output: &Output) -> Option<i32> {
    output.status.code()
}

fn action(name: &str) -> String {
    format!(r#"{{"action":{{"name":"{name}"}}}}"#)
}

/// The action names `query --db` prints, newest first.
fn actions(url: &str, filters: &[&str]) -> Vec<String> {
    let mut args = vec!["query", "--db", url];
    args.extend_from_slice(filters);
    succeeded(&run(&args, ""))
        .lines()
        .map(|line| {
            // Names in these tests hold no quote or escape.
            let (_, rest) = line.split_once(r#""action":{"name":""#).unwrap();
            rest.split('"').next().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn record_names_a_duplicate_id_and_records_the_lines_after_it() {
    let (_dir, url) = migrated_sqlite();
    let input = [
        r#"{"id":"order-1","action":{"name":"first"}}"#.to_owned(),
        r#"{"id":"order-1","action":{"name":"replayed"}}"#.to_owned(),
        action("after"),
    ]
    .join("\n");
    let output = run(&["record", "--db", &url, "--chain", "s"], &input);
    let stderr = text(&output.stderr);
    assert_eq!(code(&output), Some(1), "{stderr}");
    assert!(stderr.contains("line 2: id: already recorded"), "{stderr}");
    assert!(stderr.contains("recorded 2 events"), "{stderr}");
    assert_eq!(actions(&url, &[]), ["after", "first"]);
    succeeded(&run(&["verify", "--chain", "--db", &url], ""));
}

#[test]
fn record_skips_a_line_over_the_limit_without_holding_it_and_records_the_rest() {
    let (_dir, url) = migrated_sqlite();
    // A 10 MB line under a 1 MB limit: named, skipped, the next one recorded.
    let huge = format!(
        r#"{{"action":{{"name":"huge"}},"tenantid":"{}"}}"#,
        "x".repeat(10 << 20)
    );
    let expected = format!(
        "line 2: line of {} bytes is longer than 1048576",
        huge.len()
    );
    let input = [action("before"), huge, action("after")].join("\n");
    let output = run(
        &[
            "record",
            "--db",
            &url,
            "--chain",
            "s",
            "--max-line-bytes",
            "1048576",
        ],
        &input,
    );
    let stderr = text(&output.stderr);
    assert_eq!(code(&output), Some(1), "{stderr}");
    assert!(stderr.contains(&expected), "{stderr}");
    assert_eq!(actions(&url, &[]), ["after", "before"]);
}

#[test]
fn hostile_security_members_on_stdin_are_resealed_into_the_stream() {
    let (_dir, url) = migrated_sqlite();
    // A line that claims to be a checkpoint of another chain, with a hash.
    let forged = r#"{"action":{"name":"forged"},"security":{"chain":"other","seq":7,"length":9,"hash":"00","link":"00","prev":"00"}}"#;
    succeeded(&run(&["record", "--db", &url, "--chain", "s"], forged));
    assert_eq!(actions(&url, &["--stream", "s"]), ["forged"]);
    assert!(actions(&url, &["--stream", "other"]).is_empty());
    let verified = succeeded(&run(&["verify", "--chain", "--db", &url], ""));
    assert!(verified.contains("1 valid"), "{verified}");
}

#[test]
fn time_filters_and_prune_compare_instants_not_offset_text() {
    let (_dir, url) = migrated_sqlite();
    // 23:00 at -05:00 is 04:00 UTC the next day: after the cut, though its
    // text sorts before it.
    let input = [
        r#"{"timestamp":"2026-03-01T09:00:00+00:00","action":{"name":"old"}}"#,
        r#"{"timestamp":"2026-03-01T23:00:00-05:00","action":{"name":"late-offset"}}"#,
    ]
    .join("\n");
    succeeded(&run(&["record", "--db", &url, "--chain", "s"], &input));
    let midnight = "2026-03-02T00:00:00Z";
    assert_eq!(actions(&url, &["--since", midnight]), ["late-offset"]);
    assert_eq!(actions(&url, &["--until", midnight]), ["old"]);
    let pruned = succeeded(&run(
        &[
            "prune",
            "--db",
            &url,
            "--before",
            midnight,
            "--undelivered-too",
        ],
        "",
    ));
    assert!(pruned.contains("removed 1 events"), "{pruned}");
    assert!(
        actions(&url, &[]).contains(&"late-offset".to_owned()),
        "an event after the cut survives the prune"
    );
    succeeded(&run(&["verify", "--chain", "--db", &url], ""));
}

#[test]
fn a_timestamp_that_is_no_time_stops_the_prune_instead_of_sorting_first() {
    let (_dir, url) = migrated_sqlite();
    // "0" sorts before every year as text: kept verbatim, it would be pruned
    // as the oldest event (and every event before it in the stream with it).
    let input = [
        r#"{"timestamp":"0","action":{"name":"not-a-time"}}"#,
        r#"{"timestamp":"2026-03-01T09:00:00+00:00","action":{"name":"old"}}"#,
    ]
    .join("\n");
    succeeded(&run(&["record", "--db", &url, "--chain", "s"], &input));
    assert_eq!(actions(&url, &["--until", "2026-03-02T00:00:00Z"]), ["old"]);
    let pruned = succeeded(&run(
        &[
            "prune",
            "--db",
            &url,
            "--before",
            "2026-03-02T00:00:00Z",
            "--undelivered-too",
        ],
        "",
    ));
    assert!(pruned.contains("removed 0 events"), "{pruned}");
    assert_eq!(actions(&url, &[]).len(), 2);
}

#[test]
fn query_escapes_bidi_and_control_characters_from_a_row() {
    let (_dir, url) = migrated_sqlite();
    let input = r#"{"action":{"name":"pay\u202eevil\u0007"},"tenantid":"t\u001b[2J"}"#;
    succeeded(&run(&["record", "--db", &url, "--chain", "s"], input));
    for args in [
        vec!["query", "--db", &url],
        vec!["query", "--db", &url, "--counts"],
        vec!["query", "--db", &url, "--tenant", "t\u{1b}[2J"],
    ] {
        let output = run(&args, "");
        let shown = succeeded(&output) + &text(&output.stderr);
        for raw in ['\u{202e}', '\u{7}', '\u{1b}'] {
            assert!(!shown.contains(raw), "{args:?} printed {raw:?}: {shown}");
        }
    }
}

#[test]
fn database_errors_never_print_the_password_of_the_url() {
    for url in [
        "postgres://auditor:hunter2@nonexistent.invalid/audit",
        "postgres://auditor:hunter2@127.0.0.1:5432/audit?sslmode=bogus",
        "postgresql://auditor:hunter2@[::1/audit",
    ] {
        for args in [
            vec!["query", "--db", url],
            vec!["verify", "--chain", "--db", url],
            vec!["migrate", "--db", url],
        ] {
            let output = run(&args, "");
            let shown = text(&output.stdout) + &text(&output.stderr);
            assert_eq!(code(&output), Some(2), "{args:?}: {shown}");
            assert!(!shown.contains("hunter2"), "{args:?}: {shown}");
        }
    }
}

#[test]
fn record_keeps_huge_numbers_verifiable_and_names_an_overflow() {
    let (_dir, url) = migrated_sqlite();
    let input = [
        r#"{"action":{"name":"big"},"eventdata":{"requestpayload":{"k":123456789012345678901234567890,"m":-0.0,"s":9007199254740993}}}"#,
        r#"{"action":{"name":"inf"},"eventdata":{"requestpayload":{"n":1e400}}}"#,
    ]
    .join("\n");
    let output = run(&["record", "--db", &url, "--chain", "s"], &input);
    let stderr = text(&output.stderr);
    assert_eq!(code(&output), Some(1), "{stderr}");
    assert!(
        stderr.contains("line 2: eventdata.requestpayload.n: number 1e400 overflows"),
        "{stderr}"
    );
    succeeded(&run(&["verify", "--chain", "--db", &url], ""));
    let exported = succeeded(&run(
        &["export", "--db", &url, "--format", "jsonl", "--events-only"],
        "",
    ));
    let verified = succeeded(&run(&["verify"], &exported));
    assert!(verified.contains("1 valid, 0 failed"), "{verified}");
}

#[test]
fn verify_db_escapes_stream_names_a_database_writer_forged() {
    let (_dir, url) = migrated_sqlite();
    succeeded(&run(
        &["record", "--db", &url, "--chain", "s"],
        &action("real"),
    ));
    let forged_stream = "s\u{1b}[2J\n\u{202e}OK: 1 lines";
    let line = r#"{"action":{"name":"x"},"id":"evil","security":{"chain":"s\u001b[2J","hash":"aa","link":"bb","seq":1}}"#;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query(
            "INSERT INTO audit_events (stream, seq, is_checkpoint, event_id, line, hash, link) \
             VALUES ($1, 1, false, 'evil', $2, 'aa', 'bb')",
        )
        .bind(forged_stream)
        .bind(line)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO audit_streams (stream, next_seq, last_hash) VALUES ($1, 5, 'zz')")
            .bind("t\u{1b}]0;pwned\u{7}")
            .execute(&pool)
            .await
            .unwrap();
    });
    let output = run(&["verify", "--chain", "--db", &url], "");
    let shown = text(&output.stdout) + &text(&output.stderr);
    assert_eq!(code(&output), Some(1), "{shown}");
    for raw in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(!shown.contains(raw), "printed {raw:?}: {shown}");
    }
    assert!(
        !shown.lines().any(|l| l.starts_with("OK: 1 lines")),
        "{shown}"
    );
    assert!(shown.contains("rows but no counter row"), "{shown}");
}
