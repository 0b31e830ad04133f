//! The database as an [`AuditSink`]: each event in a transaction of its own,
//! published once committed, so `publish_durable` means "committed".

use std::time::Duration;

use async_trait::async_trait;
use auditlog_core::AuditEvent;
use auditlog_sink::{AuditSink, SinkError};
use sqlx::Pool;

use crate::backend::Backend;
use crate::error::Result;
use crate::recorder::{AuditRecorder, Recorded};

/// Records each event in its own transaction through an [`AuditRecorder`]:
/// an [`AuditSink`] for events that belong to no transaction of the
/// service's (e.g. the axum layer's write-ahead store).
///
/// Both `publish` and `publish_durable` return once the row is committed;
/// `flush` has nothing to wait for.
#[derive(Debug, Clone)]
pub struct SqlSink<DB: Backend> {
    pool: Pool<DB>,
    recorder: AuditRecorder,
}

impl<DB: Backend> SqlSink<DB> {
    /// Records through `recorder` into `pool`'s database.
    pub fn new(pool: Pool<DB>, recorder: AuditRecorder) -> Self {
        SqlSink { pool, recorder }
    }

    /// Records `event` in a transaction of its own and commits it.
    pub async fn record(&self, event: AuditEvent) -> Result<Recorded> {
        let mut tx = self.pool.begin().await?;
        let recorded = self.recorder.record(&mut tx, event).await?;
        tx.commit().await?;
        Ok(recorded)
    }
}

#[async_trait]
impl<DB: Backend> AuditSink for SqlSink<DB> {
    async fn publish(&self, event: AuditEvent) -> Result<(), SinkError> {
        self.record(event)
            .await
            .map(drop)
            .map_err(|e| SinkError::io_in("audit database", e))
    }

    async fn flush(&self, _timeout: Duration) -> Result<(), SinkError> {
        Ok(())
    }

    async fn publish_durable(&self, event: AuditEvent) -> Result<(), SinkError> {
        self.publish(event).await
    }
}
