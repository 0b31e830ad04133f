//! Reading the demo's topic back: a consumer that starts exactly where the
//! topic ended when the demo started, and verifies every event. (The cluster
//! and the publisher come from `auditlog-kafka`; its `TopicReader` starts at
//! `Offset::End` lazily, which could miss the tour's first events on a real
//! cluster, so the demo pins the start offsets from the watermarks.)

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use auditlog_seal::{SigningKey, Verified, VerifyJsonError};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

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
