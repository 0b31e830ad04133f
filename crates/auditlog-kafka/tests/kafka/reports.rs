//! Delivery reports are served by the publisher's own thread: settled
//! without anyone flushing.

use std::time::{Duration, Instant};

use auditlog_kafka::{AuditSink, KafkaPublisher};

use crate::{event, publisher, Cluster, PATIENCE};

/// Waits until `delivered` events are counted delivered; never flushes.
fn wait_delivered(publisher: &KafkaPublisher, delivered: u64) {
    let started = Instant::now();
    while publisher.stats().delivered < delivered {
        assert!(started.elapsed() < PATIENCE, "{:?}", publisher.stats());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_reported_without_a_flush() {
    let cluster = Cluster::start();
    let topic = cluster.topic(1);
    let publisher = publisher(cluster.config(&topic));
    for n in 0..3 {
        publisher.publish(event("t", n)).await.unwrap();
    }
    wait_delivered(&publisher, 3);
    let stats = publisher.stats();
    assert_eq!((stats.accepted, stats.in_flight), (3, 0), "{stats:?}");
}
