//! Hooks are isolated from each other and from publishing; a borrowed
//! event is lent on to the inner sink.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use auditlog_core::{catalogue, AuditEvent};
use auditlog_sink::{AuditSink, MemorySink};
use auditlog_store::{MemoryStore, Observed};

fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

#[tokio::test]
async fn a_panicking_hook_does_not_stop_the_others_or_publishing() {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    let store = MemoryStore::new(100);
    let sink = Observed::builder(store.clone())
        .on_emit(|_| panic!("hook bug"))
        .on_emit(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .build();
    for n in 0..10 {
        sink.publish(catalogue::logout(&format!("u{n}")).build())
            .await
            .unwrap();
    }
    assert_eq!(store.len(), 10);
    assert!(wait_until(|| seen.load(Ordering::SeqCst) == 10));
    assert!(wait_until(|| sink.hook_failures() == 10));
}

#[tokio::test]
async fn a_stuck_hook_drops_events_for_hooks_only() {
    let gate = Arc::new(Barrier::new(2));
    let hook_gate = Arc::clone(&gate);
    let store = MemoryStore::new(100);
    let sink = Observed::builder(store.clone())
        .hook_queue(1)
        .on_emit(move |_| {
            hook_gate.wait();
        })
        .build();
    for n in 0..20 {
        sink.publish(catalogue::logout(&format!("u{n}")).build())
            .await
            .unwrap();
    }
    // Every event reached the store although the hook is stuck on the first.
    assert_eq!(store.len(), 20);
    assert!(sink.hooks_dropped() >= 18, "{}", sink.hooks_dropped());
    gate.wait();
}

#[tokio::test]
async fn a_borrowed_event_is_lent_on_and_the_hooks_see_it_before_its_seal() {
    let inner = MemorySink::new(None);
    let kept = inner.clone();
    let hooks_saw_a_seal = Arc::new(Mutex::new(Vec::new()));
    let saw = Arc::clone(&hooks_saw_a_seal);
    let sink = Observed::builder(inner)
        .on_emit(move |event: &AuditEvent| saw.lock().unwrap().push(event.security.is_some()))
        .build();
    let mut event = catalogue::logout("u1").build();
    sink.publish_borrowed(&mut event).await.unwrap();
    // `MemorySink` seals a borrowed event in place: lent on, not taken.
    assert!(event.security.as_ref().is_some_and(|s| s.hash.is_some()));
    assert_eq!(kept.events(), [event]);
    assert!(wait_until(|| hooks_saw_a_seal.lock().unwrap().len() == 1));
    assert_eq!(*hooks_saw_a_seal.lock().unwrap(), [false]);
}
