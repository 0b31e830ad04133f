//! Publishing throughput: typical events, sealed and published to an
//! in-process single-broker mock cluster, delivery confirmed.
//!
//! ```sh
//! cargo run --release -p auditlog-kafka --example bench_publish -- EVENT_JSON COUNT [TASKS]
//! ```
//!
//! With `BENCH_PREBUILT=1` the events are built before the clock starts
//! (what is timed is then the publisher alone, at the cost of memory);
//! otherwise each task builds its events as it goes (a clone of the template
//! with a fresh id), so memory stays flat for any COUNT.
//!
//! `AUDITLOG_SIGNING_KEY` signs the events; `AUDITLOG_KAFKA_BENCH_CAPACITY`
//! sets the queue capacity. `BENCH_SPOOL=always` or `BENCH_SPOOL=<ms>` puts
//! a write-ahead spool (in a fresh temporary directory under
//! `BENCH_SPOOL_DIR`, default the system's) under the publisher with that
//! fsync policy.
//!
//! Prints one line: `events=N seconds=S events_per_s=R delivered=D`. Used by
//! `scripts/bench-kafka.sh`, which compares it with `kcat -P`.

use std::time::{Duration, Instant};

use auditlog_core::AuditEvent;
use auditlog_kafka::mock::EmbeddedKafka;
use auditlog_kafka::{AuditSink, Fsync, KafkaConfig, KafkaPublisher, Overflow};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .expect("usage: bench_publish EVENT_JSON COUNT [TASKS]");
    let count: usize = args.get(2).map_or(100_000, |n| n.parse().expect("COUNT"));
    let tasks: usize = args.get(3).map_or(2, |n| n.parse().expect("TASKS"));
    let template =
        AuditEvent::from_json(&std::fs::read_to_string(path).expect("read event")).expect("event");

    let cluster = EmbeddedKafka::start(1).expect("mock cluster");
    cluster.create_topic("audit-logs", 1).expect("topic");
    let capacity = std::env::var("AUDITLOG_KAFKA_BENCH_CAPACITY")
        .ok()
        .map_or(auditlog_kafka::DEFAULT_CAPACITY, |c| {
            c.parse().expect("capacity")
        });
    let key = auditlog_seal::SigningKey::from_env(auditlog_seal::DEFAULT_KEY_ENV).expect("key");
    let mut config = KafkaConfig::new(cluster.bootstrap_servers())
        .signing_key(key)
        .capacity(capacity)
        .overflow(Overflow::Wait(Duration::from_secs(3600)));
    let spool_dir = std::env::var("BENCH_SPOOL").ok().map(|fsync| {
        let fsync: Fsync = fsync.parse().expect("BENCH_SPOOL");
        let parent =
            std::env::var_os("BENCH_SPOOL_DIR").map_or_else(std::env::temp_dir, Into::into);
        let dir = parent.join(format!("auditlog-bench-spool-{}", uuid::Uuid::new_v4()));
        config = config.clone().spool(
            auditlog_kafka::SpoolConfig::new(&dir)
                .fsync(fsync)
                .when_full(auditlog_kafka::SpoolFull::Wait(Duration::from_secs(3600))),
        );
        dir
    });
    // Extra librdkafka properties: BENCH_X="linger.ms=20,compression.type=none".
    for property in std::env::var("BENCH_X").unwrap_or_default().split(',') {
        if let Some((k, v)) = property.split_once('=') {
            config = config.set(k, v);
        }
    }
    let publisher = KafkaPublisher::new(config).expect("publisher");
    publisher.check(Duration::from_secs(10)).expect("check");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(tasks)
        .enable_time()
        .build()
        .unwrap();
    let make = |template: &AuditEvent| {
        let mut event = template.clone();
        event.id = Some(uuid::Uuid::new_v4().to_string());
        event
    };
    let shares: Vec<usize> = (0..tasks)
        .map(|task| count / tasks + usize::from(task < count % tasks))
        .collect();
    let mut prebuilt: Vec<Vec<AuditEvent>> = if std::env::var_os("BENCH_PREBUILT").is_some() {
        shares
            .iter()
            .map(|&share| (0..share).map(|_| make(&template)).collect())
            .collect()
    } else {
        shares.iter().map(|_| Vec::new()).collect()
    };
    let started = Instant::now();
    runtime.block_on(async {
        let mut handles = Vec::new();
        for &share in &shares {
            let publisher = publisher.clone();
            let template = template.clone();
            let events = prebuilt.pop().unwrap_or_default();
            handles.push(tokio::spawn(async move {
                if events.is_empty() {
                    for _ in 0..share {
                        publisher.publish(make(&template)).await.expect("publish");
                    }
                } else {
                    for event in events {
                        publisher.publish(event).await.expect("publish");
                    }
                }
            }));
        }
        for handle in handles {
            handle.await.unwrap();
        }
    });
    let report = publisher.shutdown(Duration::from_secs(600));
    let seconds = started.elapsed().as_secs_f64();
    assert!(report.is_complete(), "{report}");
    drop(publisher);
    if let Some(dir) = spool_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    println!(
        "events={count} seconds={seconds:.3} events_per_s={:.0} delivered={}",
        count as f64 / seconds,
        report.delivered
    );
}
