//! `auditlog`: canonicalize, seal and verify audit events read as JSON lines.
//!
//! Operators' subcommands always; `publish` and `tail` with the `kafka`
//! feature; `demo` with the `demo` feature, on by default for `cargo run`
//! and left out of the binary you ship (see the library target's docs).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod canonical;
#[cfg(feature = "demo")]
mod demo;
mod key;
mod lines;
#[cfg(feature = "kafka")]
mod publish;
mod query;
mod seal;
#[cfg(feature = "sql")]
mod sql;
#[cfg(feature = "kafka")]
mod tail;
mod verify;

/// mimalloc instead of glibc's malloc, for this binary only (the libraries
/// leave the choice to their users): events are parsed on one thread and
/// freed on another, which glibc serves slowly (docs/performance.md).
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
    /// Print the events of JSON-lines files (or stdin) that match every filter given.
    Query(query::Args),
    /// Serve an audited order service, publish its events to Kafka, read them back and verify them.
    #[cfg(feature = "demo")]
    Demo(demo::Args),
    /// Seal events (JSON lines on stdin), publish them to Kafka and wait for delivery; exit 1 if any was not delivered.
    #[cfg(feature = "kafka")]
    Publish(publish::Args),
    /// Read events from a Kafka topic, verify each and print it; exit 1 if any failed.
    #[cfg(feature = "kafka")]
    Tail(tail::Args),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Canonical(args) => canonical::run(args),
        Command::Seal(args) => seal::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Query(args) => query::run(args),
        #[cfg(feature = "demo")]
        Command::Demo(args) => demo::run(args),
        #[cfg(feature = "kafka")]
        Command::Publish(args) => publish::run(args),
        #[cfg(feature = "kafka")]
        Command::Tail(args) => tail::run(args),
    }
}
