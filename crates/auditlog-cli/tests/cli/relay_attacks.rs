//! `auditlog relay` against rows Kafka will not take: an event recorded
//! without trouble but larger than a Kafka message may be.

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use auditlog_core::AuditEvent;
use auditlog_kafka::mock::EmbeddedKafka;
use auditlog_seal::{ChainKey, SigningKey};
use auditlog_sql::AuditRecorder;

use crate::support::{command, exit_within};

/// Bound on the wait: reached only when `--once` never finishes.
const PATIENCE: Duration = Duration::from_secs(60);

/// A SQLite file holding a small event, one of `big` bytes, a small one.
fn database_with_a_big_row(big: usize) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        auditlog_sql::migrate(&pool).await.unwrap();
        let key = ChainKey::hmac("k1", SigningKey::new("big-row-key").unwrap()).unwrap();
        let recorder = AuditRecorder::new("orders-api", key).unwrap();
        for tenant in ["small-1".to_owned(), "x".repeat(big), "small-2".to_owned()] {
            let mut tx = pool.begin().await.unwrap();
            let event = AuditEvent::builder()
                .tenant_id(tenant)
                .action_name("orders.update")
                .build();
            recorder.record(&mut tx, event).await.unwrap();
            tx.commit().await.unwrap();
        }
        pool.close().await;
    });
    (dir, url)
}

fn undelivered(url: &str) -> i64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE delivered_at IS NULL")
            .fetch_one(&pool)
            .await
            .unwrap()
    })
}

#[test]
fn relay_once_names_a_row_too_large_for_kafka_instead_of_retrying_it_forever() {
    let (_dir, url) = database_with_a_big_row(2 << 20);
    let kafka = EmbeddedKafka::start(1).unwrap();
    kafka.create_topic("audit", 1).unwrap();
    let mut child = command(&[
        "relay",
        "--db",
        &url,
        "--brokers",
        kafka.bootstrap_servers(),
        "--topic",
        "audit",
        "--once",
    ])
    .stdin(Stdio::null())
    .spawn()
    .unwrap();
    let status = exit_within(&mut child, PATIENCE);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    eprintln!(
        "--- auditlog relay stderr (first 2000 bytes) ---\n{}",
        &stderr[..stderr.len().min(2000)]
    );
    assert_eq!(
        undelivered(&url),
        1,
        "the small rows went, the big one stays"
    );
    let status = status.expect("relay --once finished instead of retrying forever");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("message.max.bytes"), "{stderr}");
}
