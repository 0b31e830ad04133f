//! Time to read a deeply nested payload into the event of a line whose
//! payload had one more key at every level, against a fresh parse: the
//! worst case of refilling payload maps in place (docs/performance.md).
//!
//! `cargo run --release -p auditlog-core --example reshaped_payloads`

use std::time::Instant;

use auditlog_core::AuditEvent;

/// A payload `depth` objects deep around a `fill` string, each level with
/// an extra key `x` when `extra`.
fn nested(depth: usize, extra: bool, fill: &str) -> String {
    let mut payload = format!("\"{fill}\"");
    for _ in 0..depth {
        payload = if extra {
            format!(r#"{{"a":{payload},"x":1}}"#)
        } else {
            format!(r#"{{"a":{payload}}}"#)
        };
    }
    format!(r#"{{"eventdata":{{"requestpayload":{payload}}}}}"#)
}

fn main() {
    let fill = "y".repeat(4 << 20);
    let (with, without) = (nested(120, true, &fill), nested(120, false, &fill));
    let rounds = 5;
    let started = Instant::now();
    for _ in 0..rounds {
        AuditEvent::parse(&without).expect("valid");
    }
    let fresh = started.elapsed() / rounds;
    let mut event = AuditEvent::default();
    let mut reshaped = std::time::Duration::ZERO;
    for _ in 0..rounds {
        event.parse_into(&with).expect("valid");
        let started = Instant::now();
        event.parse_into(&without).expect("valid");
        reshaped += started.elapsed();
    }
    let reshaped = reshaped / rounds;
    println!("fresh parse {fresh:?}, read into the reshaped line's event {reshaped:?}");
}
