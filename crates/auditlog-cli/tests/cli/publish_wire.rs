//! What `auditlog publish` puts on the topic is what `auditlog seal` writes
//! for the same input, byte for byte, with the event's envelope as headers
//! and its tenant as the key; with `--chain`, the chain `seal --chain`
//! makes. Both read each line into the previous line's event: a member
//! left over from the line before would show here.

use std::time::{Duration, Instant};

use auditlog_core::AuditEvent;
use auditlog_kafka::mock::EmbeddedKafka;
use auditlog_kafka::{ReadEvent, StartAt, TopicReader};

use crate::support::{auditlog, succeeded, text};

const TYPICAL: &str = include_str!("../../../../docs/samples/typical-event.json");
const KEY: [(&str, &str); 1] = [("AUDITLOG_SIGNING_KEY", "wire-secret")];

/// Full events between near-empty ones, a member the model drops, and a
/// blank line.
fn input() -> String {
    let typical = AuditEvent::from_json(TYPICAL).unwrap();
    let mut input = String::new();
    for n in 0..30 {
        let line = match n % 3 {
            0 => {
                let mut full = typical.clone();
                full.id = Some(format!("00000000-0000-4000-8000-{n:012}"));
                full.tenantid = Some(format!("tenant-{}", n % 2));
                full.published_json()
            }
            1 => format!(r#"{{"id":"bare-{n}","action":{{"name":"a"}},"unknown":1}}"#),
            _ => format!(r#"{{"tenantid":"t","eventdata":{{"payload":{{"n":{n}}}}}}}"#),
        };
        input.push_str(&line);
        input.push('\n');
    }
    input.push('\n');
    input
}

/// Every message on `topic` (one partition), in order, once `want` came.
fn read_topic(brokers: &str, topic: &str, want: usize) -> Vec<ReadEvent> {
    let reader = TopicReader::new(
        brokers,
        topic,
        &[],
        None,
        StartAt::Beginning,
        Duration::from_secs(10),
    )
    .unwrap();
    let started = Instant::now();
    let mut read = Vec::new();
    while read.len() < want && started.elapsed() < Duration::from_secs(60) {
        if let Some(message) = reader.recv_timeout(Duration::from_millis(200)) {
            read.push(message.unwrap());
        }
    }
    read.sort_by_key(|message| message.offset);
    read
}

/// The value of header `name`, as text.
fn header<'m>(message: &'m ReadEvent, name: &str) -> Option<&'m str> {
    let (_, value) = message.headers.iter().find(|(key, _)| key == name)?;
    Some(std::str::from_utf8(value).unwrap())
}

#[test]
fn publish_sends_the_lines_seal_writes_with_the_envelope_as_headers() {
    let cluster = EmbeddedKafka::start(1).unwrap();
    cluster.create_topic("wire", 1).unwrap();
    let brokers = cluster.bootstrap_servers();
    let input = input();
    let sealed = succeeded(&auditlog(&["seal"], &KEY, &input));
    let output = auditlog(
        &["publish", "--brokers", brokers, "--topic", "wire"],
        &KEY,
        &input,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("30 accepted, 30 delivered, 0 failed (0 bad lines)"));

    let read = read_topic(brokers, "wire", 30);
    let sealed: Vec<&str> = sealed.lines().collect();
    let payloads: Vec<&str> = read.iter().map(|m| m.payload.as_str()).collect();
    assert_eq!(payloads, sealed);
    for message in &read {
        let event = AuditEvent::from_json(&message.payload).unwrap();
        assert_eq!(
            message.key.as_deref(),
            event.tenantid.as_deref().map(str::as_bytes)
        );
        assert_eq!(header(message, "content-type"), Some("application/json"));
        assert_eq!(header(message, "ce_id"), event.id.as_deref());
        assert_eq!(
            header(message, "ce_specversion"),
            event.specversion.as_deref()
        );
        assert_eq!(header(message, "ce_time"), event.timestamp.as_deref());
        assert_eq!(header(message, "ce_tenantid"), event.tenantid.as_deref());
        let present = [
            &event.id,
            &event.specversion,
            &event.timestamp,
            &event.tenantid,
        ];
        let expected = 1 + present.iter().filter(|value| value.is_some()).count();
        assert_eq!(message.headers.len(), expected);
    }
    // The typical event has them all.
    assert_eq!(read[0].headers.len(), 5);
}

#[test]
fn publish_chain_sends_the_chain_seal_chain_writes() {
    let cluster = EmbeddedKafka::start(1).unwrap();
    cluster.create_topic("wire-chain", 1).unwrap();
    let brokers = cluster.bootstrap_servers();
    let input = input();
    let chain = ["--chain", "wire-chain-1", "--checkpoint-every", "8"];
    let sealed = succeeded(&auditlog(&[&["seal"][..], &chain].concat(), &KEY, &input));
    let publish = [
        &["publish", "--brokers", brokers, "--topic", "wire-chain"][..],
        &chain,
    ]
    .concat();
    let output = auditlog(&publish, &KEY, &input);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));

    // 30 events, 3 checkpoints by count and the last one at the end.
    let sealed: Vec<&str> = sealed.lines().collect();
    assert_eq!(sealed.len(), 34);
    let read = read_topic(brokers, "wire-chain", sealed.len());
    assert_eq!(read.len(), sealed.len());
    let checkpoint = auditlog_seal::chain::CHECKPOINT_ACTION;
    for (message, line) in read.iter().zip(&sealed) {
        assert_eq!(message.key.as_deref(), Some(&b"wire-chain-1"[..]));
        // A checkpoint carries the time it was made: in the same place.
        if line.contains(checkpoint) {
            assert!(message.payload.contains(checkpoint), "{}", message.payload);
        } else {
            assert_eq!(&message.payload, line);
        }
    }
}
