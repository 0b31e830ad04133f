//! What went wrong, naming the table, the URL part or the check at fault.

use std::error::Error as StdError;
use std::fmt;

/// A database error or a refusal, with the cause kept as its
/// [`source`](StdError::source) (no sqlx types in the API).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The URL is neither `sqlite://PATH` nor `postgres://...`, or the
    /// backend it names is not compiled in.
    BadUrl {
        /// What is wrong with it (the URL itself is not repeated: it may hold
        /// a password).
        reason: String,
    },
    /// A table the crate needs is not there: the migrations have not run.
    MissingTable {
        /// The table, e.g. `audit_events`.
        table: &'static str,
    },
    /// The event cannot be recorded as it is (e.g. a chain id with spaces).
    BadEvent {
        /// What is wrong with it.
        reason: String,
    },
    /// A query, cursor or retention cut that cannot be run as given (e.g. a
    /// cursor altered or taken from another query).
    BadQuery {
        /// What is wrong with it.
        reason: String,
    },
    /// The table contradicts itself (e.g. a stream's counter row names a
    /// head but no length): edited by hand, or not written by this crate.
    Inconsistent {
        /// What contradicts what.
        reason: String,
    },
    /// The database refused or failed; see the source.
    Database(Box<dyn StdError + Send + Sync>),
    /// Applying the migrations failed; see the source.
    Migrate(Box<dyn StdError + Send + Sync>),
    /// Another relay holds the relay lock of this SQLite database (one relay
    /// per SQLite file; PostgreSQL allows several).
    AnotherRelay {
        /// The lock file.
        lock: String,
    },
    /// A relay batch was not acknowledged in full: the rows that were are
    /// marked delivered, the others stay undelivered for the next round.
    NotDelivered {
        /// Rows acknowledged and marked delivered.
        delivered: usize,
        /// Rows not acknowledged.
        failed: usize,
        /// Why the first of them failed.
        reason: String,
    },
}

/// This crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadUrl { reason } => write!(f, "bad database URL: {reason}"),
            Error::MissingTable { table } => write!(
                f,
                "table {table} does not exist: run the audit migrations first (auditlog_sql::migrate, or `auditlog migrate --db URL`)"
            ),
            Error::BadEvent { reason } => write!(f, "cannot record the event: {reason}"),
            Error::BadQuery { reason } => write!(f, "{reason}"),
            Error::Inconsistent { reason } => write!(f, "audit table inconsistent: {reason}"),
            Error::Database(cause) => write!(f, "database: {cause}"),
            Error::Migrate(cause) => write!(f, "audit migrations: {cause}"),
            Error::AnotherRelay { lock } => write!(
                f,
                "another relay holds {lock}: one relay per SQLite database at a time"
            ),
            Error::NotDelivered {
                delivered,
                failed,
                reason,
            } => write!(
                f,
                "{failed} rows not delivered to Kafka ({delivered} delivered), left for the next round: {reason}"
            ),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Database(cause) | Error::Migrate(cause) => Some(&**cause),
            _ => None,
        }
    }
}

/// The tables whose absence is reported as [`Error::MissingTable`].
const TABLES: [&str; 2] = ["audit_events", "audit_streams"];

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        if let Some(database) = error.as_database_error() {
            // SQLite: "no such table: audit_events"; PostgreSQL: SQLSTATE
            // 42P01, "relation \"audit_events\" does not exist".
            let message = database.message();
            let undefined =
                database.code().as_deref() == Some("42P01") || message.starts_with("no such table");
            if undefined {
                if let Some(table) = TABLES.into_iter().find(|t| message.contains(t)) {
                    return Error::MissingTable { table };
                }
            }
            // The event's own `id` taken already: the event is at fault, not
            // the database (a caller or `auditlog record` goes on with the
            // next one). SQLite names the column, PostgreSQL the constraint.
            let duplicate_id = database.is_unique_violation()
                && (database.constraint() == Some("audit_events_event_id_key")
                    || message.contains("audit_events.event_id"));
            if duplicate_id {
                return Error::BadEvent {
                    reason: "id: already recorded (an event id names one event)".into(),
                };
            }
        }
        Error::Database(Box::new(error))
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        Error::Migrate(Box::new(error))
    }
}
