//! The demo's Kafka: an embedded librdkafka mock cluster (or a real one),
//! the publisher the audit layer hands events to, and a consumer that reads
//! the topic back and verifies every event.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{mpsc as std_mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use auditlog_core::AuditEvent;
use auditlog_seal::{SigningKey, Verified, VerifyJsonError};
use auditlog_sink::{AuditSink, SinkError};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// A librdkafka mock cluster of one broker. It is `!Send`, so it lives on
/// its own thread until this handle is dropped.
#[derive(Debug)]
pub struct Embedded {
    bootstrap: String,
    stop: Option<std_mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Embedded {
    /// Starts the cluster with `topic` (one partition) created.
    pub fn start(topic: &str) -> Result<Self, String> {
        let (ready_tx, ready_rx) = std_mpsc::channel();
        let (stop_tx, stop_rx) = std_mpsc::channel::<()>();
        let topic = topic.to_owned();
        let thread = std::thread::Builder::new()
            .name("embedded-kafka".into())
            .spawn(move || {
                let cluster = match MockCluster::new(1) {
                    Ok(cluster) => cluster,
                    Err(e) => return drop(ready_tx.send(Err(e.to_string()))),
                };
                if let Err(e) = cluster.create_topic(&topic, 1, 1) {
                    return drop(ready_tx.send(Err(e.to_string())));
                }
                let _ = ready_tx.send(Ok(cluster.bootstrap_servers()));
                // Until told to stop, or the handle is gone.
                let _ = stop_rx.recv();
                drop(cluster);
            })
            .map_err(|e| e.to_string())?;
        let bootstrap = ready_rx
            .recv()
            .map_err(|_| "the embedded Kafka thread died".to_owned())??;
        Ok(Embedded {
            bootstrap,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Counts deliveries that failed, from librdkafka's callback thread.
#[derive(Debug, Default)]
struct Deliveries {
    failed: AtomicU64,
}

#[derive(Debug, Clone)]
struct Context(Arc<Deliveries>);

impl ClientContext for Context {}

impl ProducerContext for Context {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, _)) = result {
            let failed = self.0.failed.fetch_add(1, Relaxed) + 1;
            eprintln!("auditlog demo: audit event not delivered ({failed} so far): {error}");
        }
    }
}

/// Seals each event and hands it to librdkafka without waiting: delivery
/// happens on librdkafka's threads.
pub struct Publisher {
    producer: Arc<ThreadedProducer<Context>>,
    deliveries: Arc<Deliveries>,
    topic: String,
    key: Option<SigningKey>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("topic", &self.topic)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    pub fn new(bootstrap: &str, topic: &str, key: Option<SigningKey>) -> Result<Self, String> {
        let deliveries = Arc::new(Deliveries::default());
        let producer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("linger.ms", "5")
            .set("message.timeout.ms", "30000")
            .set("queue.buffering.max.messages", "1000000")
            .create_with_context(Context(deliveries.clone()))
            .map_err(|e| format!("cannot create the Kafka producer: {e}"))?;
        Ok(Publisher {
            producer: Arc::new(producer),
            deliveries,
            topic: topic.to_owned(),
            key,
        })
    }

    pub fn failed_deliveries(&self) -> u64 {
        self.deliveries.failed.load(Relaxed)
    }
}

#[async_trait::async_trait]
impl AuditSink for Publisher {
    async fn publish(&self, mut event: AuditEvent) -> Result<(), SinkError> {
        let json = auditlog_seal::seal_to_json(&mut event, self.key.as_ref());
        let key = event.tenantid.as_deref().unwrap_or_default();
        let record = BaseRecord::to(&self.topic).payload(&json).key(key);
        self.producer
            .send(record)
            .map_err(|(error, _)| match error {
                KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull) => SinkError::QueueFull,
                other => SinkError::Io(other.to_string()),
            })
    }

    async fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        let producer = self.producer.clone();
        tokio::task::spawn_blocking(move || {
            producer.flush(timeout).map_err(|_| SinkError::Timeout {
                undelivered: producer.in_flight_count().max(0) as u64,
            })
        })
        .await
        .map_err(|e| SinkError::Io(e.to_string()))?
    }
}

/// One event read back from the topic.
#[derive(Debug)]
pub struct Consumed {
    /// The message exactly as it was on the topic.
    pub line: String,
    pub verified: Result<Verified, VerifyJsonError>,
}

/// Reads the topic on its own thread, verifying each event, and sends them
/// on until stopped.
#[derive(Debug)]
pub struct Reader {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Reader {
    /// Starts reading every partition of `topic` at its current end (a fresh
    /// embedded topic is empty, so that is from the start).
    pub fn start(
        bootstrap: &str,
        topic: &str,
        key: Option<SigningKey>,
        out: tokio::sync::mpsc::UnboundedSender<Consumed>,
    ) -> Result<Self, String> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", format!("auditlog-demo-{}", std::process::id()))
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "50")
            .create()
            .map_err(|e| format!("cannot create the Kafka consumer: {e}"))?;
        let metadata = consumer
            .fetch_metadata(Some(topic), METADATA_TIMEOUT)
            .map_err(|e| format!("cannot read the metadata of topic {topic}: {e}"))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.name() == topic && t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        if partitions.is_empty() {
            return Err(format!("topic {topic} does not exist (create it first)"));
        }
        let mut assignment = TopicPartitionList::new();
        for partition in partitions {
            let (_, high) = consumer
                .fetch_watermarks(topic, partition, METADATA_TIMEOUT)
                .map_err(|e| format!("cannot read the offsets of {topic}/{partition}: {e}"))?;
            assignment
                .add_partition_offset(topic, partition, Offset::Offset(high))
                .map_err(|e| e.to_string())?;
        }
        consumer.assign(&assignment).map_err(|e| e.to_string())?;

        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("audit-reader".into())
            .spawn(move || {
                while !stopping.load(Relaxed) {
                    let Some(message) = consumer.poll(Duration::from_millis(100)) else {
                        continue;
                    };
                    let message = match message {
                        Ok(message) => message,
                        Err(e) => {
                            eprintln!("auditlog demo: reading the topic failed: {e}");
                            continue;
                        }
                    };
                    let line =
                        String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned();
                    let verified = auditlog_seal::verify_json(&line, key.as_ref());
                    if out.send(Consumed { line, verified }).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(Reader {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
