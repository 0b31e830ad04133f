//! `auditlog demo --db PATH`: the orders in a SQLite file, each change
//! recorded with its audit event in one transaction and relayed to the
//! embedded Kafka; then `auditlog query` and `auditlog verify --chain` on
//! that file, as a user would run them.

use std::path::Path;

use auditlog_core::AuditEvent;
use auditlog_seal::SigningKey;

use crate::support::{auditlog, text};

const KEY: &str = "demo-db-test-key";

/// Runs the tour on `db`, writing what it read back to `events`; returns stdout.
fn tour(db: &Path, events: &Path) -> String {
    let output = auditlog(
        &[
            "demo",
            "--db",
            db.to_str().unwrap(),
            "--events-out",
            events.to_str().unwrap(),
        ],
        &[("AUDITLOG_SIGNING_KEY", KEY)],
        "",
    );
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    stdout
}

/// The lines `auditlog query --db URL ARGS` prints, each verified.
fn query(url: &str, args: &[&str]) -> Vec<(String, AuditEvent)> {
    let mut all = vec!["query", "--db", url];
    all.extend_from_slice(args);
    let output = auditlog(&all, &[("AUDITLOG_SIGNING_KEY", KEY)], "");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let key = SigningKey::new(KEY).unwrap();
    text(&output.stdout)
        .lines()
        .map(|line| {
            let verified = auditlog_seal::verify_json(line, Some(&key))
                .unwrap_or_else(|e| panic!("{e}: {line}"));
            (line.to_owned(), verified.event)
        })
        .collect()
}

/// `(undelivered rows, all rows, orders left)` in the database.
fn counts(url: &str) -> (i64, i64, i64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let count = |sql: &'static str| {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        let counts = (
            count("SELECT count(*) FROM audit_events WHERE delivered_at IS NULL").await,
            count("SELECT count(*) FROM audit_events").await,
            count("SELECT count(*) FROM demo_orders").await,
        );
        pool.close().await;
        counts
    })
}

fn verify_chain(url: &str) -> String {
    let output = auditlog(
        &["verify", "--chain", "--strict", "--db", url],
        &[("AUDITLOG_SIGNING_KEY", KEY)],
        "",
    );
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    stdout
}

#[test]
fn the_tour_on_sqlite_records_each_order_change_in_its_transaction_and_relays_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let events = dir.path().join("events.jsonl");
    let url = format!("sqlite://{}", db.display());

    let stdout = tour(&db, &events);
    // The seeded order 1, POST order 2, DELETE 2, DELETE 1, and the
    // checkpoint written at shutdown.
    assert!(
        stdout.contains("(5 of them relayed from the database: order events and checkpoints)"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("auditlog query --db {url}")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("auditlog verify --chain --db {url}")),
        "{stdout}"
    );

    let created = query(&url, &["--action", "orders.create"]);
    let ids: Vec<_> = created
        .iter()
        .map(|(_, e)| e.objectref.clone().unwrap().resourceid.unwrap())
        .collect();
    assert_eq!(ids, ["2", "1"], "newest first");
    // Who: the authenticated caller; what: the order after, its card and
    // token redacted.
    let (_, order_2) = &created[0];
    assert_eq!(order_2.tenantid.as_deref(), Some("acme"));
    assert_eq!(
        order_2.subject.as_ref().unwrap().userid.as_deref(),
        Some("bob")
    );
    assert_eq!(order_2.transactionid.as_deref(), Some("checkout-7f3a"));
    let after = order_2.eventdata.as_ref().unwrap().responsepayload["after"].to_json();
    assert!(after.contains(r#""item":"coffee beans""#), "{after}");
    assert!(after.contains(r#""card":"[REDACTED]""#), "{after}");
    assert!(!after.contains("4111"), "{after}");

    let deleted = query(&url, &["--action", "orders.delete"]);
    assert_eq!(deleted.len(), 2);
    let (_, order_1) = &deleted[0];
    assert_eq!(
        order_1.subject.as_ref().unwrap().userid.as_deref(),
        Some("billing-service")
    );
    let before = order_1.eventdata.as_ref().unwrap().requestpayload["before"].to_json();
    assert!(before.contains(r#""item":"espresso machine""#), "{before}");

    assert!(verify_chain(&url).contains("OK: 5 lines"));
    // Every row was relayed and marked; both orders are gone, as the events say.
    assert_eq!(counts(&url), (0, 5, 0));
    // What the demo read back from Kafka holds each row's line byte for byte.
    let read_back = std::fs::read_to_string(&events).unwrap();
    for (line, _) in created.iter().chain(&deleted) {
        assert!(
            read_back.lines().any(|l| l == line),
            "not on the topic: {line}"
        );
    }

    // A second run continues the same chain: order 3 created; orders 1 and
    // 2 are gone, so the tour's deletes answer 404 and record nothing.
    let stdout = tour(&db, &events);
    assert!(
        stdout.contains("(2 of them relayed from the database: order events and checkpoints)"),
        "{stdout}"
    );
    let created = query(&url, &["--action", "orders.create"]);
    assert_eq!(created.len(), 3);
    assert_eq!(created[0].1.security.as_ref().unwrap().seq, Some(5));
    assert!(verify_chain(&url).contains("OK: 7 lines"));
    assert_eq!(counts(&url), (0, 7, 1));
}

#[test]
fn without_a_signing_key_the_demo_refuses_db() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let output = auditlog(&["demo", "--db", db.to_str().unwrap()], &[], "");
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("--db") && stderr.contains("set $AUDITLOG_SIGNING_KEY"),
        "{stderr}"
    );
    assert!(!db.exists(), "nothing created");
}
