//! The crate's error type: no rdkafka types in the public API.

use std::fmt;

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Why a publisher or reader could not be set up or reach its topic.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is missing or malformed; names the setting.
    Config { setting: String, message: String },
    /// librdkafka refused to create the client (e.g. an unknown property).
    Client(String),
    /// No broker answered within the timeout.
    Unreachable { brokers: String, reason: String },
    /// The brokers answered but do not have the topic.
    UnknownTopic { topic: String },
}

impl Error {
    pub(crate) fn config(setting: &str, message: impl Into<String>) -> Self {
        Error::Config {
            setting: setting.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config { setting, message } => write!(f, "{setting}: {message}"),
            Error::Client(message) => write!(f, "cannot create the Kafka client: {message}"),
            Error::Unreachable { brokers, reason } => {
                write!(f, "no Kafka broker reachable at {brokers}: {reason}")
            }
            Error::UnknownTopic { topic } => write!(
                f,
                "topic {topic} does not exist on the cluster (create it first)"
            ),
        }
    }
}

impl std::error::Error for Error {}
