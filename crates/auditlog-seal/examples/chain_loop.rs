//! A chain of typical events verified line by line, for instruction counts
//! under callgrind (repeatable where wall clocks are not):
//!
//! ```sh
//! cargo build --release -p auditlog-seal --example chain_loop
//! for mode in seal_only verify_into verify_chain; do
//!   valgrind --tool=callgrind --callgrind-out-file=/tmp/$mode.cg \
//!     target/release/examples/chain_loop $mode 20000 2>&1 | grep Collected
//! done
//! ```
//!
//! Every mode seals COUNT copies of the typical event (distinct ids) into a
//! chain with a checkpoint every 1,000 events first, as `auditlog seal
//! --chain` does, then verifies them: `verify_into` checks each line on its
//! own as `auditlog verify` does (strict, with the key, each line read into
//! the previous one's event; the chain members are read, not checked),
//! `verify` likewise with a fresh event per line, `verify_chain` feeds each
//! to a `StreamVerifier` and finishes (what `auditlog verify --chain` does,
//! on one thread). Run `seal_only` for the cost of the setup and subtract
//! it; then the difference of `verify_chain` and `verify_into` per line is
//! what the chain costs.

use std::hint::black_box;

use auditlog_core::AuditEvent;
use auditlog_seal::{
    verify_json, verify_json_into, ChainKey, ChainSealer, Keyring, SigningKey, StreamVerifier,
    Strictness,
};

const TYPICAL: &str = include_str!("../../../docs/samples/typical-event.json");

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "verify_chain".into());
    let count: u64 = args.next().map_or(10_000, |n| n.parse().expect("a count"));
    let signing = SigningKey::new("bench-signing-key").expect("a key");
    let key = ChainKey::hmac("bench", signing.clone()).expect("a chain key");
    let mut sealer = ChainSealer::new("bench-chain", key.clone())
        .expect("a chain")
        .checkpoint_every(1_000);
    let template = AuditEvent::from_json(TYPICAL).expect("the typical event parses");
    let mut lines = Vec::new();
    for n in 0..count {
        let mut event = template.clone();
        event.id = Some(format!("00000000-0000-0000-0000-{n:012}"));
        lines.push(sealer.seal_to_json(&mut event));
        if sealer.checkpoint_due() {
            lines.push(sealer.checkpoint().published_json());
        }
    }
    let mut ring = Keyring::new();
    ring.add(key).expect("one key");
    match mode.as_str() {
        "seal_only" => {}
        "verify" => {
            for line in &lines {
                verify_json(black_box(line), Some(&signing)).expect("verifies");
            }
        }
        "verify_into" => {
            let mut event = AuditEvent::default();
            for line in &lines {
                verify_json_into(
                    &mut event,
                    black_box(line),
                    Some(&signing),
                    Strictness::Strict,
                )
                .expect("verifies");
            }
        }
        "verify_chain" => {
            let mut verifier = StreamVerifier::new(&ring);
            for (number, line) in (1..).zip(&lines) {
                verifier.feed(number, black_box(line));
            }
            let report = verifier.finish();
            assert!(report.is_clean(), "{report}");
        }
        other => panic!("unknown mode {other}"),
    }
}
