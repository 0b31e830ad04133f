//! Audit events in the service's own SQL database, recorded in the caller's
//! transaction: the business change and its audit event commit together, or
//! neither does.
//!
//! Depend on this crate to keep the audit trail next to the data it is about
//! (SQLite or PostgreSQL, through sqlx). Each row holds the published line
//! byte for byte, the columns people filter on, and its place in a chain
//! (`seq`, `prev`, `link` under the signing key, checkpoints), so a row
//! deleted, edited or moved by someone with database access is caught by
//! [`verify_table`]. Find rows with [`Query`] and [`page`] (newest first, a
//! keyset cursor) or [`counts`], [`export`] them as JSON lines or CSV, and
//! [`prune`] old ones while the rest stays verifiable. Schema, sequence
//! numbers, retention and guarantees: [`guide`].
//!
//! # Example
//!
//! Update an order and record the change, before and after, in one
//! transaction:
//!
//! ```
//! use auditlog_core::AuditEvent;
//! use auditlog_seal::{ChainKey, Keyring, SigningKey, StreamVerifier};
//! use auditlog_sql::AuditRecorder;
//! use sqlx::Row;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! # let dir = tempfile::tempdir()?;
//! # let url = format!("sqlite://{}?mode=rwc", dir.path().join("shop.db").display());
//! let pool = sqlx::SqlitePool::connect(&url).await?;
//! auditlog_sql::migrate(&pool).await?; // once, when the service decides
//! # sqlx::query("CREATE TABLE orders (id TEXT PRIMARY KEY, status TEXT NOT NULL)").execute(&pool).await?;
//! # sqlx::query("INSERT INTO orders VALUES ('o-7', 'open')").execute(&pool).await?;
//! let key = ChainKey::hmac("2026-12", SigningKey::new("secret").unwrap())?;
//! let recorder = AuditRecorder::new("orders-api", key.clone())?;
//!
//! let mut tx = pool.begin().await?;
//! let before: String = sqlx::query("UPDATE orders SET status = 'shipped' WHERE id = ?1 \
//!                                    RETURNING (SELECT status FROM orders WHERE id = ?1)")
//!     .bind("o-7").fetch_one(&mut *tx).await?.get(0);
//! let mut event = AuditEvent::builder()
//!     .tenant_id("acme")
//!     .user_id("alice")
//!     .action_name("orders.ship")
//!     .resource("order")
//!     .resource_id("o-7")
//!     .build();
//! let data = event.eventdata.get_or_insert_with(Default::default);
//! data.requestpayload.insert("before".into(), before.as_str().into());
//! data.responsepayload.insert("after".into(), "shipped".into());
//! let recorded = recorder.record(&mut tx, event).await?;
//! tx.commit().await?; // the order and its audit event, or neither
//! assert_eq!(recorded.seq, 1);
//!
//! let mut keys = Keyring::new();
//! keys.add(key)?;
//! let report = auditlog_sql::verify_table(&pool, StreamVerifier::new(&keys)).await?;
//! assert!(report.is_clean(), "{report}");
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `sqlite` | yes | [`sqlx::Sqlite`] as a [`Backend`] (bundles libsqlite3) |
//! | `postgres` | yes | [`sqlx::Postgres`] as a [`Backend`] |
//! | `relay` | no | `SqlRelay`: the table's rows to Kafka (links librdkafka, through `auditlog-kafka`) |

mod anchor;
mod any;
mod backend;
mod columns;
mod connect;
mod cursor;
mod error;
mod export;
#[doc = include_str!("../../../docs/sql.md")]
pub mod guide {}
mod prune;
mod query;
mod recorder;
#[cfg(feature = "relay")]
mod relay;
mod sink;
mod verify;

pub use anchor::PRUNE_ACTION;
pub use backend::Backend;
pub use connect::AnyPool;
pub use error::{Error, Result};
pub use export::{csv_cell, export, ExportError, Format, CSV_HEADER};
pub use prune::{prune, Pruned, PrunedStream, Undelivered};
pub use query::{counts, page, AuditRow, Counts, Page, Query, MAX_PAGE};
pub use recorder::{AuditRecorder, Recorded};
#[cfg(feature = "relay")]
pub use relay::{Backlog, Batch, SqlRelay, DEFAULT_BATCH_SIZE};
pub use sink::SqlSink;
pub use verify::{verify_table, RowMismatch, TableReport};

/// Creates or updates the audit tables (`audit_events`, `audit_streams`)
/// and their indexes. Nothing runs them implicitly: the service decides when
/// its schema changes. Safe to call again; sqlx records what it applied in
/// `_sqlx_migrations`.
pub async fn migrate<DB: Backend>(pool: &sqlx::Pool<DB>) -> Result<()> {
    DB::run_migrations(pool).await?;
    Ok(())
}
