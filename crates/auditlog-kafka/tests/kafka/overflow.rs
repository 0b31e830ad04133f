//! A full queue: drop the newest at once, or wait a bounded time for room.

use std::time::Duration;

use auditlog_kafka::{AuditSink, KafkaConfig, Overflow, SinkError};

use crate::{assert_exactly_once, event, publish_all, publisher, Cluster, PATIENCE};

/// Nothing is ever delivered here, so the queue stays full.
fn stuck(capacity: usize, overflow: Overflow) -> KafkaConfig {
    KafkaConfig::new("127.0.0.1:1")
        .capacity(capacity)
        .overflow(overflow)
        .set("message.timeout.ms", "600000")
        .drop_flush_timeout(Duration::from_millis(100))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_newest_refuses_at_once_and_counts() {
    let publisher = publisher(stuck(3, Overflow::DropNewest));
    let mut results = Vec::new();
    for n in 0..5 {
        results.push(publisher.publish(event("t", n)).await);
    }
    assert_eq!(results[..3], [Ok(()), Ok(()), Ok(())]);
    assert_eq!(
        results[3..],
        [Err(SinkError::QueueFull), Err(SinkError::QueueFull)]
    );
    let stats = publisher.stats();
    assert_eq!((stats.accepted, stats.dropped, stats.in_flight), (3, 2, 3));
    // The synchronous door follows the same gate.
    assert_eq!(
        publisher.try_publish(event("t", 9)),
        Err(SinkError::QueueFull)
    );
    assert_eq!(publisher.stats().dropped, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_gives_up_after_its_timeout_and_counts_a_drop() {
    let publisher = publisher(stuck(2, Overflow::Wait(Duration::from_millis(200))));
    publisher.publish(event("t", 0)).await.unwrap();
    publisher.publish(event("t", 1)).await.unwrap();
    assert_eq!(
        publisher.publish(event("t", 2)).await,
        Err(SinkError::QueueFull)
    );
    let stats = publisher.stats();
    assert_eq!((stats.accepted, stats.dropped), (2, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_succeeds_when_deliveries_make_room() {
    let cluster = Cluster::start();
    let Some(mock) = cluster.mock("overflow wait") else {
        return;
    };
    let topic = cluster.topic(1);
    let publisher = publisher(
        cluster
            .config(&topic)
            .capacity(2)
            .overflow(Overflow::Wait(PATIENCE)),
    );
    publisher.check(Duration::from_secs(10)).unwrap();
    mock.broker_down(1).unwrap();
    let mut ids = publish_all(&publisher, 2, |_| "t".to_owned()).await;
    let third = event("t", 2);
    ids.push(third.id.clone().unwrap());
    let waiting = {
        let publisher = publisher.clone();
        tokio::spawn(async move { publisher.publish(third).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "the third event did not wait for room"
    );
    mock.broker_up(1).unwrap();
    assert_eq!(waiting.await.unwrap(), Ok(()));
    let report = publisher.shutdown(PATIENCE);
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.delivered, 3);
    let read = cluster.read_back(&topic, None, ids.len());
    assert_exactly_once(&read, &ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_newest_takes_events_again_once_delivered() {
    let cluster = Cluster::start();
    let topic = cluster.topic(1);
    let publisher = publisher(cluster.config(&topic).capacity(10));
    let started = std::time::Instant::now();
    let (mut accepted, mut attempts) = (0u64, 0u64);
    // Ten times the capacity gets in, with deliveries freeing room.
    while accepted < 100 && started.elapsed() < PATIENCE {
        attempts += 1;
        match publisher.publish(event("t", attempts as usize)).await {
            Ok(()) => accepted += 1,
            Err(SinkError::QueueFull) => tokio::time::sleep(Duration::from_millis(1)).await,
            Err(e) => panic!("{e}"),
        }
        assert!(publisher.stats().in_flight <= 10);
    }
    let report = publisher.shutdown(PATIENCE);
    assert_eq!((report.accepted, report.delivered), (100, 100), "{report}");
    assert_eq!(report.accepted + report.dropped, attempts);
    let read = cluster.read_back(&topic, None, 100);
    assert_eq!(read.len(), 100);
}
