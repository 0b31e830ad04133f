//! Attacks every backend must withstand, as a macro expanded after
//! `backend_suite!` and `query_suite!` (whose helpers it uses): someone who
//! can write the database but lacks the key, and careless callers.

/// The attack suite; expand after `query_suite!` in the same module.
#[macro_export]
macro_rules! attack_suite {
    ($open:path) => {
        async fn record_in(
            pool: &sqlx::Pool<Db>,
            stream: &str,
            minutes: impl IntoIterator<Item = u32>,
        ) {
            let recorder = auditlog_sql::AuditRecorder::new(stream, common::key()).unwrap();
            for minute in minutes {
                let mut tx = pool.begin().await.unwrap();
                let event = common::query::event_at(minute, "acme", "INFO", "order");
                recorder.record(&mut tx, event).await.unwrap();
                tx.commit().await.unwrap();
            }
        }

        /// Renames `from` to `to` in both tables.
        async fn rename_stream(pool: &sqlx::Pool<Db>, from: &str, to: &str) {
            for table in ["audit_events", "audit_streams"] {
                sqlx::query(&format!("UPDATE {table} SET stream = $1 WHERE stream = $2"))
                    .bind(to)
                    .bind(from)
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn attack_two_streams_swapped_with_their_counters_are_caught() {
            let (pool, _guard) = $open().await;
            record_in(&pool, "payments", 1..=3).await;
            record_in(&pool, "refunds", 4..=6).await;
            assert!(verify(&pool).await.is_clean());
            rename_stream(&pool, "payments", "swap").await;
            rename_stream(&pool, "refunds", "payments").await;
            rename_stream(&pool, "swap", "refunds").await;
            let report = verify(&pool).await;
            assert!(!report.is_clean());
            assert!(
                report.rows.iter().any(|row| row.column == "stream"),
                "{report}"
            );
            assert_eq!(report.rows.len(), 6, "{report}");
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn attack_an_anchor_replayed_from_another_stream_is_caught() {
            let (pool, _guard) = $open().await;
            record_in(&pool, "payments", 1..=4).await;
            record_in(&pool, "refunds", 1..=4).await;
            let pruned = prune(&pool, &common::query::at(3)).await.unwrap();
            assert_eq!(pruned.events(), 4, "two events of each stream");
            assert!(verify(&pool).await.is_clean());
            // The refunds anchor's line replaced by the payments anchor's
            // (valid under the key, same length): columns left as they were.
            exec(
                &pool,
                "UPDATE audit_events SET line = (SELECT line FROM audit_events \
                 WHERE stream = 'payments' AND is_checkpoint AND seq = 2) \
                 WHERE stream = 'refunds' AND is_checkpoint AND seq = 2",
            )
            .await;
            let report = verify(&pool).await;
            assert!(!report.is_clean(), "{report}");
            assert!(
                report.rows.iter().any(|row| row.stream == "refunds"),
                "{report}"
            );
            assert!(
                report.anchors.iter().any(|a| a.contains("stream refunds")),
                "{report}"
            );
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn attack_a_prune_before_something_that_is_no_time_deletes_nothing() {
            let (pool, _guard) = $open().await;
            record_at(&pool, 1..=4).await;
            // As text, each sorts after every timestamp: all would go.
            for before in ["yesterday", "30d", "9999", ""] {
                let error = prune(&pool, before).await.unwrap_err();
                assert!(
                    matches!(error, auditlog_sql::Error::BadQuery { .. }),
                    "{before}: {error}"
                );
                assert!(error.to_string().contains("nothing was deleted"), "{error}");
            }
            assert_eq!(
                count(
                    &pool,
                    "SELECT count(*) FROM audit_events WHERE NOT is_checkpoint"
                )
                .await,
                4
            );
            // `Z` and `+00:00` name the same instant.
            let pruned = prune(&pool, "2026-03-01T10:03:00Z").await.unwrap();
            assert_eq!(pruned.events(), 2);
            assert!(verify(&pool).await.is_clean());
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn attack_two_prunes_racing_with_a_writer_leave_a_verifiable_table() {
            let (pool, _guard) = $open().await;
            record_at(&pool, 1..=20).await;
            let writer = {
                let pool = pool.clone();
                tokio::spawn(async move {
                    for minute in 21..=30 {
                        record_at(&pool, [minute]).await;
                    }
                })
            };
            let first = tokio::spawn({
                let pool = pool.clone();
                async move { prune(&pool, &common::query::at(11)).await }
            });
            let second = tokio::spawn({
                let pool = pool.clone();
                async move { prune(&pool, &common::query::at(16)).await }
            });
            let first = first.await.unwrap().unwrap();
            let second = second.await.unwrap().unwrap();
            writer.await.unwrap();
            // Events 1..=15 went once, whichever prune ran first.
            assert_eq!(first.events() + second.events(), 15);
            let report = verify(&pool).await;
            assert!(report.is_clean(), "{report}");
            let chain = &report.lines.chains["orders-api"];
            assert_eq!(chain.first, Some(16), "{report}");
            // 15 events left of 1..=30, and one prune event per prune that cut.
            let prunes = [&first, &second].iter().filter(|p| p.events() > 0).count() as i64;
            assert_eq!(
                count(
                    &pool,
                    "SELECT count(*) FROM audit_events WHERE NOT is_checkpoint"
                )
                .await,
                15 + prunes
            );
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn attack_a_replayed_event_id_fails_its_record_and_leaves_the_chain_whole() {
            let (pool, _guard) = $open().await;
            let recorder = recorder();
            let with_id = |id: &str| {
                let mut event = order_event(1, "acme");
                event.id = Some(id.to_owned());
                event
            };
            let mut tx = pool.begin().await.unwrap();
            recorder.record(&mut tx, with_id("order-1")).await.unwrap();
            tx.commit().await.unwrap();
            // A careless caller commits although `record` failed.
            let mut tx = pool.begin().await.unwrap();
            let error = recorder
                .record(&mut tx, with_id("order-1"))
                .await
                .unwrap_err();
            assert!(
                matches!(error, auditlog_sql::Error::BadEvent { .. }),
                "{error}"
            );
            assert!(error.to_string().contains("already recorded"), "{error}");
            let _ = tx.commit().await;
            let mut tx = pool.begin().await.unwrap();
            let next = recorder.record(&mut tx, with_id("order-2")).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(next.seq, 2, "the failed record took no seq");
            let report = verify(&pool).await;
            assert!(report.is_clean(), "{report}");
            assert_eq!(
                count(
                    &pool,
                    "SELECT count(*) FROM audit_events WHERE NOT is_checkpoint"
                )
                .await,
                2
            );
        }
    };
}
