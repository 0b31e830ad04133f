//! Sealing the typical middleware event (docs/samples/typical-event.json:
//! all sections, small payloads, ~800 bytes canonical) with a signing key.
//!
//! `cargo bench -p auditlog-seal --bench seal`; figures in docs/performance.md.

// criterion_group! defines a `pub fn` it gives no docs; a bench has no API.
#![allow(missing_docs)]

use std::hint::black_box;

use auditlog_core::AuditEvent;
use auditlog_seal::{seal, seal_into, SigningKey};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hmac::{Mac, SimpleHmac};
use sha2::{Digest, Sha256};

const TYPICAL: &str = include_str!("../../../docs/samples/typical-event.json");

fn typical() -> AuditEvent {
    AuditEvent::from_json(TYPICAL).expect("the typical event parses")
}

fn sealing(c: &mut Criterion) {
    let key = SigningKey::new("bench-signing-key").unwrap();
    let event = typical();
    let canonical = event.canonical_json();
    assert!(
        (700..900).contains(&canonical.len()),
        "{} bytes",
        canonical.len()
    );

    let mut group = c.benchmark_group("typical_event");
    group.throughput(Throughput::Elements(1));

    // What the issue measures: canonical text, hash and signature.
    group.bench_function("seal", |b| {
        let mut event = event.clone();
        b.iter(|| {
            seal(black_box(&mut event), Some(&key));
        })
    });

    group.bench_function("canonical_only", |b| {
        let mut buf = Vec::with_capacity(1024);
        b.iter(|| {
            buf.clear();
            black_box(&event).write_canonical(&mut buf);
            black_box(buf.len())
        })
    });

    // The floor: SHA-256 of the same bytes, then HMAC-SHA256 of the hex hash.
    group.bench_function("sha256_hmac_floor", |b| {
        b.iter(|| {
            let digest = Sha256::digest(black_box(canonical.as_bytes()));
            let mut hex = [0u8; 64];
            for (i, byte) in digest.iter().enumerate() {
                hex[2 * i] = b"0123456789abcdef"[usize::from(byte >> 4)];
                hex[2 * i + 1] = b"0123456789abcdef"[usize::from(byte & 0xf)];
            }
            let mut mac =
                <SimpleHmac<Sha256> as Mac>::new_from_slice(b"bench-signing-key").unwrap();
            mac.update(&hex);
            black_box(mac.finalize().into_bytes())
        })
    });

    // The CLI's work per line: parse, seal, write the published form.
    let mut published = event.clone();
    seal(&mut published, Some(&key));
    let line = published.published_json();
    group.bench_function("parse_only", |b| {
        b.iter(|| AuditEvent::from_json(black_box(&line)).unwrap())
    });

    group.bench_function("parse_seal_serialize", |b| {
        let mut buf = Vec::with_capacity(2048);
        b.iter(|| {
            let mut event = AuditEvent::from_json(black_box(&line)).unwrap();
            buf.clear();
            seal_into(&mut event, Some(&key), &mut buf);
            black_box(buf.len())
        })
    });
    group.finish();
}

criterion_group!(benches, sealing);
criterion_main!(benches);
