//! `auditlog verify --chain --db URL` on a real SQLite file.

use auditlog_core::AuditEvent;
use auditlog_seal::{ChainKey, SigningKey};
use auditlog_sql::AuditRecorder;

use crate::support::{auditlog, text};

const KEY: &str = "sql-test-key";

/// A database file with `n` recorded events.
fn database(n: u64) -> (tempfile::TempDir, String) {
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
        let key = ChainKey::hmac("k1", SigningKey::new(KEY).unwrap()).unwrap();
        let recorder = AuditRecorder::new("billing", key)
            .unwrap()
            .checkpoint_every(2);
        for n in 0..n {
            let mut tx = pool.begin().await.unwrap();
            let event = AuditEvent::builder()
                .action_name(format!("invoice.{n}"))
                .build();
            recorder.record(&mut tx, event).await.unwrap();
            tx.commit().await.unwrap();
        }
        if n > 0 {
            sqlx::query(
                "UPDATE audit_events SET action = 'invoice.x' WHERE seq = 1 AND NOT is_checkpoint",
            )
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    });
    (dir, url)
}

#[test]
fn verify_db_reports_a_row_edited_by_hand() {
    let (_dir, url) = database(3);
    let env = [("AUDITLOG_SIGNING_KEY", KEY)];
    let output = auditlog(&["verify", "--chain", "--db", &url], &env, "");
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("column action does not match its line"),
        "{stdout}"
    );
}

#[test]
fn verify_db_passes_a_clean_table_and_names_a_bad_url() {
    let (_dir, url) = database(0);
    let env = [("AUDITLOG_SIGNING_KEY", KEY)];
    let output = auditlog(&["verify", "--chain", "--db", &url], &env, "");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));

    let output = auditlog(&["verify", "--chain", "--db", "mysql://x/y"], &env, "");
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("unknown scheme \"mysql\""));
}
