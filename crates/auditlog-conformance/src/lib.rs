//! The auditlog conformance suite as a library: what `cargo xtask
//! conformance` runs, for any service's own xtask.
//!
//! Depend on this crate from your service's `xtask` (a dev tool, not the
//! service): it checks that the auditlog build you link reads, canonicalizes,
//! hashes and signs events exactly as the reference does, and that the events
//! your service emitted under its tests are what consumers can trust. It
//! needs no file of this repository: the fixtures and the JSON Schema are
//! compiled in.
//!
//! - **Fixtures** ([`Suite::fixtures`]): the wire-format test vectors (valid
//!   events with their canonical text, hash and signature as the Python
//!   reference computes them; invalid ones with the exact error), through
//!   core, seal and the [schema](SCHEMA).
//! - **Captured events** ([`Suite::events`]): JSON lines your tests
//!   captured, each against the schema, in its strict published form (no
//!   member a hash does not cover), its hash and, with the key in the
//!   environment, its signature.
//! - **Routes** ([`Route`]): what your service promises of each route —
//!   events named by route template, tenant and user on successful writes —
//!   and that the capture exercised every one.
//!
//! # Example
//!
//! A service's `xtask/src/main.rs`, run as `cargo xtask conformance` after
//! its tests wrote their events to `target/audit-capture/`:
//!
//! ```no_run
//! use auditlog_conformance::{Route, Suite};
//!
//! fn main() -> std::process::ExitCode {
//!     Suite::new()
//!         .fixtures()
//!         .events("target/audit-capture")
//!         .routes([
//!             Route::new("POST", "/orders").tenant_id().user_id(),
//!             Route::new("GET", "/orders/{id}").resource_id(),
//!         ])
//!         .main()
//! }
//! ```
//!
//! Or the command line of this repository's `cargo xtask conformance`,
//! flags and all: [`run`].
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | (none) | | the crate has no optional parts |

mod cli;
mod diff;
mod error;
mod events;
mod fixtures;
mod routes;
mod schema;
mod suite;
mod verdict;

pub use cli::{run, USAGE};
pub use error::Error;
pub use routes::Route;
pub use schema::SCHEMA;
pub use suite::{Suite, DEFAULT_KEY_ENV};
pub use verdict::Verdict;
