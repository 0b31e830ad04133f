//! Delivery reports are served by the publisher's own thread: settled
//! without anyone flushing, and still after a callback panicked.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use auditlog_kafka::{metric, AuditSink, KafkaPublisher};
use metrics::{
    Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};

use crate::{event, publisher, Cluster, PATIENCE};

/// Waits until `delivered` events are counted delivered; never flushes.
fn wait_delivered(publisher: &KafkaPublisher, delivered: u64) {
    let started = Instant::now();
    while publisher.stats().delivered < delivered {
        assert!(started.elapsed() < PATIENCE, "{:?}", publisher.stats());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_reported_without_a_flush() {
    let cluster = Cluster::start();
    let topic = cluster.topic(1);
    let publisher = publisher(cluster.config(&topic));
    for n in 0..3 {
        publisher.publish(event("t", n)).await.unwrap();
    }
    wait_delivered(&publisher, 3);
    let stats = publisher.stats();
    assert_eq!((stats.accepted, stats.in_flight), (3, 0), "{stats:?}");
}

/// A metrics recorder whose delivered counter panics the first time it is
/// counted: a bug in the user's recorder, on the reports' thread.
#[derive(Debug, Default)]
struct PanicsOnFirstDelivery(Arc<FirstDelivery>);

#[derive(Debug, Default)]
struct FirstDelivery {
    panicked: AtomicBool,
}

impl CounterFn for FirstDelivery {
    fn increment(&self, _: u64) {
        if !self.panicked.swap(true, Relaxed) {
            panic!("a recorder's bug, on the first delivery");
        }
    }

    fn absolute(&self, _: u64) {}
}

impl Recorder for PanicsOnFirstDelivery {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        if key.name() == metric::DELIVERED {
            Counter::from_arc(self.0.clone())
        } else {
            Counter::noop()
        }
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_a_delivery_report_does_not_stop_the_later_reports() {
    let cluster = Cluster::start();
    let topic = cluster.topic(1);
    let recorder = PanicsOnFirstDelivery::default();
    let publisher = metrics::with_local_recorder(&recorder, || {
        publisher(
            cluster
                .config(&topic)
                .drop_flush_timeout(Duration::from_millis(100)),
        )
    });
    publisher.publish(event("t", 0)).await.unwrap();
    let started = Instant::now();
    while !recorder.0.panicked.load(Relaxed) {
        assert!(started.elapsed() < PATIENCE, "no delivery report");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Reported on its own, with no flush to serve it.
    publisher.publish(event("t", 1)).await.unwrap();
    wait_delivered(&publisher, 1);
    // The report that panicked settled nothing: that event is reported
    // abandoned, never counted delivered without its report.
    let report = publisher.shutdown(Duration::from_millis(100));
    assert_eq!(
        (report.accepted, report.delivered, report.abandoned),
        (2, 1, 1),
        "{report}"
    );
}
