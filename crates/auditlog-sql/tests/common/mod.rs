//! The tests every backend passes, as a macro: each backend's test file
//! expands it with a function that opens a fresh, migrated pool on a real
//! database (and a guard that removes the database on drop).

use auditlog_core::AuditEvent;
use auditlog_seal::{ChainKey, Keyring, SigningKey};
use auditlog_sql::AuditRecorder;

pub(crate) mod attacks;
pub(crate) mod query;

pub(crate) fn key() -> ChainKey {
    ChainKey::hmac("k-2026", SigningKey::new("test-secret").unwrap()).unwrap()
}

pub(crate) fn keyring() -> Keyring {
    let mut ring = Keyring::new();
    ring.add(key()).unwrap();
    ring
}

pub(crate) fn recorder() -> AuditRecorder {
    AuditRecorder::new("orders-api", key())
        .unwrap()
        .checkpoint_every(4)
}

pub(crate) fn order_event(order: u64, tenant: &str) -> AuditEvent {
    AuditEvent::builder()
        .tenant_id(tenant)
        .action_name("orders.update")
        .resource("order")
        .resource_id(order.to_string())
        .build()
}

/// Rolls back one in three, spread over writers and rounds.
pub(crate) fn rolls_back(writer: u64, round: u64) -> bool {
    (writer * 7 + round * 5).is_multiple_of(3)
}

/// The tests every backend passes; `$open` opens a fresh migrated pool.
#[macro_export]
macro_rules! backend_suite {
    ($open:path) => {
        use auditlog_seal::StreamVerifier;
        use auditlog_sql::verify_table;
        use common::{keyring, order_event, recorder, rolls_back};

        async fn count(pool: &sqlx::Pool<Db>, sql: &str) -> i64 {
            sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
        }

        async fn exec(pool: &sqlx::Pool<Db>, sql: &str) {
            sqlx::query(sql).execute(pool).await.unwrap();
        }

        async fn verify(pool: &sqlx::Pool<Db>) -> auditlog_sql::TableReport {
            let keys = keyring();
            verify_table(pool, StreamVerifier::new(&keys)).await.unwrap()
        }

        /// Records `n` events, each committed with an order row.
        async fn record_orders(pool: &sqlx::Pool<Db>, n: u64) {
            exec(pool, "CREATE TABLE IF NOT EXISTS orders (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)").await;
            let recorder = recorder();
            for order in 1..=n {
                let mut tx = pool.begin().await.unwrap();
                sqlx::query(&format!("INSERT INTO orders VALUES ({order}, 0)"))
                    .execute(&mut *tx).await.unwrap();
                recorder.record(&mut tx, order_event(order, "acme")).await.unwrap();
                tx.commit().await.unwrap();
            }
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_committed_event_exists_and_a_rolled_back_one_never_did() {
            let (pool, _guard) = $open().await;
            exec(&pool, "CREATE TABLE orders (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)").await;
            let recorder = recorder();

            let mut tx = pool.begin().await.unwrap();
            exec_in(&mut tx, "INSERT INTO orders VALUES (1, 0)").await;
            let gone = recorder.record(&mut tx, order_event(1, "acme")).await.unwrap();
            tx.rollback().await.unwrap();
            assert_eq!(gone.seq, 1);
            assert_eq!(count(&pool, "SELECT count(*) FROM audit_events").await, 0);
            assert_eq!(count(&pool, "SELECT count(*) FROM orders").await, 0);

            let mut tx = pool.begin().await.unwrap();
            exec_in(&mut tx, "INSERT INTO orders VALUES (2, 0)").await;
            let kept = recorder.record(&mut tx, order_event(2, "acme")).await.unwrap();
            tx.commit().await.unwrap();
            // The rollback gave its seq back: no gap.
            assert_eq!(kept.seq, 1);
            assert_ne!(kept.event_id, gone.event_id);
            assert_eq!(count(&pool, "SELECT count(*) FROM audit_events").await, 1);
            assert_eq!(count(&pool, "SELECT count(*) FROM orders").await, 1);
            let line: String = sqlx::query_scalar("SELECT line FROM audit_events")
                .fetch_one(&pool).await.unwrap();
            assert!(line.contains(&kept.event_id));
            assert_eq!(count(&pool, "SELECT count(*) FROM audit_events WHERE delivered_at IS NULL").await, 1);
            let report = verify(&pool).await;
            assert!(report.is_clean(), "{report}");
        }

        async fn exec_in(tx: &mut sqlx::Transaction<'_, Db>, sql: &str) {
            sqlx::query(sql).execute(&mut **tx).await.unwrap();
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_writers_with_rollbacks_leave_no_gap_and_the_chain_verifies() {
            let (pool, _guard) = $open().await;
            exec(&pool, "CREATE TABLE orders (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)").await;
            exec(&pool, "INSERT INTO orders VALUES (1, 0)").await;
            let (writers, rounds) = (6u64, 12u64);
            let mut tasks = Vec::new();
            for writer in 0..writers {
                let pool = pool.clone();
                tasks.push(tokio::spawn(async move {
                    let recorder = recorder();
                    let mut committed = 0u64;
                    for round in 0..rounds {
                        let mut tx = pool.begin().await.unwrap();
                        // The business change first: on SQLite it takes the
                        // write lock, as a service's update would.
                        exec_in(&mut tx, "UPDATE orders SET n = n + 1 WHERE id = 1").await;
                        recorder.record(&mut tx, order_event(writer, "acme")).await.unwrap();
                        tokio::task::yield_now().await;
                        if rolls_back(writer, round) {
                            tx.rollback().await.unwrap();
                        } else {
                            tx.commit().await.unwrap();
                            committed += 1;
                        }
                    }
                    committed
                }));
            }
            let mut committed = 0;
            for task in tasks {
                committed += task.await.unwrap();
            }
            let expected: u64 = (0..writers)
                .flat_map(|w| (0..rounds).map(move |r| u64::from(!rolls_back(w, r))))
                .sum();
            assert_eq!(committed, expected);
            let seqs: Vec<i64> = sqlx::query_scalar(
                "SELECT seq FROM audit_events WHERE NOT is_checkpoint ORDER BY seq",
            )
            .fetch_all(&pool).await.unwrap();
            let gap_free: Vec<i64> = (1..=committed as i64).collect();
            assert_eq!(seqs, gap_free, "no gap, no duplicate");
            assert_eq!(count(&pool, "SELECT n FROM orders WHERE id = 1").await, committed as i64);
            let report = verify(&pool).await;
            assert!(report.is_clean(), "{report}");
            assert_eq!(report.lines.chains["orders-api"].last, Some(committed));
            assert_eq!(report.lines.chains["orders-api"].checkpointed, Some(committed / 4 * 4));
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_line_edited_by_hand_is_caught() {
            let (pool, _guard) = $open().await;
            record_orders(&pool, 3).await;
            exec(&pool, "UPDATE audit_events SET line = replace(line, '\"acme\"', '\"evil\"') WHERE seq = 2 AND NOT is_checkpoint").await;
            let report = verify(&pool).await;
            assert!(!report.is_clean());
            assert_eq!(report.lines.invalid.len(), 1, "{report}");
            assert_eq!(report.lines.invalid[0].seq, Some(2));
            // The tenant column still says acme: the line disagrees with it.
            assert_eq!(report.rows[0].column, "tenant");
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_column_edited_by_hand_is_caught() {
            let (pool, _guard) = $open().await;
            record_orders(&pool, 3).await;
            exec(&pool, "UPDATE audit_events SET tenant = 'other' WHERE seq = 3").await;
            let report = verify(&pool).await;
            assert!(!report.is_clean());
            assert!(report.lines.is_clean(), "the lines are untouched: {report}");
            assert_eq!(report.rows.len(), 1);
            assert_eq!((report.rows[0].seq, report.rows[0].column), (3, "tenant"));
            assert!(report.to_string().contains("column tenant does not match its line"));
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_row_deleted_in_the_middle_is_missing() {
            let (pool, _guard) = $open().await;
            record_orders(&pool, 5).await;
            exec(&pool, "DELETE FROM audit_events WHERE seq = 2 AND NOT is_checkpoint").await;
            let report = verify(&pool).await;
            assert!(!report.is_clean());
            assert_eq!(report.lines.chains["orders-api"].missing, [2..=2]);
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn the_last_row_deleted_disagrees_with_the_counter() {
            let (pool, _guard) = $open().await;
            record_orders(&pool, 6).await;
            exec(&pool, "DELETE FROM audit_events WHERE seq = 6").await;
            let report = verify(&pool).await;
            assert!(report.lines.is_clean(), "seq 5 ends the chain well: {report}");
            assert!(!report.is_clean());
            assert_eq!(report.counters.len(), 1);
            assert!(report.counters[0].contains("counter says 6 events"), "{report}");
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn two_rows_swapped_are_caught() {
            let (pool, _guard) = $open().await;
            record_orders(&pool, 3).await;
            // Move event 3 to seq 1 and event 1 to seq 3 (the lines travel
            // with their rows).
            exec(&pool, "UPDATE audit_events SET seq = -1 WHERE seq = 1").await;
            exec(&pool, "UPDATE audit_events SET seq = 1 WHERE seq = 3").await;
            exec(&pool, "UPDATE audit_events SET seq = 3 WHERE seq = -1").await;
            let report = verify(&pool).await;
            assert!(!report.is_clean());
            assert!(report.rows.iter().any(|r| r.column == "seq"), "{report}");
            assert!(!report.lines.chains["orders-api"].reordered.is_empty(), "{report}");
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn the_sink_commits_each_event() {
            use auditlog_sink::AuditSink;
            let (pool, _guard) = $open().await;
            let sink = auditlog_sql::SqlSink::new(pool.clone(), recorder());
            sink.publish_durable(order_event(1, "acme")).await.unwrap();
            sink.publish(order_event(2, "acme")).await.unwrap();
            sink.flush(std::time::Duration::from_secs(1)).await.unwrap();
            assert_eq!(count(&pool, "SELECT count(*) FROM audit_events WHERE NOT is_checkpoint").await, 2);
            assert!(verify(&pool).await.is_clean());
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_checkpoint_on_demand_vouches_for_the_tail() {
            let (pool, _guard) = $open().await;
            record_orders(&pool, 3).await;
            let keys = keyring();
            let strict = || StreamVerifier::new(&keys).strict_chains();
            let report = verify_table(&pool, strict()).await.unwrap();
            assert!(!report.is_clean(), "three events, no checkpoint yet: {report}");

            let mut tx = pool.begin().await.unwrap();
            let length = recorder().checkpoint(&mut tx).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(length, 3);
            let report = verify_table(&pool, strict()).await.unwrap();
            assert!(report.is_clean(), "{report}");
            assert_eq!(report.lines.chains["orders-api"].checkpointed, Some(3));
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn migrating_twice_is_harmless() {
            let (pool, _guard) = $open().await;
            auditlog_sql::migrate(&pool).await.unwrap();
            assert_eq!(count(&pool, "SELECT count(*) FROM audit_streams").await, 0);
        }
    };
}
