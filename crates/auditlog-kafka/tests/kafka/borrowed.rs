//! `publish_borrowed` (the publisher's own and `AuditSink`'s), which seals
//! an event the caller keeps and reads the next line into, puts on the
//! topic exactly what `publish` (the event taken by value, a fresh one per
//! line) does: payload, key and headers, byte for byte, alone and in a
//! chain.

use auditlog_core::AuditEvent;
use auditlog_kafka::{AuditSink, ChainConfig, KafkaConfig, ReadEvent};
use auditlog_seal::chain::CHECKPOINT_ACTION;
use auditlog_seal::{ChainKey, SigningKey};

use crate::{event, publisher, Cluster, PATIENCE};

const TYPICAL: &str = include_str!("../../../../docs/samples/typical-event.json");

/// Lines of different shapes, a full event next to near-empty ones, so a
/// member left over from the line before would show.
fn lines() -> Vec<String> {
    let typical = AuditEvent::from_json(TYPICAL).unwrap();
    let mut lines = Vec::new();
    for n in 0..40 {
        let line = match n % 4 {
            0 => {
                let mut full = typical.clone();
                full.id = Some(format!("00000000-0000-4000-8000-{n:012}"));
                full.tenantid = Some(format!("tenant-{}", n % 3));
                full.published_json()
            }
            1 => event(&format!("tenant-{}", n % 3), n).published_json(),
            // No tenant, so no message key and no `ce_tenantid` header.
            2 => format!(r#"{{"id":"bare-{n}","action":{{"name":"a"}}}}"#),
            _ => {
                format!(r#"{{"tenantid":"t","eventdata":{{"payload":{{"n":{n},"s":"é\u0001"}}}}}}"#)
            }
        };
        lines.push(line);
    }
    lines
}

/// Publishes `lines` with `config`, one fresh event per line (`owned`) or
/// one event read into again and again; what the topic holds, in order.
async fn published(
    cluster: &Cluster,
    config: KafkaConfig,
    lines: &[String],
    owned: bool,
) -> Vec<ReadEvent> {
    let topic = cluster.topic(1);
    let publisher = publisher(config.topic(&topic));
    let mut reused = AuditEvent::default();
    // Every other line through the trait, as the axum layer's background
    // task calls it: the same inherent method underneath.
    let sink: &dyn AuditSink = &publisher;
    for (n, line) in lines.iter().enumerate() {
        if owned {
            let event = AuditEvent::parse(line).unwrap().event;
            publisher.publish(event).await.unwrap();
        } else {
            reused.parse_into(line).unwrap();
            if n % 2 == 0 {
                publisher.publish_borrowed(&mut reused).await.unwrap();
            } else {
                sink.publish_borrowed(&mut reused).await.unwrap();
            }
            // Left sealed for the caller to see.
            let security = reused.security.as_ref().expect("sealed");
            assert!(security.hash.is_some());
        }
    }
    let report = publisher.shutdown(PATIENCE);
    assert!(report.is_complete(), "{report}");
    let mut read = cluster.read_back(&topic, None, lines.len());
    read.sort_by_key(|message| message.offset);
    read
}

/// What a message is on the topic: payload, key and headers.
type Message<'a> = (&'a str, Option<&'a [u8]>, &'a [(String, Vec<u8>)]);

fn message(read: &ReadEvent) -> Message<'_> {
    (
        read.payload.as_str(),
        read.key.as_deref(),
        read.headers.as_slice(),
    )
}

fn messages(read: &[ReadEvent]) -> Vec<Message<'_>> {
    read.iter().map(message).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_borrowed_event_is_published_as_an_owned_one_is() {
    let cluster = Cluster::start();
    let key = SigningKey::new("borrowed-secret").unwrap();
    let config = || cluster.config("unused").signing_key(Some(key.clone()));
    // Made once: the builder's events have fresh ids and times.
    let lines = lines();
    let owned = published(&cluster, config(), &lines, true).await;
    let borrowed = published(&cluster, config(), &lines, false).await;
    assert_eq!(owned.len(), lines.len());
    assert_eq!(messages(&borrowed), messages(&owned));
    // Headers are there to compare: the envelope of the typical event.
    assert_eq!(owned[0].headers.len(), 5);
    assert_eq!(owned[2].key, None);
    for message in &borrowed {
        auditlog_seal::verify_json(&message.payload, Some(&key)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_borrowed_event_takes_the_same_place_in_a_chain() {
    let cluster = Cluster::start();
    let chain = || {
        let key = ChainKey::hmac("borrowed-1", SigningKey::new("chain-secret").unwrap());
        ChainConfig::new(key.unwrap())
            .id("chain-borrowed")
            .checkpoint_every(Some(16))
            .checkpoint_interval(None)
    };
    let lines = lines();
    let config = || cluster.config("unused").chain(chain());
    let owned = published(&cluster, config(), &lines, true).await;
    let borrowed = published(&cluster, config(), &lines, false).await;
    // 40 events, 2 checkpoints by count and the last one at shutdown.
    assert_eq!(owned.len(), 43);
    assert_eq!(borrowed.len(), owned.len());
    // Every message but the checkpoints (which carry the time they were
    // made) byte for byte; the checkpoints in the same places.
    let is_checkpoint = |m: &ReadEvent| m.payload.contains(CHECKPOINT_ACTION);
    for (owned, borrowed) in owned.iter().zip(&borrowed) {
        assert_eq!(is_checkpoint(owned), is_checkpoint(borrowed));
        if !is_checkpoint(owned) {
            assert_eq!(message(borrowed), message(owned));
        }
    }
    assert_eq!(owned.iter().filter(|m| is_checkpoint(m)).count(), 3);
}
