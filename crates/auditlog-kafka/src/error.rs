//! The crate's error type. Causes are kept ([`source`](std::error::Error::source)
//! leads to them); rdkafka's own error type stays out of the signatures,
//! behind [`ClientError`].

use std::fmt;
use std::path::PathBuf;

use rdkafka::error::KafkaError;

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Why a publisher, reader or embedded cluster could not be set up, reach
/// its topic or read from it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is missing or malformed; names the setting.
    Config {
        /// The setting (or environment variable) at fault.
        setting: String,
        /// What is wrong with it.
        message: String,
    },
    /// librdkafka refused to create or set up the client (e.g. an unknown
    /// property).
    Client(ClientError),
    /// Reading the topic failed (a consumer error).
    Consume(ClientError),
    /// No broker answered within the timeout.
    Unreachable {
        /// The bootstrap brokers tried.
        brokers: String,
        /// librdkafka's last client error, which often says why.
        detail: Option<String>,
        /// The request that timed out.
        source: ClientError,
    },
    /// The brokers answered but do not have the topic.
    UnknownTopic {
        /// The topic asked for.
        topic: String,
    },
    /// The spool directory could not be opened.
    Spool {
        /// The spool directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A thread the publisher or the embedded cluster needs did not start.
    Spawn {
        /// The thread's name.
        thread: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The embedded cluster's thread is gone (it panicked, or the cluster
    /// is being dropped).
    EmbeddedGone,
}

/// An error of librdkafka, kept whole as the cause of an [`Error`]: its
/// message is shown, and [`source`](std::error::Error::source) on the
/// [`Error`] leads to it (an `rdkafka::error::KafkaError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError(Box<KafkaError>);

impl ClientError {
    pub(crate) fn new(error: KafkaError) -> Self {
        ClientError(Box::new(error))
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Error {
    pub(crate) fn config(setting: &str, message: impl Into<String>) -> Self {
        Error::Config {
            setting: setting.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn client(error: KafkaError) -> Self {
        Error::Client(ClientError::new(error))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config { setting, message } => write!(f, "{setting}: {message}"),
            Error::Client(error) => write!(f, "cannot create the Kafka client: {error}"),
            Error::Consume(error) => write!(f, "consumer error: {error}"),
            Error::Unreachable {
                brokers,
                detail,
                source,
            } => {
                write!(f, "no Kafka broker reachable at {brokers}: {source}")?;
                match detail {
                    Some(detail) => write!(f, " ({detail})"),
                    None => Ok(()),
                }
            }
            Error::UnknownTopic { topic } => write!(
                f,
                "topic {topic} does not exist on the cluster (create it first)"
            ),
            Error::Spool { dir, source } => write!(f, "spool: {}: {source}", dir.display()),
            Error::Spawn { thread, source } => {
                write!(f, "cannot start the {thread} thread: {source}")
            }
            Error::EmbeddedGone => f.write_str("the embedded Kafka thread is gone"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Client(ClientError(error))
            | Error::Consume(ClientError(error))
            | Error::Unreachable {
                source: ClientError(error),
                ..
            } => Some(&**error),
            Error::Spool { source, .. } | Error::Spawn { source, .. } => Some(source),
            Error::Config { .. } | Error::UnknownTopic { .. } | Error::EmbeddedGone => None,
        }
    }
}

/// A setting's text that does not parse (`"wait:abc"` as an
/// [`Overflow`](crate::Overflow), `"sometimes"` as an [`Fsync`](crate::Fsync)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseSettingError {
    expected: &'static str,
    found: String,
}

impl ParseSettingError {
    pub(crate) fn new(expected: &'static str, found: &str) -> Self {
        ParseSettingError {
            expected,
            found: found.to_owned(),
        }
    }
}

impl fmt::Display for ParseSettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}, got {:?}", self.expected, self.found)
    }
}

impl std::error::Error for ParseSettingError {}
