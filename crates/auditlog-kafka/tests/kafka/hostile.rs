//! A hostile topic writer: what `TopicReader` makes of messages that were
//! not written by a publisher.

use std::time::Duration;

use auditlog_kafka::Unverified;
use auditlog_seal::{seal_to_json, SigningKey, VerifyJsonError};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

use crate::{event, Cluster};

#[test]
fn forged_headers_lossy_bytes_and_respelled_lines_do_not_verify() {
    let cluster = Cluster::start();
    let topic = cluster.topic(1);
    let key = SigningKey::new("k").unwrap();
    let mut sealed = event("acme", 1);
    let line = seal_to_json(&mut sealed, Some(&key));
    let id = sealed.id.clone().unwrap();

    // A byte that is not UTF-8 inside a string: lossily decoded it would
    // read as U+FFFD, and two different messages as one.
    let mut not_utf8 = line.clone().into_bytes();
    let at = line.find("acme").unwrap();
    not_utf8.insert(at, 0xff);
    let respelled = line.replacen(r#""tenantid":"#, r#""tenantid" :"#, 1);
    let messages: [(&[u8], &str); 4] = [
        (line.as_bytes(), id.as_str()),
        (line.as_bytes(), "another-event"),
        (&not_utf8, id.as_str()),
        (respelled.as_bytes(), id.as_str()),
    ];

    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", cluster.brokers())
        .create()
        .unwrap();
    for (payload, ce_id) in messages {
        let headers = OwnedHeaders::new().insert(Header {
            key: "ce_id",
            value: Some(ce_id),
        });
        producer
            .send(
                BaseRecord::<(), [u8]>::to(&topic)
                    .payload(payload)
                    .headers(headers),
            )
            .map_err(|(e, _)| e)
            .unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();

    let read = cluster.read_back(&topic, Some(&key), 4);
    let verdicts: Vec<_> = read
        .iter()
        .map(|e| e.verified.as_ref().map(|v| v.event.id.clone()))
        .collect();
    assert_eq!(verdicts.len(), 4, "{verdicts:?}");
    assert_eq!(verdicts[0], Ok(Some(id.clone())));
    assert_eq!(verdicts[1], Err(&Unverified::IdMismatch));
    assert_eq!(verdicts[2], Err(&Unverified::NotUtf8 { valid_up_to: at }));
    assert!(
        matches!(
            verdicts[3],
            Err(Unverified::Event(VerifyJsonError::NotPublishedForm { .. }))
        ),
        "{verdicts:?}"
    );
}
