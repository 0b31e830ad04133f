//! What tools do on a database named by URL: record, page, count, export,
//! prune, each dispatched to the backend the [`AnyPool`] holds.

use std::io::Write;

use auditlog_core::AuditEvent;
use auditlog_seal::{ChainKey, Keyring};

use crate::connect::AnyPool;
use crate::error::Result;
use crate::export::{ExportError, Format};
use crate::prune::{Pruned, Undelivered};
use crate::query::{Counts, Page, Query};
use crate::recorder::{AuditRecorder, Recorded};

/// Runs `$body` with `$pool` bound to the concrete pool.
macro_rules! on_pool {
    ($any:expr, $pool:ident => $body:expr) => {
        match $any {
            #[cfg(feature = "sqlite")]
            AnyPool::Sqlite($pool) => $body,
            #[cfg(feature = "postgres")]
            AnyPool::Postgres($pool) => $body,
        }
    };
}

impl AnyPool {
    /// Records `event` with `recorder` in a transaction of its own, committed.
    pub async fn record(&self, recorder: &AuditRecorder, event: AuditEvent) -> Result<Recorded> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let recorded = recorder.record(&mut tx, event).await?;
            tx.commit().await?;
            Ok(recorded)
        })
    }

    /// A page of `query` ([`page`](crate::page())).
    pub async fn page(&self, query: &Query, cursor: Option<&str>) -> Result<Page> {
        on_pool!(self, pool => crate::query::page(pool, query, cursor).await)
    }

    /// Counts per severity and status ([`counts`](crate::counts())).
    pub async fn counts(&self, query: &Query) -> Result<Counts> {
        on_pool!(self, pool => crate::query::counts(pool, query).await)
    }

    /// Exports the rows of `query` ([`export`](crate::export())).
    pub async fn export(
        &self,
        query: &Query,
        format: Format,
        out: &mut (dyn Write + Send),
    ) -> Result<u64, ExportError> {
        on_pool!(self, pool => crate::export::export(pool, query, format, out).await)
    }

    /// Prunes events before `before` ([`prune`](crate::prune())).
    pub async fn prune(
        &self,
        before: &str,
        undelivered: Undelivered,
        key: &ChainKey,
        keys: &Keyring,
    ) -> Result<Pruned> {
        on_pool!(self, pool => crate::prune::prune(pool, before, undelivered, key, keys).await)
    }
}
