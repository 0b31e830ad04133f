//! Overload without blind spots: the gate bounds bytes as well as events,
//! a full librdkafka queue is waited out (never spun on, never dropped), a
//! panicking key function costs one counted event and nothing after it,
//! and every drop is counted by reason, in the stats and the metrics.

use std::time::Duration;

use auditlog_core::{AuditEvent, Map, Value};
use auditlog_kafka::{
    metric, AuditSink, ChainConfig, KafkaConfig, MessageKey, Overflow, SinkError, SpoolConfig,
};
use auditlog_seal::{ChainKey, Keyring, SigningKey, StreamVerifier};
use auditlog_testkit::RecordedMetrics;

use crate::{assert_exactly_once, event, publish_all, publisher, Cluster, PATIENCE};

/// An event carrying a captured body of `bytes` bytes.
fn large_event(n: usize, bytes: usize) -> AuditEvent {
    let mut event = event("t", n);
    let mut payload = Map::new();
    payload.insert("body".into(), Value::String("x".repeat(bytes)));
    event.eventdata = Some(auditlog_core::EventData {
        requestpayload: payload,
        ..Default::default()
    });
    event
}

/// Nothing is ever delivered here: what is accepted stays in flight.
fn stuck() -> KafkaConfig {
    KafkaConfig::new("127.0.0.1:1")
        .set("message.timeout.ms", "600000")
        .drop_flush_timeout(Duration::from_millis(100))
}

const BUDGET: usize = 64 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_byte_budget_refuses_what_does_not_fit_and_counts_it_by_reason() {
    let recorded = RecordedMetrics::ignoring_labels(&["topic"]);
    let publisher = metrics::with_local_recorder(&recorded, || {
        publisher(stuck().capacity(1000).capacity_bytes(BUDGET))
    });
    let mut accepted = 0;
    for n in 0..20 {
        match publisher.publish(large_event(n, 10 * 1024)).await {
            Ok(()) => accepted += 1,
            Err(SinkError::QueueFull) => {}
            Err(other) => panic!("{other}"),
        }
    }
    let stats = publisher.stats();
    // Six events of about 10 KiB fit in 64 KiB, far below 1000 events.
    assert_eq!(accepted, 6, "{stats:?}");
    assert!(stats.in_flight_bytes <= BUDGET as u64, "{stats:?}");
    assert!(stats.in_flight_bytes > (BUDGET / 2) as u64, "{stats:?}");
    assert_eq!(
        (stats.dropped, stats.dropped_queue_bytes),
        (14, 14),
        "{stats:?}"
    );
    assert_eq!(stats.dropped_queue_full, 0, "{stats:?}");
    // The synchronous door follows the same budget.
    assert_eq!(
        publisher.try_publish(large_event(99, 10 * 1024)),
        Err(SinkError::QueueFull)
    );
    assert_eq!(publisher.stats().dropped_queue_bytes, 15);
    let reason = |r: &str| format!("{}{{reason={r}}}", metric::DROPPED);
    assert_eq!(recorded.counter(&reason("queue_bytes")), 15);
    assert_eq!(recorded.counter(&reason("queue_full")), 0);
    // A small event still fits where a large one did not.
    publisher.publish(event("t", 100)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_bytes_gives_up_after_its_timeout_and_counts_a_drop() {
    let publisher = publisher(
        stuck()
            .capacity_bytes(BUDGET)
            .overflow(Overflow::Wait(Duration::from_millis(200))),
    );
    for n in 0..6 {
        publisher.publish(large_event(n, 10 * 1024)).await.unwrap();
    }
    assert_eq!(
        publisher.publish(large_event(6, 10 * 1024)).await,
        Err(SinkError::QueueFull)
    );
    let stats = publisher.stats();
    assert_eq!(
        (stats.accepted, stats.dropped_queue_bytes),
        (6, 1),
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_stays_within_its_byte_budget_but_one_message() {
    let key = ChainKey::hmac("k1", SigningKey::new("chain-secret").unwrap()).unwrap();
    let publisher = publisher(stuck().capacity_bytes(BUDGET).chain(ChainConfig::new(key)));
    let mut refused = 0;
    for n in 0..20 {
        if publisher.publish(large_event(n, 10 * 1024)).await.is_err() {
            refused += 1;
        }
    }
    let stats = publisher.stats();
    assert!(refused >= 13, "{stats:?}");
    assert_eq!(stats.dropped_queue_bytes, refused, "{stats:?}");
    assert!(
        stats.in_flight_bytes <= (BUDGET + 11 * 1024) as u64,
        "{stats:?}"
    );
}

/// librdkafka's own queue holds two messages: it refuses the third.
fn tiny_librdkafka_queue(config: KafkaConfig) -> KafkaConfig {
    config
        .set("queue.buffering.max.messages", "2")
        .set("message.timeout.ms", "120000")
}

// One runtime thread: a publisher spinning on a full queue would hold it.
#[tokio::test(flavor = "current_thread")]
async fn a_full_librdkafka_queue_is_waited_out_in_order_without_holding_the_caller() {
    let cluster = Cluster::start();
    let Some(mock) = cluster.mock("librdkafka queue full") else {
        return;
    };
    let topic = cluster.topic(1);
    let publisher = publisher(tiny_librdkafka_queue(cluster.config(&topic)));
    publisher.check(Duration::from_secs(10)).unwrap();
    mock.broker_down(1).unwrap();
    // Nothing is delivered now: librdkafka takes two, the rest wait.
    let ids = publish_all(&publisher, 50, |_| "t".to_owned()).await;
    let stats = publisher.stats();
    assert_eq!(
        (stats.accepted, stats.in_flight, stats.dropped),
        (50, 50, 0),
        "{stats:?}"
    );
    assert!(stats.queue_full_waits >= 48, "{stats:?}");
    mock.broker_up(1).unwrap();
    let report = tokio::task::spawn_blocking(move || publisher.shutdown(PATIENCE))
        .await
        .unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.delivered, 50);
    let mut read = cluster.read_back(&topic, None, ids.len());
    assert_exactly_once(&read, &ids);
    read.sort_by_key(|e| e.offset);
    let order: Vec<_> = read
        .iter()
        .map(|e| e.verified.as_ref().unwrap().event.id.clone().unwrap())
        .collect();
    assert_eq!(order, ids, "published order kept");
}

#[tokio::test(flavor = "current_thread")]
async fn a_chain_waits_out_a_full_librdkafka_queue_and_stays_whole() {
    let cluster = Cluster::start();
    let Some(mock) = cluster.mock("librdkafka queue full, chained") else {
        return;
    };
    let topic = cluster.topic(1);
    let key = ChainKey::hmac("k1", SigningKey::new("chain-secret").unwrap()).unwrap();
    let mut ring = Keyring::new();
    ring.add(key.clone()).unwrap();
    let publisher = publisher(tiny_librdkafka_queue(
        cluster.config(&topic).chain(
            ChainConfig::new(key)
                .checkpoint_every(Some(10))
                .checkpoint_interval(None),
        ),
    ));
    publisher.check(Duration::from_secs(10)).unwrap();
    mock.broker_down(1).unwrap();
    publish_all(&publisher, 30, |_| "t".to_owned()).await;
    // The chain lock is free while messages wait for room.
    assert!(publisher.chain_id().is_some());
    assert!(publisher.stats().queue_full_waits > 0);
    mock.broker_up(1).unwrap();
    let report = tokio::task::spawn_blocking(move || publisher.shutdown(PATIENCE))
        .await
        .unwrap();
    assert!(report.is_complete(), "{report}");
    // 30 events and a checkpoint after every 10.
    assert_eq!(report.delivered, 33, "{report}");
    let mut read = cluster.read_back(&topic, None, 33);
    read.sort_by_key(|e| e.offset);
    let mut verifier = StreamVerifier::new(&ring);
    for (line, event) in (1..).zip(&read) {
        verifier.feed(line, &event.payload);
    }
    let verdict = verifier.finish();
    assert!(verdict.is_clean(), "{}", verdict.to_json());
}

#[tokio::test(flavor = "current_thread")]
async fn with_a_spool_a_full_librdkafka_queue_goes_back_to_the_spool() {
    let cluster = Cluster::start();
    let Some(mock) = cluster.mock("librdkafka queue full, spooled") else {
        return;
    };
    let topic = cluster.topic(1);
    let dir = tempfile::tempdir().unwrap();
    let publisher = publisher(tiny_librdkafka_queue(
        cluster.config(&topic).spool(SpoolConfig::new(dir.path())),
    ));
    publisher.check(Duration::from_secs(10)).unwrap();
    mock.broker_down(1).unwrap();
    let ids = publish_all(&publisher, 30, |_| "t".to_owned()).await;
    assert!(publisher.stats().queue_full_waits > 0);
    mock.broker_up(1).unwrap();
    let report = tokio::task::spawn_blocking(move || publisher.shutdown(PATIENCE))
        .await
        .unwrap();
    assert!(report.is_complete(), "{report}");
    let read = cluster.read_back(&topic, None, ids.len());
    assert_exactly_once(&read, &ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_key_function_costs_its_event_counted_and_nothing_after() {
    let cluster = Cluster::start();
    let topic = cluster.topic(1);
    let dir = tempfile::tempdir().unwrap();
    // With a spool the key is made under the publisher's order lock.
    let publisher = publisher(
        cluster
            .config(&topic)
            .spool(SpoolConfig::new(dir.path()))
            .message_key(MessageKey::with(|event| {
                let tenant = event.tenantid.as_deref().unwrap_or_default();
                assert_ne!(tenant, "boom", "a bug in the key function");
                Some(tenant.as_bytes().to_vec())
            })),
    );
    let mut ids = publish_all(&publisher, 3, |_| "t".to_owned()).await;
    let refused = publisher.publish(event("boom", 3)).await;
    assert!(
        matches!(&refused, Err(SinkError::Io(why)) if why.to_string().contains("key function panicked")),
        "{refused:?}"
    );
    ids.extend(publish_all(&publisher, 3, |_| "t".to_owned()).await);
    let stats = publisher.stats();
    assert_eq!(
        (stats.dropped, stats.dropped_key_panicked),
        (1, 1),
        "{stats:?}"
    );
    let report = publisher.shutdown(PATIENCE);
    assert!(
        report.undelivered() == 0 && report.delivered == 6,
        "{report}"
    );
    let read = cluster.read_back(&topic, None, ids.len());
    assert_exactly_once(&read, &ids);
}
