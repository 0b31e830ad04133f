//! A borrowed event refused for want of room, in a chain: it takes no
//! number (so the chain has no gap), and the next line read into the same
//! event is published with nothing of the refused one in it.

use std::time::Duration;

use auditlog_core::AuditEvent;
use auditlog_kafka::{AuditSink, ChainConfig, Overflow, SinkError};
use auditlog_seal::{ChainKey, Keyring, SigningKey, StreamVerifier};

use crate::{publisher, Cluster, PATIENCE};

/// The lines published, in order; the third and fourth find no room.
const LINES: [&str; 6] = [
    r#"{"id":"one","tenantid":"t","eventdata":{"requestpayload":{"a":1,"b":[1,2]}}}"#,
    r#"{"id":"two","tenantid":"t","action":{"name":"x"}}"#,
    r#"{"id":"refused-1","tenantid":"t","subject":{"userid":"u"},"eventdata":{"requestpayload":{"a":2,"c":3}}}"#,
    r#"{"id":"refused-2","tenantid":"u","network":{"sourceip":"10.0.0.9"}}"#,
    r#"{"id":"three","eventdata":{"requestpayload":{"a":3}}}"#,
    r#"{"id":"four"}"#,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_borrowed_event_takes_no_number_and_leaves_nothing_behind() {
    let cluster = Cluster::start();
    let Some(mock) = cluster.mock("borrowed refused") else {
        return;
    };
    let topic = cluster.topic(1);
    let key = ChainKey::hmac("refused-1", SigningKey::new("chain-secret").unwrap()).unwrap();
    let chain = ChainConfig::new(key.clone())
        .id("chain-refused")
        .checkpoint_every(None)
        .checkpoint_interval(None);
    let publisher = publisher(
        cluster
            .config(&topic)
            .capacity(2)
            .overflow(Overflow::DropNewest)
            .chain(chain),
    );
    publisher.check(Duration::from_secs(10)).unwrap();
    mock.broker_down(1).unwrap();

    let mut event = AuditEvent::default();
    let mut results = Vec::new();
    for (n, line) in LINES.iter().enumerate() {
        if n == 4 {
            // Room again: the two queued events are delivered.
            mock.broker_up(1).unwrap();
            publisher.flush(PATIENCE).await.unwrap();
        }
        event.parse_into(line).unwrap();
        let result = publisher.publish_borrowed(&mut event).await;
        if result.is_err() {
            // Refused before it took a number in the chain: not sealed.
            assert_eq!(event.security, None, "line {n}");
        }
        results.push(result);
    }
    let full = Err(SinkError::QueueFull);
    assert_eq!(
        results,
        [Ok(()), Ok(()), full.clone(), full, Ok(()), Ok(())]
    );

    let report = publisher.shutdown(PATIENCE);
    // The two refused counted as dropped; the rest delivered.
    assert_eq!((report.delivered, report.dropped), (5, 2), "{report}");
    // Four events and the checkpoint made at shutdown.
    let mut read = cluster.read_back(&topic, None, 5);
    read.sort_by_key(|message| message.offset);
    assert_eq!(read.len(), 5);

    let mut keys = Keyring::new();
    keys.add(key).unwrap();
    let mut verifier = StreamVerifier::new(&keys);
    for (line, message) in (1..).zip(&read) {
        verifier.feed(line, &message.payload);
    }
    let verified = verifier.finish();
    assert!(verified.invalid.is_empty(), "{verified}");
    let chain = &verified.chains["chain-refused"];
    assert_eq!(
        (chain.events, chain.first, chain.last),
        (4, Some(1), Some(4))
    );
    assert!(chain.missing.is_empty() && chain.anchored, "{verified}");

    // Each published event is its line and its seal, nothing more.
    for (message, line) in read.iter().zip([0, 1, 4, 5]) {
        let mut published = AuditEvent::from_json(&message.payload).unwrap();
        assert!(published.security.take().is_some_and(|s| s.seq.is_some()));
        assert_eq!(
            published,
            AuditEvent::from_json(LINES[line]).unwrap(),
            "line {line}"
        );
    }
}
