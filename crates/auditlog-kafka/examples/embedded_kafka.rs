//! A Kafka cluster in a process of its own, for trying things against:
//! librdkafka's mock cluster, printing its bootstrap address, until stdin
//! closes (or Ctrl-C).
//!
//! ```sh
//! cargo run -p auditlog-kafka --example embedded_kafka -- [BROKERS] [TOPIC...]
//! ```

use std::io::Read;

use auditlog_kafka::mock::EmbeddedKafka;

fn main() {
    let mut args = std::env::args().skip(1);
    let brokers = args.next().map_or(1, |n| n.parse().expect("BROKERS"));
    let cluster = EmbeddedKafka::start(brokers).expect("mock cluster");
    for topic in args {
        cluster.create_topic(&topic, 3).expect("topic");
    }
    println!("{}", cluster.bootstrap_servers());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}
