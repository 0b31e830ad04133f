//! Why a conformance run could not judge anything: the suite or its input is
//! broken, as opposed to a check that failed (see [`Verdict`](crate::Verdict)).

use std::fmt;
use std::io;
use std::path::PathBuf;

use auditlog_seal::KeyError;

/// A run that could not take place, with its cause.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The arguments of [`run`](crate::run) were not understood.
    Usage {
        /// What was wrong with them.
        message: String,
    },
    /// A file of captured events could not be read.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// A file or directory of captured events held no event: an empty
    /// capture proves nothing, so it is not a pass.
    NoEvents {
        /// The file or directory.
        path: PathBuf,
    },
    /// The signing key could not be read from its environment variable.
    Key {
        /// Why.
        source: KeyError,
    },
    /// The embedded suite is broken (a bug in this crate, caught by its
    /// tests): the schema does not compile, or fixtures are missing.
    Suite {
        /// What is broken.
        message: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage { message } => f.write_str(message),
            Error::Io { path, .. } => write!(f, "{}: cannot read it", path.display()),
            Error::NoEvents { path } => write!(f, "{}: no events", path.display()),
            Error::Key { .. } => f.write_str("cannot read the signing key"),
            Error::Suite { message } => write!(f, "the embedded suite is broken: {message}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Key { source } => Some(source),
            _ => None,
        }
    }
}

impl Error {
    /// The message with its causes, `: `-separated, as printed by
    /// [`run`](crate::run).
    pub fn with_causes(&self) -> String {
        let mut message = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(error) = cause {
            message.push_str(": ");
            message.push_str(&error.to_string());
            cause = error.source();
        }
        message
    }
}
