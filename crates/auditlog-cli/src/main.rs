//! `auditlog`: canonicalize, seal and verify audit events read as JSON lines.
//!
//! Operators' subcommands always; `publish` and `tail` with the `kafka`
//! feature; `demo` with the `demo` feature, on by default for `cargo run`
//! and left out of the binary you ship (see the library target's docs).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod canonical;
#[cfg(feature = "sql")]
mod db;
#[cfg(feature = "sql")]
mod db_query;
#[cfg(feature = "demo")]
mod demo;
#[cfg(feature = "sql")]
mod export;
mod filters;
mod key;
mod lines;
#[cfg(feature = "sql")]
mod migrate;
#[cfg(feature = "sql")]
mod prune;
#[cfg(feature = "kafka")]
mod publish;
#[cfg(feature = "kafka")]
mod publish_input;
mod query;
#[cfg(feature = "sql")]
mod record;
#[cfg(all(feature = "kafka", feature = "sql"))]
mod relay;
mod seal;
#[cfg(feature = "sql")]
mod sql;
#[cfg(feature = "kafka")]
mod tail;
mod verify;

/// mimalloc instead of glibc's malloc, for this binary only (the libraries
/// leave the choice to their users): events are parsed on one thread and
/// freed on another, which glibc serves slowly (docs/performance.md). With
/// the `override` feature it serves C's `malloc` too: librdkafka's messages,
/// allocated by the publishing thread and freed by its own, made glibc trim
/// and grow its heap, 3,000-24,000 page faults per 100,000 events. `no_thp`:
/// without it mimalloc's transparent huge pages raised `publish`'s peak RSS
/// by a fifth.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Audit events as JSON lines on stdin, results on stdout, problems on stderr
/// (each naming its line and field).
#[derive(Debug, Parser)]
#[command(name = "auditlog", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print each event's canonical text: what is hashed (`security` excluded).
    Canonical(canonical::Args),
    /// Seal each event (hash, and signature when a key is set) and print its published JSON.
    Seal(seal::Args),
    /// Check each event's hash (and signature when a key is set); exit 1 if any fails.
    Verify(verify::Args),
    /// Print the events of JSON-lines files (or stdin), or of a database's audit table (--db), that match every filter given.
    Query(query::Args),
    /// Seal events (JSON lines on stdin) into a chain and record them in a database's audit table; exit 1 if any line failed.
    #[cfg(feature = "sql")]
    Record(record::Args),
    /// Write the events of a database's audit table that match, as JSON lines or CSV.
    #[cfg(feature = "sql")]
    Export(export::Args),
    /// Delete a database's events older than a time, keeping the rest verifiable; print how many.
    #[cfg(feature = "sql")]
    Prune(prune::Args),
    /// Create or update the audit tables of a database.
    #[cfg(feature = "sql")]
    Migrate(migrate::Args),
    /// Serve an audited order service, publish its events to Kafka, read them back and verify them.
    #[cfg(feature = "demo")]
    Demo(demo::Args),
    /// Seal events (JSON lines on stdin), publish them to Kafka and wait for delivery; exit 1 if any was not delivered.
    #[cfg(feature = "kafka")]
    Publish(publish::Args),
    /// Read events from a Kafka topic, verify each and print it; exit 1 if any failed.
    #[cfg(feature = "kafka")]
    Tail(tail::Args),
    /// Publish the rows recorded in an audit table to Kafka, byte for byte, and mark each delivered once acknowledged.
    #[cfg(all(feature = "kafka", feature = "sql"))]
    Relay(relay::Args),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Canonical(args) => canonical::run(args),
        Command::Seal(args) => seal::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Query(args) => query::run(args),
        #[cfg(feature = "sql")]
        Command::Record(args) => record::run(args),
        #[cfg(feature = "sql")]
        Command::Export(args) => export::run(args),
        #[cfg(feature = "sql")]
        Command::Prune(args) => prune::run(args),
        #[cfg(feature = "sql")]
        Command::Migrate(args) => migrate::run(args),
        #[cfg(feature = "demo")]
        Command::Demo(args) => demo::run(args),
        #[cfg(feature = "kafka")]
        Command::Publish(args) => publish::run(args),
        #[cfg(feature = "kafka")]
        Command::Tail(args) => tail::run(args),
        #[cfg(all(feature = "kafka", feature = "sql"))]
        Command::Relay(args) => relay::run(args),
    }
}
