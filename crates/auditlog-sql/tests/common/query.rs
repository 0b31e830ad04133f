//! The query, export and retention tests every backend passes, as a macro
//! expanded next to `backend_suite!` (whose helpers it uses).

use auditlog_core::AuditEvent;

/// The timestamp of minute `m` of a fixed day, as the library writes them.
pub(crate) fn at(minute: u32) -> String {
    format!("2026-03-01T10:{minute:02}:00+00:00")
}

/// An event at minute `minute` with the filterable members set.
pub(crate) fn event_at(minute: u32, tenant: &str, severity: &str, resource: &str) -> AuditEvent {
    AuditEvent::builder()
        .timestamp(at(minute))
        .tenant_id(tenant)
        .user_id(format!("user-{}", minute % 3))
        .action_name(format!(
            "orders.{}",
            if minute.is_multiple_of(2) {
                "ship"
            } else {
                "cancel"
            }
        ))
        .severity(severity)
        .status(if minute.is_multiple_of(4) {
            "FAILURE"
        } else {
            "SUCCESS"
        })
        .resource(resource)
        .resource_id(minute.to_string())
        .source_ip("10.0.0.7")
        .trace_id(format!("trace-{minute}"))
        .build()
}

/// The query suite; expand after `backend_suite!` in the same module.
#[macro_export]
macro_rules! query_suite {
    ($open:path) => {
        use auditlog_core::Severity;
        use auditlog_sql::{Format, Query};
        use common::query::{at, event_at};

        /// Records one event per minute in `minutes`, in that order.
        async fn record_at(pool: &sqlx::Pool<Db>, minutes: impl IntoIterator<Item = u32>) {
            let recorder = recorder();
            for minute in minutes {
                let severity = ["INFO", "WARNING", "ERROR", "CRITICAL"][(minute % 4) as usize];
                let tenant = if minute.is_multiple_of(2) { "acme" } else { "globex" };
                let mut tx = pool.begin().await.unwrap();
                recorder.record(&mut tx, event_at(minute, tenant, severity, "order")).await.unwrap();
                tx.commit().await.unwrap();
            }
        }

        async fn all_pages(pool: &sqlx::Pool<Db>, query: &Query) -> Vec<auditlog_sql::AuditRow> {
            let mut rows = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = auditlog_sql::page(pool, query, cursor.as_deref()).await.unwrap();
                assert!(page.rows.len() <= query.page_size() as usize);
                rows.extend(page.rows);
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => return rows,
                }
            }
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn pages_run_newest_first_and_filters_hold() {
            let (pool, _guard) = $open().await;
            // Out of time order on purpose, and two events in one minute.
            record_at(&pool, [3, 1, 2, 5, 4, 2, 6, 8, 7]).await;
            let rows = all_pages(&pool, &Query::new().limit(2)).await;
            let minutes: Vec<&str> = rows.iter().map(|r| &r.ts.as_deref().unwrap()[14..16]).collect();
            assert_eq!(minutes, ["08", "07", "06", "05", "04", "03", "02", "02", "01"]);
            assert!(rows[6].id > rows[7].id, "same ts: the later row first");
            assert!(rows.iter().all(|r| !r.is_checkpoint));
            let line: String = sqlx::query_scalar("SELECT line FROM audit_events WHERE id = $1")
                .bind(rows[0].id).fetch_one(&pool).await.unwrap();
            assert_eq!(rows[0].line, line, "the published line, byte for byte");

            let acme = all_pages(&pool, &Query::new().tenant("acme").limit(3)).await;
            assert_eq!(acme.len(), 5);
            assert!(acme.iter().all(|r| r.tenant.as_deref() == Some("acme")));
            let severe = all_pages(&pool, &Query::new()
                .min_severity(Severity::Warning).max_severity(Severity::Error)).await;
            assert!(severe.iter().all(|r| matches!(r.severity.as_deref(), Some("WARNING" | "ERROR"))));
            assert_eq!(severe.len(), 5);
            let window = all_pages(&pool, &Query::new().since(at(2)).until(at(5))).await;
            assert_eq!(window.len(), 4, "minutes 2, 2, 3, 4");
            let one = all_pages(&pool, &Query::new().trace_id("trace-7").source_ip("10.0.0.7")
                .user("user-1").resource("order").resource_id("7").status("SUCCESS")
                .action("orders.cancel").stream("orders-api")).await;
            assert_eq!(one.len(), 1);
            let text = all_pages(&pool, &Query::new().text("SHIP")).await;
            assert_eq!(text.len(), 5, "case ignored");
            let with = all_pages(&pool, &Query::new().with_checkpoints()).await;
            assert_eq!(with.len(), 9 + 2, "checkpoints after events 4 and 8");

            // Events without a timestamp: all on one side, none lost or repeated.
            let recorder = recorder();
            for _ in 0..3 {
                let mut event = event_at(0, "acme", "INFO", "order");
                event.timestamp = None;
                let mut tx = pool.begin().await.unwrap();
                recorder.record(&mut tx, event).await.unwrap();
                tx.commit().await.unwrap();
            }
            let rows = all_pages(&pool, &Query::new().limit(2)).await;
            let mut ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), 12);
            let untimed: Vec<bool> = rows.iter().map(|r| r.ts.is_none()).collect();
            let first = untimed[..3].iter().all(|&u| u) && untimed[3..].iter().all(|&u| !u);
            let last = untimed[9..].iter().all(|&u| u) && untimed[..9].iter().all(|&u| !u);
            assert!(first || last, "{untimed:?}");
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn an_altered_or_foreign_cursor_is_refused() {
            let (pool, _guard) = $open().await;
            record_at(&pool, 1..=3).await;
            let query = Query::new().limit(1);
            let next = auditlog_sql::page(&pool, &query, None).await.unwrap().next.unwrap();
            let altered = next.replacen("c1.", "c1.9", 1);
            let error = auditlog_sql::page(&pool, &query, Some(&altered)).await.unwrap_err();
            assert!(matches!(error, auditlog_sql::Error::BadQuery { .. }), "{error:?}");
            assert!(error.to_string().contains("bad cursor"), "{error}");
            let other = Query::new().tenant("acme").limit(1);
            assert!(auditlog_sql::page(&pool, &other, Some(&next)).await.is_err());
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_hostile_filter_value_is_data_not_sql() {
            let (pool, _guard) = $open().await;
            let hostile = r#"50%_off' OR '1'='1 \ "x"#;
            let recorder = recorder();
            for resource in [hostile, "50xxoff", "plain"] {
                let mut tx = pool.begin().await.unwrap();
                recorder.record(&mut tx, event_at(1, "acme", "INFO", resource)).await.unwrap();
                tx.commit().await.unwrap();
            }
            let found = all_pages(&pool, &Query::new().resource(hostile)).await;
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].resource.as_deref(), Some(hostile));
            let found = all_pages(&pool, &Query::new().text("%_off' or")).await;
            assert_eq!(found.len(), 1, "% and _ match themselves");
            let found = all_pages(&pool, &Query::new().text(r"1 \ ")).await;
            assert_eq!(found.len(), 1, "a backslash matches itself");
            let found = all_pages(&pool, &Query::new().tenant("x' OR '1'='1")).await;
            assert!(found.is_empty());
            assert_eq!(count(&pool, "SELECT count(*) FROM audit_events WHERE NOT is_checkpoint").await, 3);
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn counts_per_severity_and_status() {
            let (pool, _guard) = $open().await;
            record_at(&pool, 1..=8).await;
            let counts = auditlog_sql::counts(&pool, &Query::new().since(at(2))).await.unwrap();
            let some = |s: &str, n: i64| (Some(s.to_owned()), n);
            assert_eq!(counts.by_severity, [some("CRITICAL", 2), some("ERROR", 2), some("INFO", 2), some("WARNING", 1)]);
            assert_eq!(counts.by_status, [some("FAILURE", 2), some("SUCCESS", 5)]);
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn the_export_is_the_published_lines_and_verifies() {
            let (pool, _guard) = $open().await;
            record_at(&pool, [2, 1, 3, 4, 5]).await;
            let mut out = Vec::new();
            let query = Query::new().with_checkpoints();
            let n = auditlog_sql::export(&pool, &query, Format::JsonLines, &mut out).await.unwrap();
            assert_eq!(n, 6);
            let text = String::from_utf8(out).unwrap();
            let lines: Vec<String> = sqlx::query_scalar("SELECT line FROM audit_events ORDER BY id")
                .fetch_all(&pool).await.unwrap();
            assert_eq!(text, lines.iter().map(|l| format!("{l}\n")).collect::<String>());
            let keys = keyring();
            let mut verifier = StreamVerifier::new(&keys).strict_chains();
            for (number, line) in (1..).zip(text.lines()) {
                verifier.feed(number, line);
            }
            let report = verifier.finish();
            assert_eq!(report.chains["orders-api"].last, Some(5));
            assert!(report.invalid.is_empty() && report.chains["orders-api"].missing.is_empty(), "{report}");

            let recorder = recorder();
            let mut tx = pool.begin().await.unwrap();
            recorder.record(&mut tx, event_at(9, "=cmd|' /C calc'!A0", "INFO", "a,\"b\"")).await.unwrap();
            tx.commit().await.unwrap();
            let mut out = Vec::new();
            auditlog_sql::export(&pool, &Query::new().since(at(9)), Format::Csv, &mut out).await.unwrap();
            let csv = String::from_utf8(out).unwrap();
            let mut records = csv.split("\r\n");
            assert_eq!(records.next().unwrap(), auditlog_sql::CSV_HEADER.join(","));
            let record = records.next().unwrap();
            assert!(record.contains(",'=cmd|' /C calc'!A0,"), "{record}");
            assert!(record.contains(",\"a,\"\"b\"\"\","), "{record}");
            assert_eq!(records.next(), Some(""));
        }

        async fn prune(pool: &sqlx::Pool<Db>, before: &str) -> auditlog_sql::Result<auditlog_sql::Pruned> {
            auditlog_sql::prune(pool, before, auditlog_sql::Undelivered::Delete, &common::key(), &keyring()).await
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn prune_keeps_what_the_relay_still_owes() {
            let (pool, _guard) = $open().await;
            record_at(&pool, 1..=6).await;
            exec(&pool, "UPDATE audit_events SET delivered_at = recorded_at WHERE seq <= 2").await;
            let keep = auditlog_sql::Undelivered::Keep;
            let pruned = auditlog_sql::prune(&pool, &at(5), keep, &common::key(), &keyring()).await.unwrap();
            assert_eq!((pruned.events(), pruned.streams[0].cut), (2, 2), "seq 3 is undelivered");
            assert!(verify(&pool).await.is_clean());
            // Events 3 and 4 and the anchor delivered, the checkpoint of length 4
            // not yet: it stays, and the cut stays below it.
            exec(&pool, "UPDATE audit_events SET delivered_at = recorded_at WHERE seq <= 4 AND NOT (is_checkpoint AND seq = 4)").await;
            let pruned = auditlog_sql::prune(&pool, &at(5), keep, &common::key(), &keyring()).await.unwrap();
            assert_eq!((pruned.events(), pruned.streams[0].cut), (1, 3));
            assert_eq!(count(&pool, "SELECT count(*) FROM audit_events WHERE is_checkpoint AND seq = 4").await, 1);
            assert!(verify(&pool).await.is_clean());
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn prune_keeps_the_rest_verifiable_and_can_run_again() {
            let (pool, _guard) = $open().await;
            record_at(&pool, 1..=10).await;
            let pruned = prune(&pool, &at(6)).await.unwrap();
            assert_eq!(pruned.events(), 5);
            assert_eq!((pruned.streams[0].cut, pruned.streams[0].checkpoints), (5, 1));
            let report = verify(&pool).await;
            assert!(report.is_clean(), "{report}");
            let chain = &report.lines.chains["orders-api"];
            assert_eq!((chain.first, chain.last, chain.anchored), (Some(6), Some(11), true));
            assert_eq!(count(&pool, "SELECT count(*) FROM audit_events WHERE NOT is_checkpoint").await, 6);

            // The prune is recorded, and the stream goes on.
            record_at(&pool, [11]).await;
            let pruned = prune(&pool, &at(9)).await.unwrap();
            assert_eq!((pruned.events(), pruned.streams[0].cut), (3, 8));
            let report = verify(&pool).await;
            assert!(report.is_clean(), "{report}");
            let again = prune(&pool, &at(9)).await.unwrap();
            assert_eq!(again.events(), 0, "nothing left before the cut");
            assert!(verify(&pool).await.is_clean());
            let keys = keyring();
            let strict = verify_table(&pool, StreamVerifier::new(&keys).strict_chains()).await.unwrap();
            assert!(strict.anchors.is_empty(), "{strict}");
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_row_deleted_after_the_anchor_is_caught() {
            let (pool, _guard) = $open().await;
            record_at(&pool, 1..=6).await;
            prune(&pool, &at(4)).await.unwrap();
            exec(&pool, "DELETE FROM audit_events WHERE seq = 4 AND NOT is_checkpoint").await;
            let report = verify(&pool).await;
            assert!(!report.is_clean());
            assert!(report.anchors[0].contains("starts at seq 5"), "{report}");
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn an_anchor_forged_edited_or_removed_is_caught() {
            let (pool, _guard) = $open().await;
            record_at(&pool, 1..=6).await;
            prune(&pool, &at(4)).await.unwrap();
            // Claims to vouch for more: its link no longer verifies.
            exec(&pool, "UPDATE audit_events SET line = replace(line, '\"length\":3', '\"length\":4'), seq = 4 WHERE is_checkpoint AND seq = 3").await;
            exec(&pool, "DELETE FROM audit_events WHERE seq = 4 AND NOT is_checkpoint").await;
            let report = verify(&pool).await;
            assert!(!report.is_clean());
            assert_eq!(report.lines.invalid.len(), 1, "{report}");
            assert!(!report.anchors.is_empty(), "{report}");

            let (pool, _guard) = $open().await;
            record_at(&pool, 1..=6).await;
            prune(&pool, &at(4)).await.unwrap();
            exec(&pool, "DELETE FROM audit_events WHERE is_checkpoint AND seq = 3").await;
            let report = verify(&pool).await;
            assert!(report.anchors[0].contains("no valid checkpoint"), "{report}");

            // Deleting up to an ordinary checkpoint is not a prune.
            let (pool, _guard) = $open().await;
            record_at(&pool, 1..=6).await;
            exec(&pool, "DELETE FROM audit_events WHERE seq <= 4 AND NOT is_checkpoint").await;
            let report = verify(&pool).await;
            assert!(report.anchors[0].contains("no prune is recorded"), "{report}");
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn prune_refuses_a_table_that_does_not_verify() {
            let (pool, _guard) = $open().await;
            record_at(&pool, 1..=4).await;
            exec(&pool, "UPDATE audit_events SET tenant = 'other' WHERE seq = 1").await;
            let error = prune(&pool, &at(3)).await.unwrap_err();
            assert!(error.to_string().contains("pruning would erase the evidence"), "{error}");
            assert_eq!(count(&pool, "SELECT count(*) FROM audit_events WHERE NOT is_checkpoint").await, 4);
        }
    };
}
