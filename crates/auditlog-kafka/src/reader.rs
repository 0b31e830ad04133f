//! Reading a topic back and verifying each event.

use std::fmt;
use std::time::Duration;

use auditlog_seal::{SigningKey, Strictness, Verified, VerifyJsonError};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::error::{ClientError, Error, Result};

/// Reads every partition of a topic (no consumer group, nothing committed)
/// and verifies each event with the key, if any.
pub struct TopicReader {
    consumer: BaseConsumer,
    key: Option<SigningKey>,
    strictness: Strictness,
}

/// Where a [`TopicReader`] starts in each partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// The oldest event still on the topic.
    Beginning,
    /// Only events published from now on: each partition starts at its high
    /// watermark as read when the reader is made, so nothing published after
    /// `new` returns is missed (librdkafka's `Offset::End` would resolve
    /// later, at the first fetch).
    End,
}

/// One message read from the topic, verified.
///
/// Only the payload is sealed: the message key and the headers are not
/// covered by the hash, the signature or a chain link, so anyone who can
/// write to the topic can set them. The reader checks that the `ce_id`
/// header, when present, names the payload's event; trust nothing else in
/// them.
#[derive(Debug)]
pub struct ReadEvent {
    /// The partition it was read from.
    pub partition: i32,
    /// Its offset in that partition.
    pub offset: i64,
    /// Not covered by the seal.
    pub key: Option<Vec<u8>>,
    /// Header names and values, in order. Not covered by the seal.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The message as it was on the topic; a payload that is not UTF-8 is
    /// shown here lossily, for a report only, and never verifies.
    pub payload: String,
    /// The verified event, or why the payload is not one.
    pub verified: std::result::Result<Verified, Unverified>,
}

/// Why a message read from the topic is not a verified event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Unverified {
    /// The payload is not UTF-8; decoding it lossily would let two
    /// different messages read as one (`\u{fffd}` malleability).
    NotUtf8 {
        /// Bytes of valid UTF-8 before the first invalid one.
        valid_up_to: usize,
    },
    /// The payload did not verify.
    Event(VerifyJsonError),
    /// The `ce_id` header names another event than the payload.
    IdMismatch,
}

impl fmt::Display for Unverified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unverified::NotUtf8 { valid_up_to } => {
                write!(f, "payload is not valid UTF-8 (byte {})", valid_up_to + 1)
            }
            Unverified::Event(e) => e.fmt(f),
            Unverified::IdMismatch => {
                f.write_str("the ce_id header names another event than the payload")
            }
        }
    }
}

impl std::error::Error for Unverified {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Unverified::Event(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Debug for TopicReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TopicReader")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl TopicReader {
    /// Connects to `brokers` and assigns every partition of `topic`;
    /// `properties` are librdkafka consumer properties. Fails with a clear
    /// error when no broker answers within `timeout` or the topic is unknown.
    pub fn new(
        brokers: &str,
        topic: &str,
        properties: &[(String, String)],
        key: Option<SigningKey>,
        start: StartAt,
        timeout: Duration,
    ) -> Result<Self> {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", brokers)
            .set(
                "group.id",
                format!("auditlog-reader-{}", uuid::Uuid::new_v4()),
            )
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "100");
        for (k, v) in properties {
            config.set(k, v);
        }
        let consumer: BaseConsumer = config.create().map_err(Error::client)?;
        let metadata =
            consumer
                .fetch_metadata(Some(topic), timeout)
                .map_err(|e| Error::Unreachable {
                    brokers: brokers.to_owned(),
                    detail: None,
                    source: ClientError::new(e),
                })?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.name() == topic && t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        if partitions.is_empty() {
            return Err(Error::UnknownTopic {
                topic: topic.to_owned(),
            });
        }
        let mut assignment = TopicPartitionList::new();
        for partition in partitions {
            let offset = match start {
                StartAt::Beginning => Offset::Beginning,
                StartAt::End => {
                    let (_, high) = consumer
                        .fetch_watermarks(topic, partition, timeout)
                        .map_err(|e| Error::Unreachable {
                            brokers: brokers.to_owned(),
                            detail: None,
                            source: ClientError::new(e),
                        })?;
                    Offset::Offset(high)
                }
            };
            assignment
                .add_partition_offset(topic, partition, offset)
                .map_err(Error::client)?;
        }
        consumer.assign(&assignment).map_err(Error::client)?;
        Ok(TopicReader {
            consumer,
            key,
            strictness: Strictness::Strict,
        })
    }

    /// How closely each payload must match its published form (strict by
    /// default: see [`Strictness`]).
    #[must_use]
    pub fn strictness(mut self, strictness: Strictness) -> Self {
        self.strictness = strictness;
        self
    }

    /// The next event, waiting up to `timeout`; `None` when none came
    /// (named like `Subscription::recv_timeout` of `auditlog-store`). A
    /// consumer error is `Some(Err(Error::Consume(..)))`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Result<ReadEvent>> {
        let message = match self.consumer.poll(timeout)? {
            Ok(message) => message,
            Err(e) => return Some(Err(Error::Consume(ClientError::new(e)))),
        };
        let raw = message.payload().unwrap_or_default();
        let headers: Vec<(String, Vec<u8>)> = message
            .headers()
            .map(|headers| {
                use rdkafka::message::Headers;
                headers
                    .iter()
                    .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                    .collect()
            })
            .unwrap_or_default();
        let (payload, verified) = match std::str::from_utf8(raw) {
            Ok(text) => (text.to_owned(), self.verify(text, &headers)),
            Err(e) => (
                String::from_utf8_lossy(raw).into_owned(),
                Err(Unverified::NotUtf8 {
                    valid_up_to: e.valid_up_to(),
                }),
            ),
        };
        Some(Ok(ReadEvent {
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            headers,
            payload,
            verified,
        }))
    }

    fn verify(
        &self,
        text: &str,
        headers: &[(String, Vec<u8>)],
    ) -> std::result::Result<Verified, Unverified> {
        let verified = auditlog_seal::verify_json_as(text, self.key.as_ref(), self.strictness)
            .map_err(Unverified::Event)?;
        let id = verified.event.id.as_deref().unwrap_or("").as_bytes();
        if headers
            .iter()
            .any(|(name, value)| name == "ce_id" && value.as_slice() != id)
        {
            return Err(Unverified::IdMismatch);
        }
        Ok(verified)
    }
}
