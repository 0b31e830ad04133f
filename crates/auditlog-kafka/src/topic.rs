//! Asking the brokers whether a topic is there, before producing to it.

use std::time::Duration;

use rdkafka::client::{Client, ClientContext};

use crate::error::{ClientError, Error, Result};

/// An error when no broker answers within `timeout` (naming `brokers`, and
/// `detail` when the client has said more) or the topic does not exist.
pub(crate) fn check_topic<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
    timeout: Duration,
    brokers: &str,
    detail: impl FnOnce() -> Option<String>,
) -> Result<()> {
    let metadata = client
        .fetch_metadata(Some(topic), timeout)
        .map_err(|e| Error::Unreachable {
            brokers: brokers.to_owned(),
            detail: detail(),
            source: ClientError::new(e),
        })?;
    let known = metadata
        .topics()
        .iter()
        .any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty());
    if known {
        Ok(())
    } else {
        Err(Error::UnknownTopic {
            topic: topic.to_owned(),
        })
    }
}
