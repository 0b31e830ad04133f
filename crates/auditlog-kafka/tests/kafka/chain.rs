//! A chained publisher: its events stay in one partition, in order, and the
//! stream read back verifies as one whole chain with checkpoints.

use std::sync::Arc;
use std::time::{Duration, Instant};

use auditlog_kafka::{AuditSink, ChainConfig, Error, KafkaPublisher, MessageKey};
use auditlog_seal::{ChainKey, Keyring, SigningKey, StreamVerifier};

use crate::{event, publisher, Cluster, PATIENCE};

fn chain_key() -> ChainKey {
    ChainKey::hmac("kafka-test-1", SigningKey::new("chain-secret").unwrap()).unwrap()
}

fn keyring() -> Keyring {
    let mut ring = Keyring::new();
    ring.add(chain_key()).unwrap();
    ring
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chained_events_stay_in_one_partition_in_order_and_verify() {
    let cluster = Cluster::start();
    let topic = cluster.topic(3);
    let publisher = Arc::new(publisher(
        cluster.config(&topic).chain(
            ChainConfig::new(chain_key())
                .checkpoint_every(Some(100))
                .checkpoint_interval(None),
        ),
    ));
    let chain = publisher.chain_id().expect("a chain id");
    // Two tasks at once: the order they interleave in is the chain's order.
    let tasks: Vec<_> = (0..2)
        .map(|task| {
            let publisher = publisher.clone();
            tokio::spawn(async move {
                for n in 0..225 {
                    publisher
                        .publish(event(&format!("tenant-{task}"), n))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let report = publisher.shutdown(PATIENCE);
    assert!(report.is_complete(), "{report}");
    let stats = publisher.stats();
    // 4 by count (every 100 of 450) and the last one at shutdown.
    assert_eq!(stats.checkpoints, 5);
    assert_eq!((report.accepted, report.delivered), (455, 455));

    let mut read = cluster.read_back(&topic, None, 455);
    assert_eq!(read.len(), 455);
    let partition = read[0].partition;
    assert!(
        read.iter().all(|e| e.partition == partition),
        "a chain spread over partitions"
    );
    assert!(read
        .iter()
        .all(|e| e.key.as_deref() == Some(chain.as_bytes())));
    read.sort_by_key(|e| e.offset);
    let ring = keyring();
    let mut verifier = StreamVerifier::new(&ring);
    for (line, event) in (1..).zip(&read) {
        verifier.feed(line, &event.payload);
    }
    let verdict = verifier.finish();
    assert!(verdict.is_clean(), "{}", verdict.to_json());
    let chain_report = &verdict.chains[&chain];
    assert_eq!(chain_report.events, 450);
    assert_eq!(chain_report.checkpoints, 5);
    assert_eq!(chain_report.checkpointed, Some(450));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_come_on_time_without_events_and_a_cut_tail_shows() {
    let cluster = Cluster::start();
    let topic = cluster.topic(1);
    let publisher = publisher(
        cluster.config(&topic).chain(
            ChainConfig::new(chain_key())
                .id("orders-api-0")
                .checkpoint_every(None)
                .checkpoint_interval(Some(Duration::from_millis(50))),
        ),
    );
    for n in 0..3 {
        publisher.publish(event("acme", n)).await.unwrap();
    }
    // The timer keeps checkpointing while nothing is published.
    let started = Instant::now();
    while publisher.stats().checkpoints < 2 {
        assert!(started.elapsed() < PATIENCE, "no checkpoint on time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let report = publisher.shutdown(PATIENCE);
    assert!(report.is_complete(), "{report}");

    let mut read = cluster.read_back(&topic, None, report.accepted as usize);
    read.sort_by_key(|e| e.offset);
    let lines: Vec<&str> = read.iter().map(|e| e.payload.as_str()).collect();
    let verify = |lines: &[&str]| {
        let ring = keyring();
        let mut verifier = StreamVerifier::new(&ring);
        for (n, line) in (1..).zip(lines) {
            verifier.feed(n, line);
        }
        verifier.finish()
    };
    let whole = verify(&lines);
    assert!(whole.is_clean(), "{}", whole.to_json());
    assert_eq!(whole.chains["orders-api-0"].checkpointed, Some(3));

    // Cut the last event, keep the checkpoints: the verifier sees the cut.
    let last_event = lines
        .iter()
        .rposition(|l| !l.contains("auditlog.checkpoint"))
        .unwrap();
    let mut cut = lines.clone();
    cut.remove(last_event);
    let verdict = verify(&cut);
    assert!(!verdict.is_clean());
    assert_eq!(verdict.chains["orders-api-0"].truncated, Some(3..=3));
}

#[test]
fn a_chain_with_another_message_key_is_refused() {
    let config = auditlog_kafka::KafkaConfig::new("127.0.0.1:1")
        .chain(ChainConfig::new(chain_key()))
        .message_key(MessageKey::EventId);
    match KafkaPublisher::new(config) {
        Err(Error::Config { setting, .. }) => assert_eq!(setting, "message_key"),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_signs_what_follows_and_the_old_one_still_verifies() {
    let cluster = Cluster::start();
    let topic = cluster.topic(1);
    let publisher = publisher(cluster.config(&topic).chain(ChainConfig::new(chain_key())));
    let next = ChainKey::hmac("kafka-test-2", SigningKey::new("next-secret").unwrap()).unwrap();
    for n in 0..4 {
        if n == 2 {
            assert!(publisher.rotate_chain_key(next.clone()));
        }
        publisher.publish(event("acme", n)).await.unwrap();
    }
    let report = publisher.shutdown(PATIENCE);
    assert!(report.is_complete(), "{report}");
    let mut read = cluster.read_back(&topic, None, 5);
    read.sort_by_key(|e| e.offset);
    let kids: Vec<String> = read
        .iter()
        .map(|e| {
            let event = &e.verified.as_ref().unwrap().event;
            event.security.as_ref().unwrap().kid.clone().unwrap()
        })
        .collect();
    assert_eq!(
        kids,
        [
            "kafka-test-1",
            "kafka-test-1",
            "kafka-test-2",
            "kafka-test-2",
            "kafka-test-2"
        ]
    );

    let mut both = keyring();
    both.add(next).unwrap();
    both.retire("kafka-test-1");
    let feed = |ring: &Keyring| {
        let mut verifier = StreamVerifier::new(ring);
        for (n, e) in (1..).zip(&read) {
            verifier.feed(n, &e.payload);
        }
        verifier.finish()
    };
    let verdict = feed(&both);
    assert!(verdict.is_clean(), "{}", verdict.to_json());
    // Without the new key, the events after the rotation fail.
    let verdict = feed(&keyring());
    assert_eq!(verdict.invalid.len(), 3, "{}", verdict.to_json());
}
