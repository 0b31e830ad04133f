//! The `auditlog` command: canonicalize, seal, verify and query audit events
//! read as JSON lines; publish them to Kafka and tail them back, verified.
//!
//! This library target holds no API: it only keeps the README's examples
//! compiling, as doc tests. The command is the `auditlog` binary.
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `kafka` | yes | `auditlog publish` and `auditlog tail` (links librdkafka, built from source); with `sql`, `auditlog relay` |
//! | `sql` | yes | `auditlog record`, `export`, `prune`, `migrate`, and `query`/`verify --chain` with `--db URL`: audit tables in SQLite or PostgreSQL; with `kafka`, `auditlog relay` |
//! | `demo` | yes | `auditlog demo`: an audited order service publishing to an embedded Kafka (axum, hyper, tower-http) |
//!
//! # Where the demo lives
//!
//! The shipped binary carries what operators run. The demo is a subcommand
//! behind the `demo` feature rather than an examples crate: it is on by
//! default so that the README's first command, `cargo run -p auditlog-cli
//! -- demo`, works from a checkout, and it reuses the command's key
//! handling and output. Build the binary you ship without it, which also
//! leaves axum, hyper and tower-http out:
//!
//! ```sh
//! cargo install --path crates/auditlog-cli --no-default-features --features kafka
//! ```

#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
