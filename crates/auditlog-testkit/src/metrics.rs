//! A `metrics` recorder that keeps what it is given, so a test can read the
//! counters and gauges a crate reports.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

/// Every counter and gauge registered with it, by name and labels:
/// `name{label=value}` (labels in the order given). Install it for a block
/// with `metrics::with_local_recorder(&recorded, || ...)`; histograms are
/// dropped.
///
/// ```
/// use auditlog_testkit::RecordedMetrics;
///
/// let recorded = RecordedMetrics::default();
/// metrics::with_local_recorder(&recorded, || {
///     metrics::counter!("dropped_total", "reason" => "queue_full").increment(2);
/// });
/// assert_eq!(recorded.counter("dropped_total{reason=queue_full}"), 2);
/// ```
#[derive(Debug, Default)]
pub struct RecordedMetrics {
    values: Mutex<HashMap<String, Arc<AtomicU64>>>,
    ignored_labels: Vec<&'static str>,
}

impl RecordedMetrics {
    /// A recorder that leaves `labels` out of the names (e.g. a topic name
    /// that differs from test to test).
    pub fn ignoring_labels(labels: &[&'static str]) -> Self {
        RecordedMetrics {
            ignored_labels: labels.to_vec(),
            ..RecordedMetrics::default()
        }
    }

    /// The counter's value; 0 when it was never registered.
    pub fn counter(&self, name: &str) -> u64 {
        self.values
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .map_or(0, |v| v.load(Relaxed))
    }

    /// The gauge's value; 0.0 when it was never registered.
    pub fn gauge(&self, name: &str) -> f64 {
        f64::from_bits(self.counter(name))
    }

    fn handle(&self, key: &Key) -> Arc<AtomicU64> {
        let mut name = key.name().to_owned();
        for label in key
            .labels()
            .filter(|l| !self.ignored_labels.contains(&l.key()))
        {
            name.push_str(&format!("{{{}={}}}", label.key(), label.value()));
        }
        self.values
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(name)
            .or_default()
            .clone()
    }
}

impl Recorder for RecordedMetrics {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.handle(key))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.handle(key))
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}
