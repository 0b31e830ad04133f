//! Insert and query on a 1,000,000-event store.
//! `cargo bench -p auditlog-store --bench store`; figures in docs/performance.md.

// criterion_group! defines a `pub fn` it gives no docs; a bench has no API.
#![allow(missing_docs)]

use std::hint::black_box;

use auditlog_core::{catalogue, AuditEvent, Severity};
use auditlog_store::{MemoryStore, Query};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const SIZE: usize = 1_000_000;

fn event(n: usize) -> AuditEvent {
    let builder = if n.is_multiple_of(10) {
        catalogue::login_failed(&format!("user-{}", n % 1000), "bad password")
    } else {
        catalogue::login_succeeded(&format!("user-{}", n % 1000))
    };
    builder.tenant_id(format!("tenant-{}", n % 100)).build()
}

fn store(c: &mut Criterion) {
    let full = MemoryStore::new(SIZE);
    for n in 0..SIZE {
        full.insert(event(n));
    }
    let mut group = c.benchmark_group("store_1m");
    group.throughput(Throughput::Elements(1));
    group.bench_function("insert_evicting", |b| {
        let mut n = 0;
        b.iter_batched(
            || {
                n += 1;
                event(n)
            },
            |e| full.insert(e),
            BatchSize::SmallInput,
        )
    });
    group.sample_size(10);
    group.bench_function("query_tenant_failures_newest_100", |b| {
        let query = Query::new()
            .tenant("tenant-10")
            .min_severity(Severity::Warning)
            .limit(100);
        b.iter(|| black_box(full.query(&query)).len())
    });
    group.bench_function("query_scan_no_match", |b| {
        let query = Query::new().tenant("nobody");
        b.iter(|| black_box(full.query(&query)).len())
    });
    group.bench_function("recent_1000", |b| {
        b.iter(|| black_box(full.recent(1000)).len())
    });
    group.finish();
}

criterion_group!(benches, store);
criterion_main!(benches);
