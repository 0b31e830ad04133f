//! The publisher against a real Kafka protocol: librdkafka's mock cluster
//! in-process by default, or the broker named by `AUDITLOG_TEST_BROKERS`
//! (tests that need to break the cluster are skipped there).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use auditlog_core::AuditEvent;
use auditlog_kafka::mock::EmbeddedKafka;
use auditlog_kafka::{AuditSink, KafkaConfig, KafkaPublisher, ReadEvent, StartAt, TopicReader};
use auditlog_seal::SigningKey;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;

mod backpressure;
mod borrowed;
mod borrowed_refused;
mod chain;
mod delivery;
mod failures;
mod hostile;
mod overflow;
mod reports;
mod spool;

/// Generous bound on any wait: reached only when something is broken.
const PATIENCE: Duration = Duration::from_secs(60);

/// Where the tests publish.
#[derive(Debug)]
pub enum Cluster {
    /// The in-process mock cluster.
    Mock(EmbeddedKafka),
    /// A real broker, from `AUDITLOG_TEST_BROKERS`.
    Real(String),
}

impl Cluster {
    /// The broker of `AUDITLOG_TEST_BROKERS`, else a new mock cluster.
    pub fn start() -> Cluster {
        match std::env::var("AUDITLOG_TEST_BROKERS") {
            Ok(brokers) if !brokers.trim().is_empty() => Cluster::Real(brokers),
            _ => Cluster::Mock(EmbeddedKafka::start(1).expect("mock cluster")),
        }
    }

    /// `bootstrap.servers` for clients.
    pub fn brokers(&self) -> String {
        match self {
            Cluster::Mock(mock) => mock.bootstrap_servers().to_owned(),
            Cluster::Real(brokers) => brokers.clone(),
        }
    }

    /// The mock cluster, or `None` (with a note) against a real broker.
    pub fn mock(&self, test: &str) -> Option<&EmbeddedKafka> {
        match self {
            Cluster::Mock(mock) => Some(mock),
            Cluster::Real(_) => {
                eprintln!("{test}: skipped against a real broker (needs the mock cluster)");
                None
            }
        }
    }

    /// A fresh topic of `partitions` partitions.
    pub fn topic(&self, partitions: i32) -> String {
        let name = format!("auditlog-test-{}", uuid::Uuid::new_v4());
        match self {
            Cluster::Mock(mock) => mock.create_topic(&name, partitions).unwrap(),
            Cluster::Real(brokers) => {
                let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
                    .set("bootstrap.servers", brokers)
                    .create()
                    .unwrap();
                let topic = NewTopic::new(&name, partitions, TopicReplication::Fixed(1));
                // On a thread of its own: the tests run inside a runtime.
                let created = std::thread::scope(|scope| {
                    scope
                        .spawn(|| {
                            let options =
                                AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
                            tokio::runtime::Builder::new_current_thread()
                                .enable_all()
                                .build()
                                .unwrap()
                                .block_on(admin.create_topics([&topic], &options))
                        })
                        .join()
                        .unwrap()
                });
                let auto_create = match created.map(|mut results| results.remove(0)) {
                    Ok(Ok(_)) => "false",
                    // Brokers without the admin API (librdkafka's mock
                    // cluster in another process) create topics on demand.
                    other => {
                        eprintln!("creating {name} through the admin API failed ({other:?}); relying on auto-creation");
                        "true"
                    }
                };
                // A real cluster takes a moment to tell every broker.
                let probe = KafkaPublisher::new(
                    KafkaConfig::new(brokers.as_str())
                        .topic(&name)
                        .set("allow.auto.create.topics", auto_create),
                )
                .unwrap();
                let started = Instant::now();
                while probe.check(Duration::from_secs(5)).is_err() {
                    assert!(started.elapsed() < PATIENCE, "topic {name} never appeared");
                    std::thread::sleep(Duration::from_millis(200));
                }
                probe.shutdown(Duration::from_secs(1));
            }
        }
        name
    }

    /// Publisher settings for this cluster and `topic`; quick to give up
    /// on a missing topic so failures show within the test's patience.
    pub fn config(&self, topic: &str) -> KafkaConfig {
        KafkaConfig::new(self.brokers())
            .topic(topic)
            .set("allow.auto.create.topics", "false")
    }

    /// Everything on `topic` until `want` events came and then no more for a
    /// moment (so a duplicate would be seen), or `PATIENCE` passed.
    pub fn read_back(&self, topic: &str, key: Option<&SigningKey>, want: usize) -> Vec<ReadEvent> {
        let reader = TopicReader::new(
            &self.brokers(),
            topic,
            &[],
            key.cloned(),
            StartAt::Beginning,
            Duration::from_secs(10),
        )
        .unwrap();
        let started = Instant::now();
        let mut events = Vec::new();
        let mut quiet_since = None::<Instant>;
        while started.elapsed() < PATIENCE {
            match reader.recv_timeout(Duration::from_millis(200)) {
                Some(Ok(event)) => {
                    events.push(event);
                    quiet_since = None;
                }
                Some(Err(e)) => eprintln!("consumer: {e}"),
                None if events.len() >= want => {
                    let since = *quiet_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > Duration::from_secs(1) {
                        break;
                    }
                }
                None => {}
            }
        }
        events
    }
}

/// Publishes events `0..count` (of tenant `tenant(n)`), each accepted;
/// their ids, in order.
pub async fn publish_all(
    publisher: &KafkaPublisher,
    count: usize,
    tenant: impl Fn(usize) -> String,
) -> Vec<String> {
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let event = event(&tenant(n), n);
        ids.push(event.id.clone().unwrap());
        publisher.publish(event).await.unwrap();
    }
    ids
}

/// Event `n` of `tenant`, its action numbered so each is told apart.
pub fn event(tenant: &str, n: usize) -> AuditEvent {
    AuditEvent::builder()
        .tenant_id(tenant)
        .action_name(format!("orders.create.{n}"))
        .build()
}

/// Every event read verified; each expected id exactly once.
pub fn assert_exactly_once(read: &[ReadEvent], expected: &[String]) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for event in read {
        let verified = event
            .verified
            .as_ref()
            .unwrap_or_else(|e| panic!("offset {} did not verify: {e}", event.offset));
        *seen
            .entry(verified.event.id.as_deref().expect("id"))
            .or_default() += 1;
    }
    let duplicates: Vec<_> = seen.iter().filter(|(_, &n)| n > 1).collect();
    assert!(duplicates.is_empty(), "duplicates: {duplicates:?}");
    for id in expected {
        assert_eq!(seen.get(id.as_str()), Some(&1), "event {id} not read back");
    }
    assert_eq!(read.len(), expected.len(), "unexpected extra events");
}

/// A publisher of `config`, which the test expects valid.
pub fn publisher(config: KafkaConfig) -> KafkaPublisher {
    KafkaPublisher::new(config).expect("publisher")
}
