//! The durable spool: appending 1 KiB records.
//!
//! - `every_10ms`: one thread, `Fsync::Every(10 ms)`; each record appended
//!   as sent and released (as a delivery report would), so acks are
//!   written and segments deleted as in steady state.
//! - `always/N`: N threads each appending and waiting for its fdatasync
//!   (`Fsync::Always`); concurrent waiters share fdatasyncs (group commit).
//!   Time per record over all threads.
//!
//! The spool is crate-private: the module is compiled into the bench.
//! The spool directory is in `$TMPDIR` (default `/tmp`): put it on the disk
//! to measure with `TMPDIR=/path/on/disk`.

// `criterion_group!` makes a public function without docs.
#![allow(missing_docs)]

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

#[allow(dead_code, unused_imports, unreachable_pub)] // the bench uses a part; under clippy its tests come along
#[path = "../src/spool/mod.rs"]
mod spool;
// The spool's lock policy, as in the library.
#[path = "../src/lock.rs"]
mod lock;

use spool::{Fsync, Spool, SpoolConfig};

const RECORD: usize = 1024;

fn open(dir: &std::path::Path, fsync: Fsync) -> Spool {
    Spool::open(&SpoolConfig::new(dir).fsync(fsync))
        .expect("open")
        .0
}

fn every_10ms(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let spool = open(dir.path(), Fsync::Every(Duration::from_millis(10)));
    let payload = vec![b'x'; RECORD];
    let mut group = c.benchmark_group("spool_append_1k");
    group.throughput(Throughput::Elements(1));
    group.bench_function("every_10ms", |b| {
        b.iter(|| {
            let seq = spool
                .append(Some(b"tenant"), &payload, true)
                .expect("append");
            spool.release(seq);
        })
    });
    group.finish();
}

fn always(c: &mut Criterion) {
    let mut group = c.benchmark_group("spool_append_1k");
    group.throughput(Throughput::Elements(1));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for threads in [1, 4] {
        let dir = tempfile::tempdir().expect("temp dir");
        let spool = Arc::new(open(dir.path(), Fsync::Always));
        group.bench_function(format!("always/{threads}_threads"), |b| {
            b.iter_custom(|iters| {
                let per_thread = iters.div_ceil(threads);
                let start = Arc::new(Barrier::new(threads as usize + 1));
                let workers: Vec<_> = (0..threads)
                    .map(|_| {
                        let (spool, start) = (spool.clone(), start.clone());
                        std::thread::spawn(move || {
                            let payload = vec![b'x'; RECORD];
                            start.wait();
                            for _ in 0..per_thread {
                                let seq = spool
                                    .append(Some(b"tenant"), &payload, true)
                                    .expect("append");
                                spool.wait_synced(seq).expect("fdatasync");
                                spool.release(seq);
                            }
                        })
                    })
                    .collect();
                start.wait();
                let began = Instant::now();
                for worker in workers {
                    worker.join().expect("worker");
                }
                // Per record: the wall time over every thread's records.
                began
                    .elapsed()
                    .mul_f64(iters as f64 / (per_thread * threads) as f64)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, every_10ms, always);
criterion_main!(benches);
