//! The demo's orders in a SQLite file (`auditlog demo --db PATH`): each
//! change and its business audit event (`orders.create`, `orders.delete`,
//! with the order before and after) commit in one transaction, or neither
//! does.

use std::path::Path;
use std::time::Duration;

use auditlog_axum::{AuditIdentity, DEFAULT_REDACT_KEYS, REDACTED};
use auditlog_core::{AuditEvent, Outcome, Severity};
use auditlog_seal::ChainKey;
use auditlog_sql::AuditRecorder;
use serde_json::{Map, Value};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// The chain (stream) the demo's business events are recorded in.
pub(crate) const STREAM: &str = "demo-orders";

/// The orders table and the recorder of their audit events.
#[derive(Debug, Clone)]
pub(crate) struct SqlOrders {
    pool: SqlitePool,
    recorder: AuditRecorder,
}

type Result<T> = std::result::Result<T, String>;

fn db_error(e: impl std::fmt::Display) -> String {
    format!("the order database: {e}")
}

impl SqlOrders {
    /// Opens `path` (created if missing), applies the audit migrations and
    /// creates the orders table. A new table gets order 1, recorded like
    /// any other order.
    pub(crate) async fn open(path: &Path, key: ChainKey) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            // The relay and the handlers write the same file.
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        auditlog_sql::migrate(&pool).await.map_err(db_error)?;
        let recorder = AuditRecorder::new(STREAM, key).map_err(db_error)?;
        let orders = SqlOrders { pool, recorder };
        let existed: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'demo_orders'",
        )
        .fetch_one(&orders.pool)
        .await
        .map_err(db_error)?;
        if existed == 0 {
            // `fields` is the order without its id (the row's own id).
            sqlx::query(
                "CREATE TABLE demo_orders (id INTEGER PRIMARY KEY AUTOINCREMENT, fields TEXT NOT NULL)",
            )
            .execute(&orders.pool)
            .await
            .map_err(db_error)?;
            let seed =
                serde_json::json!({"item": "espresso machine", "quantity": 1, "customer": "alice"});
            let demo = AuditIdentity::new()
                .tenant_id("acme")
                .user_id("auditlog-demo")
                .user_type("SERVICE");
            if let Value::Object(fields) = seed {
                orders.create(fields, Some(&demo)).await?;
            }
        }
        Ok(orders)
    }

    /// Writes a checkpoint of the order events: the tail up to here is
    /// vouched for (`auditlog verify --chain --strict`).
    pub(crate) async fn checkpoint(&self) -> Result<u64> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let length = self.recorder.checkpoint(&mut tx).await.map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(length)
    }

    /// The pool, for the relay.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Inserts an order and records `orders.create` in the same transaction.
    pub(crate) async fn create(
        &self,
        fields: Map<String, Value>,
        identity: Option<&AuditIdentity>,
    ) -> Result<Value> {
        // The first statement writes: it takes SQLite's write lock at once
        // (a transaction that read first could fail to upgrade).
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let id: i64 =
            sqlx::query_scalar("INSERT INTO demo_orders (fields) VALUES (?1) RETURNING id")
                .bind(Value::Object(fields.clone()).to_string())
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
        let order = order_json(id, fields);
        let event = order_event("orders.create", id, identity, Value::Null, order.clone());
        self.recorder
            .record(&mut tx, event)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(order)
    }

    /// The order `id`, if there is one.
    pub(crate) async fn get(&self, id: i64) -> Result<Option<Value>> {
        let fields: Option<String> =
            sqlx::query_scalar("SELECT fields FROM demo_orders WHERE id = ?1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        fields.map(|f| parse_order(id, &f)).transpose()
    }

    /// Deletes the order `id` and records `orders.delete` in the same
    /// transaction; `None` (and nothing recorded) when there is no such order.
    pub(crate) async fn delete(
        &self,
        id: i64,
        identity: Option<&AuditIdentity>,
    ) -> Result<Option<Value>> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let fields: Option<String> =
            sqlx::query_scalar("DELETE FROM demo_orders WHERE id = ?1 RETURNING fields")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error)?;
        // Dropping `tx` rolls back: nothing was deleted, nothing recorded.
        let Some(fields) = fields else {
            return Ok(None);
        };
        let before = parse_order(id, &fields)?;
        let event = order_event("orders.delete", id, identity, before.clone(), Value::Null);
        self.recorder
            .record(&mut tx, event)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(Some(before))
    }

    /// Up to `limit` orders, oldest first.
    pub(crate) async fn list(&self, limit: i64) -> Result<Vec<Value>> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, fields FROM demo_orders ORDER BY id LIMIT ?1")
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
        rows.iter().map(|(id, f)| parse_order(*id, f)).collect()
    }
}

/// The order as the API shows it: its id, then its fields.
pub(crate) fn order_json(id: impl Into<Value>, fields: Map<String, Value>) -> Value {
    let mut order = Map::new();
    order.insert("id".into(), id.into());
    order.extend(fields.into_iter().filter(|(k, _)| k != "id"));
    Value::Object(order)
}

fn parse_order(id: i64, fields: &str) -> Result<Value> {
    match serde_json::from_str(fields) {
        Ok(Value::Object(fields)) => Ok(order_json(id, fields)),
        _ => Err(format!("order {id}: its fields are not a JSON object")),
    }
}

/// The business event of an order change: who (from the authenticated
/// identity), what, and the order before and after.
fn order_event(
    action: &str,
    id: i64,
    identity: Option<&AuditIdentity>,
    before: Value,
    after: Value,
) -> AuditEvent {
    let mut builder = AuditEvent::builder()
        .action_name(action)
        .resource("orders")
        .resource_id(id.to_string())
        .severity(Severity::Info.as_str())
        .status(Outcome::Success.as_str());
    if let Some(identity) = identity {
        if let Some(tenant) = &identity.tenant_id {
            builder = builder.tenant_id(tenant);
        }
        if let Some(user) = &identity.user_id {
            builder = builder.user_id(user);
        }
        if let Some(kind) = &identity.user_type {
            builder = builder.user_type(kind);
        }
        if let Some(trace) = &identity.trace_id {
            builder = builder.trace_id(trace);
        }
        if let Some(transaction) = &identity.transaction_id {
            builder = builder.transaction_id(transaction);
        }
    }
    let mut event = builder.build();
    let data = event.eventdata.get_or_insert_with(Default::default);
    data.requestpayload
        .insert("before".into(), redacted(before).into());
    data.responsepayload
        .insert("after".into(), redacted(after).into());
    event
}

/// The order with the members the audit layer would redact (the default
/// secret names, and `card`, which the demo adds) replaced: an audit event
/// must not carry the card number the order holds. The layer's own
/// matching is finer (whole words, camelCase); this is enough for orders.
fn redacted(mut value: Value) -> Value {
    fn secret(key: &str) -> bool {
        let key: String = key
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        DEFAULT_REDACT_KEYS
            .iter()
            .chain(&["card"])
            .any(|name| key == *name || (name.len() > 4 && key.contains(name)))
    }
    fn walk(value: &mut Value) {
        match value {
            Value::Object(members) => {
                for (key, member) in members.iter_mut() {
                    if secret(key) {
                        *member = Value::String(REDACTED.into());
                    } else {
                        walk(member);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}
