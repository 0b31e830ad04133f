//! `auditlog migrate|record|query|export|prune --db URL` as a user runs
//! them: real SQLite files, and a real PostgreSQL server for the round trip.

use std::process::Output;

use crate::support::{auditlog, migrated_sqlite, succeeded, text};

const KEY: &str = "record-test-key";
const ENV: [(&str, &str); 1] = [("AUDITLOG_SIGNING_KEY", KEY)];

fn event(minute: u32, tenant: &str, action: &str) -> String {
    format!(
        r#"{{"timestamp":"2026-03-01T10:{minute:02}:00+00:00","tenantid":"{tenant}","action":{{"name":"{action}","severity":"ERROR","status":"FAILURE"}},"objectref":{{"resource":"order"}}}}"#
    )
}

fn run(args: &[&str], stdin: &str) -> Output {
    auditlog(args, &ENV, stdin)
}

/// The cursor `query --db` printed on stderr, if any.
fn next_cursor(output: &Output) -> Option<String> {
    text(&output.stderr)
        .lines()
        .find_map(|line| line.strip_prefix("next page: --after "))
        .map(str::to_owned)
}

/// record (one bad line) → query, paged → export → verify the export →
/// prune → verify the table.
fn round_trip(url: &str, dir: &std::path::Path) {
    let input = [
        event(1, "acme", "orders.ship"),
        event(2, "globex", "orders.ship"),
        r#"{"action":{"name":"x","severity":5}}"#.to_owned(),
        event(3, "acme", "=HYPERLINK(\\\"http://evil\\\")"),
        event(4, "acme", "orders.cancel"),
    ]
    .join("\n");
    let output = run(&["record", "--db", url, "--chain", "shop"], &input);
    assert_eq!(output.status.code(), Some(1), "a line failed");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("line 3: action.severity"), "{stderr}");
    assert!(
        stderr.contains("recorded 4 events in stream shop"),
        "{stderr}"
    );

    // Newest first, two a page, the cursor carried over.
    let first = run(
        &["query", "--db", url, "--tenant", "acme", "--limit", "2"],
        "",
    );
    let lines = succeeded(&first);
    assert_eq!(lines.lines().count(), 2);
    assert!(lines.lines().next().unwrap().contains("orders.cancel"));
    let cursor = next_cursor(&first).expect("a second page");
    let second = run(
        &[
            "query", "--db", url, "--tenant", "acme", "--limit", "2", "--after", &cursor,
        ],
        "",
    );
    let lines = succeeded(&second);
    assert_eq!(lines.lines().count(), 1);
    assert!(lines.contains("orders.ship"), "{lines}");
    assert_eq!(next_cursor(&second), None);
    let counts = succeeded(&run(
        &["query", "--db", url, "--counts", "--tenant", "acme"],
        "",
    ));
    assert_eq!(counts, "severity ERROR 3\nstatus FAILURE 3\n");
    let found = succeeded(&run(&["query", "--db", url, "--text", "hyperlink"], ""));
    assert_eq!(found.lines().count(), 1);

    let export = dir.join("export.jsonl");
    let jsonl = succeeded(&run(&["export", "--db", url, "--format", "jsonl"], ""));
    assert_eq!(jsonl.lines().count(), 4);
    std::fs::write(&export, &jsonl).unwrap();
    let verified = run(&["verify", "--chain", export.to_str().unwrap()], "");
    assert!(
        succeeded(&verified).contains("OK: 4 lines"),
        "{}",
        text(&verified.stdout)
    );
    let csv = succeeded(&run(
        &["export", "--db", url, "--format", "csv", "--tenant", "acme"],
        "",
    ));
    assert_eq!(csv.split("\r\n").count(), 1 + 3 + 1, "{csv}");
    assert!(
        csv.contains(",\"'=HYPERLINK(\"\"http://evil\"\")\","),
        "{csv}"
    );

    let args = ["prune", "--db", url, "--before", "2026-03-01T10:03:00Z"];
    let pruned = succeeded(&run(&args, ""));
    assert!(
        pruned.contains("removed 0 events"),
        "none delivered: {pruned}"
    );
    let pruned = succeeded(&run(&[&args[..], &["--undelivered-too"]].concat(), ""));
    assert!(pruned.contains("removed 2 events"), "{pruned}");
    let verified = succeeded(&run(&["verify", "--chain", "--db", url], ""));
    assert!(verified.contains("OK:"), "{verified}");
    // The export of a pruned table verifies from its anchor on.
    let jsonl = succeeded(&run(&["export", "--db", url, "--format", "jsonl"], ""));
    std::fs::write(&export, &jsonl).unwrap();
    let path = export.to_str().unwrap();
    let anchored = succeeded(&run(&["verify", "--chain", "--from-the-middle", path], ""));
    assert!(
        anchored.contains("the events before are vouched for by a checkpoint"),
        "{anchored}"
    );
    let left = succeeded(&run(&["query", "--db", url], ""));
    assert_eq!(
        left.lines().count(),
        3,
        "two events and the prune's own: {left}"
    );
}

#[test]
fn record_query_export_prune_and_verify_on_sqlite() {
    let (dir, url) = migrated_sqlite();
    round_trip(&url, dir.path());
}

#[test]
fn record_query_export_prune_and_verify_on_postgres() {
    let server = auditlog_testkit::TestPostgres::start();
    let dir = tempfile::tempdir().unwrap();
    succeeded(&run(&["migrate", "--db", server.url()], ""));
    round_trip(server.url(), dir.path());
}

#[test]
fn bad_input_names_what_is_wrong() {
    let output = run(&["query", "--db", "postgres//nohost"], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("bad database URL: no scheme"));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unmigrated.db");
    std::fs::File::create(&path).unwrap();
    let url = format!("sqlite://{}", path.display());
    let output = run(&["record", "--db", &url], &event(1, "a", "b"));
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("table audit_streams does not exist"),
        "{stderr}"
    );
    assert!(stderr.contains("auditlog migrate --db URL"), "{stderr}");
    let output = run(&["query", "--db", &url], "");
    assert!(text(&output.stderr).contains("table audit_events does not exist"));

    let (_dir, url) = migrated_sqlite();
    succeeded(&run(
        &["record", "--db", &url, "--chain", "shop"],
        &event(1, "acme", "a"),
    ));
    let output = run(
        &["query", "--db", &url, "--after", "c1.1.2d.0000000000000000"],
        "",
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("bad cursor"));
    let output = run(&["export", "--db", &url, "--format", "xml"], "");
    assert!(text(&output.stderr).contains("unknown format \"xml\""));
    let output = run(&["record", "--db", &url, "--key-env", "NO_SUCH_KEY"], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("NO_SUCH_KEY"));
}

#[test]
fn prune_refuses_a_table_edited_by_hand_and_verify_names_the_row() {
    let (dir, url) = migrated_sqlite();
    let input = [event(1, "acme", "a"), event(2, "acme", "b")].join("\n");
    succeeded(&run(&["record", "--db", &url, "--chain", "shop"], &input));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query("UPDATE audit_events SET tenant = 'evil' WHERE seq = 2")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    let output = run(
        &["prune", "--db", &url, "--before", "2026-03-01T11:00:00Z"],
        "",
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("pruning would erase the evidence"),
        "{stderr}"
    );
    assert!(
        stderr.contains("(stream shop, seq 2): column tenant does not match its line"),
        "{stderr}"
    );
    let output = run(&["verify", "--chain", "--db", &url], "");
    assert_eq!(output.status.code(), Some(1));
    drop(dir);
}
