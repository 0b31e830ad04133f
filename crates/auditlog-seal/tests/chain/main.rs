//! Chains end to end: sealed streams, what each kind of damage is reported
//! as, key rotation, Ed25519, and the Python reference accepting chained
//! events unchanged.

mod combined_damage;
mod damage;
mod hex_fields;
mod interleaved;
mod link_tags;
mod long_chains;
mod python;
mod random_damage;
mod reading;

use std::io::Write;
use std::process::{Command, Stdio};

use auditlog_core::{AuditEvent, Map, Value};
use auditlog_seal::{
    ChainKey, ChainReport, ChainSealer, Duplicated, Keyring, LineFailure, SigningKey, StreamReport,
    StreamVerifier, Strictness, Unauthenticated, Unmet, VerifyError,
};
use proptest::prelude::*;
use proptest::sample::Index;

const CHAIN: &str = "orders-api-0";

fn hmac_key(kid: &str, secret: &str) -> ChainKey {
    ChainKey::hmac(kid, SigningKey::new(secret).unwrap()).unwrap()
}

fn ring(keys: &[&ChainKey]) -> Keyring {
    let mut ring = Keyring::new();
    for key in keys {
        ring.add((*key).clone()).unwrap();
    }
    ring
}

fn event(i: usize) -> AuditEvent {
    let mut payload = Map::new();
    payload.insert("n".into(), Value::from(i as i64));
    payload.insert("note".into(), Value::from("é😀\"x\""));
    AuditEvent::builder()
        .id(format!("00000000-0000-4000-8000-{i:012}"))
        .timestamp("2026-11-23T08:15:30.123456+00:00")
        .tenant_id("t-1")
        .action_name("orders.create")
        .request_payload(payload)
        .build()
}

/// `n` sealed events and the checkpoints, kept apart as a verifier that
/// stores checkpoints separately would have them (one every `every` events
/// and one at the end).
struct Stream {
    events: Vec<String>,
    checkpoints: Vec<String>,
}

fn sealed(n: usize, every: u64, key: ChainKey) -> Stream {
    let mut sealer = ChainSealer::new(CHAIN, key)
        .unwrap()
        .checkpoint_every(every);
    let mut stream = Stream {
        events: Vec::new(),
        checkpoints: Vec::new(),
    };
    for i in 0..n {
        stream.events.push(sealer.seal_to_json(&mut event(i)));
        if sealer.checkpoint_due() {
            stream
                .checkpoints
                .push(sealer.checkpoint().published_json());
        }
    }
    stream
        .checkpoints
        .push(sealer.checkpoint().published_json());
    stream
}

fn verify(keys: &Keyring, events: &[String], checkpoints: &[String]) -> StreamReport {
    verify_with(StreamVerifier::new(keys), events, checkpoints)
}

fn verify_with(
    mut verifier: StreamVerifier<'_>,
    events: &[String],
    checkpoints: &[String],
) -> StreamReport {
    for (line, text) in (1..).zip(events.iter().chain(checkpoints)) {
        verifier.feed(line, text);
    }
    verifier.finish()
}

fn seqs(ranges: &[std::ops::RangeInclusive<u64>]) -> Vec<u64> {
    ranges.iter().flat_map(|r| r.clone()).collect()
}
