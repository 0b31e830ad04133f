//! A fixed number of seals (or verifications) of the typical event, for
//! instruction counts under callgrind, which are repeatable on a noisy
//! machine where wall-clock benchmarks are not:
//!
//! ```sh
//! cargo build --profile bench -p auditlog-seal --example seal_loop
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/seal.cg \
//!     target/release/examples/seal_loop seal 20000
//! ```
//!
//! Modes: `seal` (canonical text, hash, signature), `canonical`, `floor`
//! (SHA-256 of the canonical text and HMAC-SHA256 of its hex with the
//! `hmac` crate: the bench's `sha256_hmac_floor`, for CPU-time ratios),
//! `parse_seal_serialize` (parse a fresh event, seal, write), `verify`
//! (strict, with the key), and `parse_into` (parse only), `parse_into_seal_serialize` and
//! `verify_into`: the same, each line read into the previous line's event,
//! as `auditlog seal` and `auditlog verify` do per line. Divide the total by the
//! count; the setup costs a fixed few hundred thousand instructions.

use std::hint::black_box;

use auditlog_core::AuditEvent;
use auditlog_seal::{seal, seal_into, verify_json, verify_json_into, SigningKey, Strictness};
use hmac::{Mac, SimpleHmac};
use sha2::{Digest, Sha256};

const TYPICAL: &str = include_str!("../../../docs/samples/typical-event.json");

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "seal".into());
    let count: usize = args.next().map_or(10_000, |n| n.parse().expect("a count"));
    let key = SigningKey::new("bench-signing-key").expect("a key");
    let mut event = AuditEvent::from_json(TYPICAL).expect("the typical event parses");
    let mut published = event.clone();
    seal(&mut published, Some(&key));
    let line = published.published_json();
    let canonical = event.canonical_json();
    let mut buf = Vec::with_capacity(2048);
    let mut recycled = AuditEvent::default();
    for _ in 0..count {
        match mode.as_str() {
            "seal" => seal(black_box(&mut event), Some(&key)),
            "canonical" => {
                buf.clear();
                black_box(&event).write_canonical(&mut buf);
            }
            "floor" => {
                let digest = Sha256::digest(black_box(canonical.as_bytes()));
                let mut hex = [0u8; 64];
                for (pair, byte) in hex.chunks_exact_mut(2).zip(digest) {
                    pair[0] = b"0123456789abcdef"[usize::from(byte >> 4)];
                    pair[1] = b"0123456789abcdef"[usize::from(byte & 0xf)];
                }
                let mut mac =
                    <SimpleHmac<Sha256> as Mac>::new_from_slice(b"bench-signing-key").unwrap();
                mac.update(&hex);
                black_box(mac.finalize().into_bytes());
            }
            "parse_seal_serialize" => {
                let mut event = AuditEvent::from_json(black_box(&line)).expect("parses");
                buf.clear();
                seal_into(&mut event, Some(&key), &mut buf);
            }
            "verify" => {
                verify_json(black_box(&line), Some(&key)).expect("verifies");
            }
            // As the CLI's loops do: each line read into the last one's event.
            "parse_into" => {
                recycled.parse_into(black_box(&line)).expect("parses");
            }
            "parse_into_seal_serialize" => {
                recycled.parse_into(black_box(&line)).expect("parses");
                buf.clear();
                seal_into(&mut recycled, Some(&key), &mut buf);
            }
            "verify_into" => {
                verify_json_into(
                    &mut recycled,
                    black_box(&line),
                    Some(&key),
                    Strictness::Strict,
                )
                .expect("verifies");
            }
            other => panic!("unknown mode {other}"),
        }
        black_box(&buf);
    }
}
