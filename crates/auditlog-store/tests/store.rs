//! The store under concurrent use, and its exports read back from disk.

use std::collections::HashSet;
use std::thread;
use std::time::Duration;

use auditlog_core::{catalogue, AuditEvent, Severity};
use auditlog_seal::{verify, verify_json, SigningKey};
use auditlog_store::{MemoryStore, Query};

fn event(tenant: &str, n: usize) -> AuditEvent {
    catalogue::login_succeeded(&format!("user-{n}"))
        .tenant_id(tenant)
        .id(format!("{tenant}-{n}"))
        .build()
}

#[test]
fn oldest_events_are_evicted_and_counted() {
    let store = MemoryStore::new(3);
    for n in 0..5 {
        store.insert(event("t", n));
    }
    let ids: Vec<_> = store
        .snapshot()
        .iter()
        .map(|e| e.id.clone().unwrap())
        .collect();
    assert_eq!(ids, ["t-2", "t-3", "t-4"]);
    let stats = store.stats();
    assert_eq!((stats.len, stats.inserted, stats.evicted), (3, 5, 2));
    assert_eq!(store.recent(2)[0].id.as_deref(), Some("t-4"));
}

#[test]
fn stored_events_are_sealed_and_verify() {
    let key = SigningKey::new("k").unwrap();
    let store = MemoryStore::with_signing_key(10, key.clone());
    store.insert(event("t", 1));
    let stored = &store.snapshot()[0];
    assert_eq!(verify(stored, Some(&key)), Ok(()));
}

#[test]
fn query_filters_and_limits_newest_first() {
    let store = MemoryStore::new(100);
    for n in 0..10 {
        store.insert(event(if n % 2 == 0 { "even" } else { "odd" }, n));
    }
    store.insert(
        catalogue::security_event("brute_force", Severity::Critical, Default::default())
            .tenant_id("odd")
            .build(),
    );
    let odd = store.query(&Query::new().tenant("odd").action("auth.login").limit(3));
    let ids: Vec<_> = odd.iter().map(|e| e.id.clone().unwrap()).collect();
    assert_eq!(ids, ["odd-9", "odd-7", "odd-5"]);
    let critical = store.query(&Query::new().min_severity(Severity::Error));
    assert_eq!(critical.len(), 1);
    assert!(critical[0].is_security_event());
}

#[test]
fn many_writers_readers_and_subscribers_lose_and_tear_nothing() {
    const WRITERS: usize = 8;
    const PER_WRITER: usize = 2_000;
    let store = MemoryStore::new(WRITERS * PER_WRITER);
    let subscriptions: Vec<_> = (0..4)
        .map(|_| store.subscribe(WRITERS * PER_WRITER))
        .collect();
    thread::scope(|scope| {
        for w in 0..WRITERS {
            let store = store.clone();
            scope.spawn(move || {
                for n in 0..PER_WRITER {
                    store.insert(event(&format!("w{w}"), n));
                }
            });
        }
        for _ in 0..4 {
            let store = store.clone();
            scope.spawn(move || {
                for _ in 0..200 {
                    for event in store.query(&Query::new().limit(50)) {
                        // A torn event would not verify.
                        assert_eq!(verify(&event, None), Ok(()));
                    }
                }
            });
        }
    });
    let stored: HashSet<_> = store
        .snapshot()
        .iter()
        .map(|e| e.id.clone().unwrap())
        .collect();
    assert_eq!(stored.len(), WRITERS * PER_WRITER);
    for subscription in &subscriptions {
        let seen: HashSet<_> = subscription
            .drain()
            .iter()
            .map(|e| e.id.clone().unwrap())
            .collect();
        assert_eq!(seen, stored);
        assert_eq!(subscription.dropped(), 0);
    }
}

#[test]
fn a_slow_subscriber_loses_events_without_blocking_anyone() {
    let store = MemoryStore::new(1000);
    let slow = store.subscribe(2);
    let fast = store.subscribe(1000);
    for n in 0..100 {
        store.insert(event("t", n));
    }
    assert_eq!(slow.drain().len(), 2);
    assert_eq!(slow.dropped(), 98);
    assert_eq!(fast.drain().len(), 100);
    assert_eq!(fast.dropped(), 0);
}

#[test]
fn unsubscribing_or_dropping_stops_forwarding() {
    let store = MemoryStore::new(10);
    let kept = store.subscribe(10);
    let stopped = store.subscribe(10);
    let dropped = store.subscribe(10);
    assert_eq!(store.stats().subscribers, 3);
    stopped.unsubscribe();
    drop(dropped);
    store.insert(event("t", 1));
    assert_eq!(store.stats().subscribers, 1);
    assert!(kept.recv_timeout(Duration::from_secs(5)).is_some());
    assert!(stopped.drain().is_empty());
}

#[test]
fn exports_read_back_as_verified_events() {
    let dir = std::env::temp_dir().join(format!("auditlog-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = MemoryStore::new(10);
    for n in 0..3 {
        store.insert(event("t", n));
    }
    let lines_path = dir.join("events.jsonl");
    assert_eq!(store.export_json_lines(&lines_path).unwrap(), 3);
    let lines = std::fs::read_to_string(&lines_path).unwrap();
    let ids: Vec<_> = lines
        .lines()
        .map(|line| verify_json(line, None).unwrap().event.id.unwrap())
        .collect();
    assert_eq!(ids, ["t-0", "t-1", "t-2"]);

    let array_path = dir.join("events.json");
    store.export_json_array(&array_path).unwrap();
    let array = std::fs::read_to_string(&array_path).unwrap();
    assert!(array.starts_with("[{") && array.ends_with("}]\n"));
    let inner = &array[1..array.len() - 2];
    assert_eq!(inner.matches("},{\"action\"").count(), 2);
    let _ = std::fs::remove_dir_all(dir);
}

/// Exports hold audit data: owner-only, and never written through a link
/// someone planted at the path (nor truncating what it points to).
#[cfg(unix)]
#[test]
fn exports_are_owner_only_and_never_follow_a_symlink() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let store = MemoryStore::new(10);
    store.insert(event("t", 0));
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let fresh = dir.path().join("events.jsonl");
    store.export_json_lines(&fresh).unwrap();
    assert_eq!(mode(&fresh), 0o600);
    // An existing, readable file is made owner-only when rewritten.
    let old = dir.path().join("old.json");
    std::fs::write(&old, "x".repeat(10_000)).unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    store.export_json_array(&old).unwrap();
    assert_eq!(mode(&old), 0o600);
    assert!(std::fs::read_to_string(&old).unwrap().starts_with("[{"));

    let target = dir.path().join("precious");
    std::fs::write(&target, "somebody's data").unwrap();
    let link = dir.path().join("planted.jsonl");
    symlink(&target, &link).unwrap();
    let error = store.export_json_lines(&link).unwrap_err().to_string();
    assert!(error.contains("symbolic link"), "{error}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "somebody's data");
}
