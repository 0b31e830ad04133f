//! Dropping a publisher ends its `auditlog-reports` thread, shut down
//! first or not. A test binary of its own, with a single test: it counts
//! the process's threads by name, which no other test may start meanwhile.
#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};

use auditlog_core::AuditEvent;
use auditlog_kafka::{KafkaConfig, KafkaPublisher};

/// Generous bound on any wait: reached only when something is broken.
const PATIENCE: Duration = Duration::from_secs(60);

/// Threads of this process named as the reports thread (Linux cuts names
/// to 15 bytes).
fn reports_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end() == "auditlog-report")
        .count()
}

/// Waits until there are `want` reports threads: a new thread names itself
/// once started, and an ended one leaves `/proc` a moment after its join.
fn settles_at(want: usize) {
    let started = Instant::now();
    while reports_threads() != want {
        assert!(
            started.elapsed() < PATIENCE,
            "{} reports threads, not {want}",
            reports_threads()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A publisher whose broker never answers: what it accepts stays in flight.
fn publisher() -> KafkaPublisher {
    KafkaPublisher::new(
        KafkaConfig::new("127.0.0.1:1").drop_flush_timeout(Duration::from_millis(100)),
    )
    .unwrap()
}

#[test]
fn dropping_a_publisher_ends_its_reports_thread() {
    let before = reports_threads();

    let shut_down = publisher();
    settles_at(before + 1);
    // A clone shares the producer, and its thread.
    drop(shut_down.clone());
    shut_down.shutdown(Duration::from_millis(100));
    drop(shut_down);
    settles_at(before);

    // Without shutdown, an event still in flight (dropping purges it).
    let dropped = publisher();
    settles_at(before + 1);
    let event = AuditEvent::builder().tenant_id("t").build();
    dropped.try_publish(event).unwrap();
    drop(dropped);
    settles_at(before);
}
