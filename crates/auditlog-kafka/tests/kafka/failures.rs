//! A broker away, requests failing, a missing topic, no broker at all.

use std::time::{Duration, Instant};

use auditlog_kafka::{AuditSink, Error, KafkaConfig, PublisherStats};

use crate::{assert_exactly_once, event, publish_all, publisher, Cluster, PATIENCE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_down_mid_stream_loses_and_duplicates_nothing() {
    let cluster = Cluster::start();
    let Some(mock) = cluster.mock("broker down") else {
        return;
    };
    let topic = cluster.topic(1);
    let publisher = publisher(cluster.config(&topic));
    let mut ids = Vec::new();
    for n in 0..600 {
        if n == 200 {
            mock.broker_down(1).unwrap();
        }
        if n == 400 {
            // Down for a few seconds while events keep coming.
            tokio::time::sleep(Duration::from_secs(3)).await;
            // The outage is real: what came during it is still in flight.
            let during = publisher.stats();
            assert!(during.delivered <= 200, "{during:?}");
            assert!(during.in_flight >= 200, "{during:?}");
            mock.broker_up(1).unwrap();
        }
        let event = event("t", n);
        ids.push(event.id.clone().unwrap());
        publisher.publish(event).await.unwrap();
    }
    let report = publisher.shutdown(PATIENCE);
    assert!(report.is_complete(), "{report}");
    // Every other counter zero (`PublisherStats` is non-exhaustive: built
    // from its default).
    let mut expected = PublisherStats::default();
    expected.accepted = 600;
    expected.delivered = 600;
    assert_eq!(publisher.stats(), expected);
    let read = cluster.read_back(&topic, None, ids.len());
    assert_exactly_once(&read, &ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retriable_request_errors_are_retried_until_delivered() {
    let cluster = Cluster::start();
    let Some(mock) = cluster.mock("request errors") else {
        return;
    };
    let topic = cluster.topic(1);
    let publisher = publisher(cluster.config(&topic).set("retry.backoff.ms", "10"));
    publisher.check(Duration::from_secs(10)).unwrap();
    mock.fail_next_produce_requests(6).unwrap();
    let ids = publish_all(&publisher, 100, |_| "t".to_owned()).await;
    let report = publisher.shutdown(PATIENCE);
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.delivered, 100);
    let read = cluster.read_back(&topic, None, ids.len());
    assert_exactly_once(&read, &ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_topic_is_a_clear_error_and_counted_failures() {
    let cluster = Cluster::start();
    let topic = format!("auditlog-missing-{}", uuid::Uuid::new_v4());
    let publisher = publisher(
        cluster
            .config(&topic)
            .set("message.timeout.ms", "3000")
            .set("topic.metadata.propagation.max.ms", "1000"),
    );
    let err = publisher.check(Duration::from_secs(10)).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownTopic { topic: named } if *named == topic),
        "{err:?}"
    );
    assert!(err.to_string().contains("does not exist"), "{err}");
    for n in 0..5 {
        publisher.publish(event("t", n)).await.unwrap();
    }
    let started = Instant::now();
    let report = publisher.shutdown(PATIENCE);
    assert!(
        started.elapsed() < PATIENCE,
        "shutdown overran its deadline"
    );
    assert_eq!(
        (report.accepted, report.delivered, report.undelivered()),
        (5, 0, 5),
        "{report}"
    );
    let stats = publisher.stats();
    assert_eq!((stats.failed, stats.in_flight), (5, 0), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_brokers_fail_within_the_configured_timeouts() {
    // Port 1 on loopback: nothing listens, connections are refused.
    let config = KafkaConfig::new("127.0.0.1:1")
        .topic("audit-logs")
        .set("message.timeout.ms", "2000");
    let publisher = publisher(config);
    let started = Instant::now();
    let err = publisher.check(Duration::from_secs(2)).unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    for n in 0..3 {
        publisher.publish(event("t", n)).await.unwrap();
    }
    // Each message fails at its message.timeout.ms, well before the deadline.
    let report = publisher.shutdown(PATIENCE);
    assert!(started.elapsed() < PATIENCE, "hung past the timeouts");
    assert_eq!(
        (report.delivered, report.failed, report.abandoned),
        (0, 3, 0),
        "{report}"
    );
    assert_eq!(publisher.stats().failed, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_reports_what_its_deadline_left_behind() {
    let config = KafkaConfig::new("127.0.0.1:1").set("message.timeout.ms", "600000");
    let publisher = publisher(config);
    for n in 0..4 {
        publisher.publish(event("t", n)).await.unwrap();
    }
    let report = publisher.shutdown(Duration::from_millis(300));
    assert_eq!(
        (report.accepted, report.delivered, report.abandoned),
        (4, 0, 4),
        "{report}"
    );
    assert!(!report.is_complete());
    // The purged events are counted as failed once their reports came.
    let stats = publisher.stats();
    assert_eq!((stats.failed, stats.in_flight), (4, 0), "{stats:?}");
}
