//! The durable spool under the publisher: write-ahead, recovery on the next
//! start, spilling while the broker is away, its size bound, durability on
//! request.

use std::time::{Duration, Instant};

use auditlog_kafka::{
    AuditSink, ChainConfig, Fsync, KafkaConfig, KafkaPublisher, SinkError, SpoolConfig, SpoolFull,
};
use auditlog_seal::{ChainKey, Keyring, SigningKey, StreamVerifier};

use crate::{assert_exactly_once, event, publish_all, publisher, Cluster, PATIENCE};

fn spool_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Settings of a publisher whose broker never answers.
fn nowhere() -> KafkaConfig {
    KafkaConfig::new("127.0.0.1:1")
        .set("socket.connection.setup.timeout.ms", "1000")
        .set("reconnect.backoff.max.ms", "200")
}

/// Opens a publisher on a spool another publisher just released: its feeder
/// thread may hold the spool's lock a moment longer.
fn reopen(config: impl Fn() -> KafkaConfig) -> KafkaPublisher {
    let started = Instant::now();
    loop {
        match KafkaPublisher::new(config()) {
            Ok(publisher) => return publisher,
            Err(error) if started.elapsed() < Duration::from_secs(5) => {
                eprintln!("spool still held: {error}");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(error) => panic!("cannot reopen the spool: {error}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_ahead_delivers_everything_once_and_empties_the_spool() {
    let cluster = Cluster::start();
    let topic = cluster.topic(3);
    let dir = spool_dir();
    let publisher = publisher(cluster.config(&topic).spool(SpoolConfig::new(dir.path())));
    let ids = publish_all(&publisher, 500, |n| format!("tenant-{}", n % 5)).await;
    let report = publisher.shutdown(PATIENCE);
    assert!(report.is_complete(), "{report}");
    let stats = publisher.stats();
    assert_eq!(
        (stats.accepted, stats.spooled, stats.delivered),
        (500, 500, 500)
    );
    let spool = publisher.spool_stats().unwrap();
    assert_eq!(
        (spool.appended, spool.released, spool.outstanding),
        (500, 500, 0)
    );
    assert_exactly_once(&cluster.read_back(&topic, None, ids.len()), &ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_could_not_be_delivered_is_kept_and_sent_by_the_next_publisher() {
    let cluster = Cluster::start();
    let topic = cluster.topic(1);
    let dir = spool_dir();
    let key = SigningKey::new("spool-key").unwrap();
    let spool = || SpoolConfig::new(dir.path()).fsync(Fsync::Always);

    // No broker: everything is accepted into the spool and kept.
    let away = publisher(
        nowhere()
            .topic(&topic)
            .signing_key(Some(key.clone()))
            .spool(spool()),
    );
    let ids = publish_all(&away, 300, |_| "acme".to_owned()).await;
    let report = away.shutdown(Duration::from_millis(500));
    assert_eq!(
        (report.accepted, report.delivered, report.kept),
        (300, 0, 300),
        "{report}"
    );
    assert_eq!(
        (report.failed, report.abandoned, report.dropped),
        (0, 0, 0),
        "{report}"
    );
    assert!(!report.is_complete());
    drop(away);

    // The next start sends them, with nothing new to publish.
    let next = reopen(|| {
        cluster
            .config(&topic)
            .signing_key(Some(key.clone()))
            .spool(spool())
    });
    assert_eq!(next.recovery().unwrap().records, 300);
    let report = next.shutdown(PATIENCE);
    assert!(report.is_complete(), "{report}");
    assert_eq!(
        (report.recovered, report.delivered, report.accepted),
        (300, 300, 0)
    );
    let read = cluster.read_back(&topic, Some(&key), ids.len());
    assert_exactly_once(&read, &ids);
    // In the order they were published.
    let order: Vec<&str> = read
        .iter()
        .map(|e| e.verified.as_ref().unwrap().event.id.as_deref().unwrap())
        .collect();
    assert_eq!(order, ids.iter().map(String::as_str).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_spills_while_the_broker_is_away_and_nothing_is_dropped() {
    let cluster = Cluster::start();
    let Some(mock) = cluster.mock("spill") else {
        return;
    };
    let topic = cluster.topic(1);
    let dir = spool_dir();
    // Spill only: events go to the spool when the queue (10) is full.
    let publisher = publisher(
        cluster
            .config(&topic)
            .capacity(10)
            .spool(SpoolConfig::new(dir.path()).write_ahead(false)),
    );
    publisher.check(Duration::from_secs(10)).unwrap();
    mock.broker_down(1).unwrap();
    let ids = publish_all(&publisher, 400, |_| "t".to_owned()).await;
    let during = publisher.stats();
    assert_eq!(during.dropped, 0, "{during:?}");
    assert!(
        during.spooled >= 390,
        "at most the queue's 10 went around the spool: {during:?}"
    );
    mock.broker_up(1).unwrap();
    let report = publisher.shutdown(PATIENCE);
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.delivered, 400);
    assert_exactly_once(&cluster.read_back(&topic, None, ids.len()), &ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_deliveries_are_retried_from_the_spool() {
    let cluster = Cluster::start();
    let Some(mock) = cluster.mock("retry") else {
        return;
    };
    let topic = cluster.topic(1);
    let dir = spool_dir();
    // Messages give up after 300 ms: the outage outlasts them.
    let publisher = publisher(
        cluster
            .config(&topic)
            .set("message.timeout.ms", "300")
            .spool(SpoolConfig::new(dir.path())),
    );
    publisher.check(Duration::from_secs(10)).unwrap();
    mock.broker_down(1).unwrap();
    let ids = publish_all(&publisher, 50, |_| "t".to_owned()).await;
    let started = Instant::now();
    while publisher.stats().retried < 50 {
        assert!(started.elapsed() < PATIENCE, "{:?}", publisher.stats());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    mock.broker_up(1).unwrap();
    let report = publisher.shutdown(PATIENCE);
    assert!(report.is_complete(), "{report}");
    assert_eq!((report.delivered, report.failed), (50, 0));
    assert_exactly_once(&cluster.read_back(&topic, None, ids.len()), &ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_spool_does_what_its_policy_says() {
    let dir = spool_dir();
    let full = |policy: SpoolFull, dir: &std::path::Path| {
        publisher(
            nowhere().spool(
                SpoolConfig::new(dir)
                    .max_bytes(128 * 1024)
                    .segment_bytes(16 * 1024)
                    .when_full(policy),
            ),
        )
    };
    // Fail: refused with a clear error once full, counted.
    let failing = full(SpoolFull::Fail, &dir.path().join("fail"));
    let mut refused = 0;
    for n in 0..400 {
        match failing.publish(event("t", n)).await {
            Ok(()) => {}
            Err(SinkError::Full { .. }) => refused += 1,
            Err(other) => panic!("unexpected {other}"),
        }
    }
    let stats = failing.stats();
    assert!(refused > 0, "the spool never filled: {stats:?}");
    assert_eq!(stats.dropped, refused);
    assert_eq!(stats.accepted + stats.dropped, 400);
    let spool = failing.spool_stats().unwrap();
    assert!(spool.bytes <= 128 * 1024, "{spool:?}");

    // Wait: waits, then refuses the same way.
    let waiting = full(
        SpoolFull::Wait(Duration::from_millis(30)),
        &dir.path().join("wait"),
    );
    let mut refused = 0;
    for n in 0..400 {
        if let Err(SinkError::Full { .. }) = waiting.publish(event("t", n)).await {
            refused += 1;
        }
    }
    assert!(refused > 0);
    assert_eq!(waiting.stats().dropped, refused);

    // DropNewest: sent around the spool while the queue has room, then
    // dropped; never an error other than SpoolFull.
    let dropping = publisher(
        nowhere().capacity(20).spool(
            SpoolConfig::new(dir.path().join("drop"))
                .max_bytes(128 * 1024)
                .segment_bytes(16 * 1024)
                .when_full(SpoolFull::DropNewest),
        ),
    );
    for n in 0..400 {
        match dropping.publish(event("t", n)).await {
            Ok(()) | Err(SinkError::Full { .. }) => {}
            Err(other) => panic!("unexpected {other}"),
        }
    }
    let stats = dropping.stats();
    assert!(stats.dropped > 0, "{stats:?}");
    assert_eq!(stats.accepted + stats.dropped, 400, "{stats:?}");
    for publisher in [failing, waiting, dropping] {
        publisher.shutdown(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_durable_returns_once_the_event_is_fsynced() {
    let dir = spool_dir();
    // Fsync every second: durable publishing still waits for its own fsync.
    let publisher = publisher(
        nowhere().spool(SpoolConfig::new(dir.path()).fsync(Fsync::Every(Duration::from_secs(1)))),
    );
    let started = Instant::now();
    publisher.publish_durable(event("t", 1)).await.unwrap();
    let spool = publisher.spool_stats().unwrap();
    assert!(
        spool.synced_seq >= spool.last_seq && spool.last_seq == 1,
        "{spool:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    publisher.shutdown(Duration::from_millis(100));

    let plain = publisher_without_spool();
    assert_eq!(
        plain.publish_durable(event("t", 2)).await,
        Err(SinkError::NotDurable)
    );
    assert_eq!(plain.stats().accepted, 0);
    plain.shutdown(Duration::from_millis(100));
}

fn publisher_without_spool() -> KafkaPublisher {
    publisher(nowhere())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_through_the_spool_and_an_outage_verifies_clean() {
    let cluster = Cluster::start();
    let Some(mock) = cluster.mock("chain and spool") else {
        return;
    };
    let topic = cluster.topic(3);
    let dir = spool_dir();
    let key = ChainKey::hmac("k1", SigningKey::new("chain").unwrap()).unwrap();
    let publisher = publisher(
        cluster
            .config(&topic)
            .capacity(8)
            .spool(SpoolConfig::new(dir.path()))
            .chain(
                ChainConfig::new(key.clone())
                    .checkpoint_every(Some(50))
                    .checkpoint_interval(None),
            ),
    );
    publisher.check(Duration::from_secs(10)).unwrap();
    for n in 0..300 {
        if n == 100 {
            mock.broker_down(1).unwrap();
        }
        if n == 200 {
            mock.broker_up(1).unwrap();
        }
        publisher.publish(event("t", n)).await.unwrap();
    }
    let report = publisher.shutdown(PATIENCE);
    assert!(report.is_complete(), "{report}");
    let mut read = cluster.read_back(&topic, None, report.delivered as usize);
    read.sort_by_key(|e| (e.partition, e.offset));
    let mut ring = Keyring::new();
    ring.add(key).unwrap();
    let mut verifier = StreamVerifier::new(&ring);
    for (line, event) in (1..).zip(&read) {
        verifier.feed(line, &event.payload);
    }
    let verdict = verifier.finish();
    assert!(verdict.is_clean(), "{}", verdict.to_json());
    let chain = &verdict.chains[&publisher.chain_id().unwrap()];
    assert_eq!(chain.events, 300);
    assert!(chain.duplicated.is_empty(), "{chain:?}");
}
