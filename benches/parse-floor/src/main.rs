//! What reading one published line costs, against the other Rust JSON
//! parsers, beside what sealing it costs: the numbers behind "how fast can
//! `auditlog seal` be" in `docs/performance.md`.
//!
//! `auditlog-parse-floor MODE COUNT` reads the typical event's published
//! line (sealed with a key, as `auditlog verify` reads it) COUNT times and
//! prints the CPU time of its thread per line (from the kernel's
//! `schedstat`: what other work on the machine disturbs least) and the wall
//! time. Modes:
//!
//! - `ours`: `AuditEvent::parse_into` into the previous line's event (what
//!   the CLI's loops do);
//! - `ours-fresh`: `AuditEvent::from_json`, a new event per line;
//! - `serde-owned`: serde_json into structs of the same fields with owned
//!   strings and payload maps (what a serde model of the event costs);
//! - `serde-borrowed`: serde_json into structs of borrowed `&str` fields,
//!   payloads kept as raw text: no copies, no payload values, no check for
//!   repeated keys (less than the wire format requires: a lower bound);
//! - `serde-syntax`: serde_json checking the syntax only (`IgnoredAny`);
//! - `simd-tape`: simd-json's structural index and tape of the line (SIMD,
//!   chosen at run time; the line copied into a reused buffer first, as its
//!   API requires);
//! - `seal`: sealing the parsed event (canonical text, SHA-256, HMAC);
//! - `sha-floor`: SHA-256 of the canonical text and HMAC of its hex alone.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use auditlog_core::AuditEvent;
use hmac::{Mac, SimpleHmac};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

/// The CLI's allocator, so allocation costs what it costs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TYPICAL: &str = include_str!("../../../docs/samples/typical-event.json");
const KEY: &str = "bench-signing-key";

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(mode), Some(count)) = (args.next(), args.next()) else {
        eprintln!("usage: auditlog-parse-floor MODE COUNT");
        std::process::exit(2);
    };
    let count: usize = count.parse().expect("COUNT is a number");
    let key = auditlog_seal::SigningKey::new(KEY).expect("a key");
    let mut event = AuditEvent::from_json(TYPICAL).expect("the typical event parses");
    let line = auditlog_seal::seal_to_json(&mut event, Some(&key));
    let canonical = event.canonical_json();
    let mut recycled = event.clone();
    let mut copy = Vec::new();
    let mut buffers = simd_json::Buffers::new(line.len());

    let start = Instant::now();
    let cpu_start = thread_cpu_ns();
    for _ in 0..count {
        let line = black_box(line.as_str());
        match mode.as_str() {
            "ours" => _ = black_box(recycled.parse_into(line).expect("parses")),
            "ours-fresh" => _ = black_box(AuditEvent::from_json(line).expect("parses")),
            "serde-owned" => _ = black_box(serde_json::from_str::<owned::Event>(line).unwrap()),
            "serde-borrowed" => {
                _ = black_box(serde_json::from_str::<borrowed::Event<'_>>(line).unwrap())
            }
            "serde-syntax" => {
                _ = black_box(serde_json::from_str::<serde::de::IgnoredAny>(line).unwrap())
            }
            "simd-tape" => {
                copy.clear();
                copy.extend_from_slice(line.as_bytes());
                let tape = simd_json::to_tape_with_buffers(&mut copy, &mut buffers).unwrap();
                black_box(&tape);
            }
            "seal" => auditlog_seal::seal(black_box(&mut event), Some(&key)),
            "sha-floor" => {
                let digest = Sha256::digest(black_box(canonical.as_bytes()));
                let mut hex = [0u8; 64];
                for (pair, byte) in hex.chunks_exact_mut(2).zip(digest) {
                    pair[0] = b"0123456789abcdef"[usize::from(byte >> 4)];
                    pair[1] = b"0123456789abcdef"[usize::from(byte & 0xf)];
                }
                let mut mac = <SimpleHmac<Sha256> as Mac>::new_from_slice(KEY.as_bytes()).unwrap();
                mac.update(&hex);
                black_box(mac.finalize().into_bytes());
            }
            other => panic!("unknown mode {other}"),
        }
    }
    let cpu = (thread_cpu_ns() - cpu_start) as f64 / 1e3 / count as f64;
    let wall = start.elapsed().as_secs_f64() * 1e6 / count as f64;
    println!(
        "{mode} {cpu:.3} µs/line CPU, {wall:.3} wall ({} bytes)",
        line.len()
    );
}

/// Nanoseconds this thread has run on a CPU (Linux).
fn thread_cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("Linux schedstat");
    let first = stat.split_whitespace().next().expect("a first field");
    first.parse().expect("nanoseconds")
}

/// The event's fields with owned strings.
#[allow(dead_code)] // filled to be paid for, never read
mod owned {
    use super::*;

    #[derive(Deserialize)]
    pub(super) struct Event {
        pub id: Option<String>,
        pub specversion: Option<String>,
        pub timestamp: Option<String>,
        pub tenantid: Option<String>,
        pub traceid: Option<String>,
        pub transactionid: Option<String>,
        pub subject: Option<Subject>,
        pub kubernetes: Option<Kubernetes>,
        pub objectref: Option<ObjectRef>,
        pub action: Option<Action>,
        pub network: Option<Network>,
        pub eventdata: Option<EventData>,
        pub security: Option<Security>,
    }

    #[derive(Deserialize)]
    pub(super) struct Subject {
        pub userid: Option<String>,
        #[serde(rename = "type")]
        pub user_type: Option<String>,
        pub groups: Option<Vec<String>>,
    }

    #[derive(Deserialize)]
    pub(super) struct Kubernetes {
        pub namespacename: Option<String>,
        pub podname: Option<String>,
        pub containername: Option<String>,
        pub nodename: Option<String>,
    }

    #[derive(Deserialize)]
    pub(super) struct ObjectRef {
        pub resource: Option<String>,
        pub resourceid: Option<String>,
        pub apiversion: Option<String>,
    }

    #[derive(Deserialize)]
    pub(super) struct Action {
        pub name: Option<String>,
        pub method: Option<String>,
        pub severity: Option<String>,
        pub status: Option<String>,
    }

    #[derive(Deserialize)]
    pub(super) struct Network {
        pub sourceip: Option<String>,
        pub useragent: Option<String>,
    }

    #[derive(Deserialize)]
    pub(super) struct EventData {
        pub requestpayload: Option<BTreeMap<String, serde_json::Value>>,
        pub responsepayload: Option<BTreeMap<String, serde_json::Value>>,
        pub metadata: Option<Metadata>,
    }

    #[derive(Deserialize)]
    pub(super) struct Metadata {
        pub issensitive: Option<bool>,
        pub compliancecategory: Option<String>,
    }

    #[derive(Deserialize)]
    pub(super) struct Security {
        pub hash: Option<String>,
        pub kid: Option<String>,
        pub signature: Option<String>,
    }
}

/// The event's fields borrowed from the line; payloads left as raw text.
#[allow(dead_code)] // filled to be paid for, never read
mod borrowed {
    use super::*;

    #[derive(Deserialize)]
    pub(super) struct Event<'a> {
        #[serde(borrow)]
        pub id: Option<&'a str>,
        #[serde(borrow)]
        pub specversion: Option<&'a str>,
        #[serde(borrow)]
        pub timestamp: Option<&'a str>,
        #[serde(borrow)]
        pub tenantid: Option<&'a str>,
        #[serde(borrow)]
        pub traceid: Option<&'a str>,
        #[serde(borrow)]
        pub transactionid: Option<&'a str>,
        #[serde(borrow)]
        pub subject: Option<Subject<'a>>,
        #[serde(borrow)]
        pub kubernetes: Option<Kubernetes<'a>>,
        #[serde(borrow)]
        pub objectref: Option<ObjectRef<'a>>,
        #[serde(borrow)]
        pub action: Option<Action<'a>>,
        #[serde(borrow)]
        pub network: Option<Network<'a>>,
        #[serde(borrow)]
        pub eventdata: Option<EventData<'a>>,
        #[serde(borrow)]
        pub security: Option<Security<'a>>,
    }

    #[derive(Deserialize)]
    pub(super) struct Subject<'a> {
        #[serde(borrow)]
        pub userid: Option<&'a str>,
        #[serde(rename = "type")]
        #[serde(borrow)]
        pub user_type: Option<&'a str>,
        #[serde(borrow)]
        pub groups: Option<Vec<&'a str>>,
    }

    #[derive(Deserialize)]
    pub(super) struct Kubernetes<'a> {
        #[serde(borrow)]
        pub namespacename: Option<&'a str>,
        #[serde(borrow)]
        pub podname: Option<&'a str>,
        #[serde(borrow)]
        pub containername: Option<&'a str>,
        #[serde(borrow)]
        pub nodename: Option<&'a str>,
    }

    #[derive(Deserialize)]
    pub(super) struct ObjectRef<'a> {
        #[serde(borrow)]
        pub resource: Option<&'a str>,
        #[serde(borrow)]
        pub resourceid: Option<&'a str>,
        #[serde(borrow)]
        pub apiversion: Option<&'a str>,
    }

    #[derive(Deserialize)]
    pub(super) struct Action<'a> {
        #[serde(borrow)]
        pub name: Option<&'a str>,
        #[serde(borrow)]
        pub method: Option<&'a str>,
        #[serde(borrow)]
        pub severity: Option<&'a str>,
        #[serde(borrow)]
        pub status: Option<&'a str>,
    }

    #[derive(Deserialize)]
    pub(super) struct Network<'a> {
        #[serde(borrow)]
        pub sourceip: Option<&'a str>,
        #[serde(borrow)]
        pub useragent: Option<&'a str>,
    }

    #[derive(Deserialize)]
    pub(super) struct EventData<'a> {
        #[serde(borrow)]
        pub requestpayload: Option<&'a RawValue>,
        #[serde(borrow)]
        pub responsepayload: Option<&'a RawValue>,
        #[serde(borrow)]
        pub metadata: Option<Metadata<'a>>,
    }

    #[derive(Deserialize)]
    pub(super) struct Metadata<'a> {
        pub issensitive: Option<bool>,
        #[serde(borrow)]
        pub compliancecategory: Option<&'a str>,
    }

    #[derive(Deserialize)]
    pub(super) struct Security<'a> {
        #[serde(borrow)]
        pub hash: Option<&'a str>,
        #[serde(borrow)]
        pub kid: Option<&'a str>,
        #[serde(borrow)]
        pub signature: Option<&'a str>,
    }
}
