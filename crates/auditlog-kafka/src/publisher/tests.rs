//! The lock policy, through a path only a test can take: a panic while a
//! publisher lock is held.

use std::time::Duration;

use auditlog_seal::{ChainKey, SigningKey};

use auditlog_core::AuditEvent;
use auditlog_sink::SinkError;

use super::KafkaPublisher;
use crate::config::{ChainConfig, KafkaConfig};

fn chained() -> KafkaPublisher {
    let key = ChainKey::hmac("k1", SigningKey::new("chain-secret").unwrap()).unwrap();
    KafkaPublisher::new(
        KafkaConfig::new("127.0.0.1:1")
            .chain(ChainConfig::new(key).checkpoint_interval(None))
            .drop_flush_timeout(Duration::from_millis(10)),
    )
    .unwrap()
}

#[test]
fn a_panic_under_the_order_lock_does_not_fail_later_publishes() {
    let publisher = chained();
    let pipeline = publisher.pipeline.clone();
    let panicked = std::thread::spawn(move || {
        let _order = pipeline.order.lock();
        panic!("a bug while sealing");
    })
    .join();
    assert!(panicked.is_err());
    assert!(publisher.pipeline.order.is_poisoned());
    // Everything that takes the lock still works.
    assert!(publisher.chain_id().is_some());
    let event = AuditEvent::builder().tenant_id("t").build();
    assert_eq!(publisher.try_publish(event), Ok(()));
    let key = ChainKey::hmac("k2", SigningKey::new("next-secret").unwrap()).unwrap();
    assert!(publisher.rotate_chain_key(key));
    assert_eq!(publisher.stats().accepted, 1);
}

#[test]
fn a_panic_under_the_warning_limiter_does_not_fail_later_drops() {
    let publisher = KafkaPublisher::new(
        KafkaConfig::new("127.0.0.1:1")
            .capacity(1)
            .drop_flush_timeout(Duration::from_millis(10)),
    )
    .unwrap();
    let pipeline = publisher.pipeline.clone();
    let _ = std::thread::spawn(move || {
        let _limit = pipeline.ledger.counters.warnings.lock();
        panic!("a bug while warning");
    })
    .join();
    let event = || AuditEvent::builder().tenant_id("t").build();
    assert_eq!(publisher.try_publish(event()), Ok(()));
    assert_eq!(publisher.try_publish(event()), Err(SinkError::QueueFull));
    assert_eq!(publisher.stats().dropped_queue_full, 1);
}
