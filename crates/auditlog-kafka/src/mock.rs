//! An in-process Kafka cluster for tests, demos and benchmarks, as rdkafka
//! keeps its `MockCluster` in `rdkafka::mocking`.
//!
//! ```no_run
//! use auditlog_kafka::mock::EmbeddedKafka;
//!
//! let kafka = EmbeddedKafka::start(1)?;
//! kafka.create_topic("audit-logs", 3)?;
//! let brokers = kafka.bootstrap_servers();
//! # let _ = brokers;
//! # Ok::<(), auditlog_kafka::Error>(())
//! ```

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::error::KafkaResult;
use rdkafka::mocking::MockCluster;

use crate::error::{Error, Result};

/// A Kafka cluster inside this process: librdkafka's mock cluster, which
/// speaks the real Kafka protocol on a local port. For demos, tests and
/// benchmarks; it keeps everything in memory.
///
/// `MockCluster` must stay on the thread that made it; this handle is `Send`
/// and talks to that thread. Dropping the handle stops the cluster.
#[derive(Debug)]
pub struct EmbeddedKafka {
    bootstrap: String,
    commands: Option<mpsc::Sender<Command>>,
    thread: Option<JoinHandle<()>>,
}

/// A request to the cluster's thread, with where to send the answer.
enum Command {
    CreateTopic(String, i32, mpsc::Sender<Result<()>>),
    BrokerDown(i32, mpsc::Sender<Result<()>>),
    BrokerUp(i32, mpsc::Sender<Result<()>>),
    ProduceErrors(usize, mpsc::Sender<Result<()>>),
}

impl EmbeddedKafka {
    /// Starts a cluster of `brokers` brokers.
    pub fn start(brokers: i32) -> Result<Self> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (commands, receive) = mpsc::channel::<Command>();
        let thread = std::thread::Builder::new()
            .name("embedded-kafka".into())
            .spawn(move || {
                let cluster = match MockCluster::new(brokers) {
                    Ok(cluster) => cluster,
                    Err(e) => return drop(ready_tx.send(Err(Error::client(e)))),
                };
                let _ = ready_tx.send(Ok(cluster.bootstrap_servers()));
                let done = |result: KafkaResult<()>| result.map_err(Error::client);
                // Until the handle is dropped.
                for command in receive {
                    let _ = match command {
                        Command::CreateTopic(name, partitions, reply) => {
                            reply.send(done(cluster.create_topic(&name, partitions, 1)))
                        }
                        Command::BrokerDown(id, reply) => reply.send(done(cluster.broker_down(id))),
                        Command::BrokerUp(id, reply) => reply.send(done(cluster.broker_up(id))),
                        Command::ProduceErrors(count, reply) => {
                            use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
                            let errors = [
                                RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                RDKafkaRespErr::RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
                            ];
                            let errors: Vec<_> =
                                errors.iter().copied().cycle().take(count).collect();
                            cluster.request_errors(RDKafkaApiKey::Produce, &errors);
                            reply.send(Ok(()))
                        }
                    };
                }
            })
            .map_err(|source| Error::Spawn {
                thread: "embedded-kafka",
                source,
            })?;
        let bootstrap = ready_rx.recv().map_err(|_| Error::EmbeddedGone)??;
        Ok(EmbeddedKafka {
            bootstrap,
            commands: Some(commands),
            thread: Some(thread),
        })
    }

    /// `host:port,...` to give clients as `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    fn ask(&self, make: impl FnOnce(mpsc::Sender<Result<()>>) -> Command) -> Result<()> {
        let (reply, answer) = mpsc::channel();
        let gone = || Error::EmbeddedGone;
        self.commands
            .as_ref()
            .ok_or_else(gone)?
            .send(make(reply))
            .map_err(|_| gone())?;
        answer
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| gone())?
    }

    /// Creates `topic` with `partitions` partitions (replication 1).
    pub fn create_topic(&self, topic: &str, partitions: i32) -> Result<()> {
        self.ask(|reply| Command::CreateTopic(topic.to_owned(), partitions, reply))
    }

    /// Takes broker `id` (1-based) down: its connections close, new ones fail.
    pub fn broker_down(&self, id: i32) -> Result<()> {
        self.ask(|reply| Command::BrokerDown(id, reply))
    }

    /// Makes the next `count` produce requests fail with retriable errors
    /// (not enough replicas, leader not available), as a cluster under
    /// maintenance does.
    pub fn fail_next_produce_requests(&self, count: usize) -> Result<()> {
        self.ask(|reply| Command::ProduceErrors(count, reply))
    }

    /// Brings broker `id` back.
    pub fn broker_up(&self, id: i32) -> Result<()> {
        self.ask(|reply| Command::BrokerUp(id, reply))
    }
}

impl Drop for EmbeddedKafka {
    fn drop(&mut self) {
        drop(self.commands.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
