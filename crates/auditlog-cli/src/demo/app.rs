//! The demo's order service: a small, realistic app to audit.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};

use auditlog_axum::{AuditContext, AuditIdentity};
use auditlog_core::IdentityHeaders;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Map, Value};
use tower_http::catch_panic::CatchPanicLayer;

use super::sql_orders::{order_json, SqlOrders};

/// The most orders kept; older ones are forgotten (order 1 stays), so a
/// load test cannot grow the demo without bound.
const MAX_ORDERS: usize = 10_000;

/// Where the orders are: in memory (the default), or in SQLite with an
/// audit event recorded in each change's transaction (`--db`).
#[derive(Debug, Clone)]
pub(crate) enum Orders {
    Memory(Arc<Mutex<Store>>),
    Sql(SqlOrders),
}

#[derive(Debug)]
pub(crate) struct Store {
    next_id: u64,
    orders: BTreeMap<u64, Value>,
}

impl Orders {
    /// The in-memory store with order 1 in it.
    pub(crate) fn new() -> Self {
        let mut orders = BTreeMap::new();
        orders.insert(
            1,
            json!({"id": 1, "item": "espresso machine", "quantity": 1, "customer": "alice"}),
        );
        Orders::Memory(Arc::new(Mutex::new(Store { next_id: 2, orders })))
    }

    fn with<T>(store: &Mutex<Store>, f: impl FnOnce(&mut Store) -> T) -> T {
        f(&mut store.lock().unwrap_or_else(PoisonError::into_inner))
    }

    async fn create(
        &self,
        fields: Map<String, Value>,
        identity: Option<&AuditIdentity>,
    ) -> Result<Value, String> {
        let store = match self {
            Orders::Sql(sql) => return sql.create(fields, identity).await,
            Orders::Memory(store) => store,
        };
        Ok(Self::with(store, |store| {
            let id = store.next_id;
            store.next_id += 1;
            let order = order_json(id, fields);
            store.orders.insert(id, order.clone());
            while store.orders.len() > MAX_ORDERS {
                let oldest = store.orders.keys().copied().find(|&id| id != 1);
                oldest.map(|id| store.orders.remove(&id));
            }
            order
        }))
    }

    async fn get(&self, id: i64) -> Result<Option<Value>, String> {
        match self {
            Orders::Sql(sql) => sql.get(id).await,
            Orders::Memory(store) => Ok(u64::try_from(id)
                .ok()
                .and_then(|id| Self::with(store, |store| store.orders.get(&id).cloned()))),
        }
    }

    async fn delete(
        &self,
        id: i64,
        identity: Option<&AuditIdentity>,
    ) -> Result<Option<Value>, String> {
        match self {
            Orders::Sql(sql) => sql.delete(id, identity).await,
            Orders::Memory(store) => Ok(u64::try_from(id)
                .ok()
                .and_then(|id| Self::with(store, |store| store.orders.remove(&id)))),
        }
    }

    async fn list(&self, limit: usize) -> Result<Vec<Value>, String> {
        match self {
            Orders::Sql(sql) => sql.list(i64::try_from(limit).unwrap_or(i64::MAX)).await,
            Orders::Memory(store) => Ok(Self::with(store, |store| {
                store.orders.values().take(limit).cloned().collect()
            })),
        }
    }
}

/// The routes, behind the demo's authentication, with tower-http's
/// `CatchPanicLayer` so a panicking handler answers 500. The audit layer
/// goes on top, outside both: the requests authentication refuses are
/// audited too.
pub(crate) fn routes(orders: Orders) -> Router {
    Router::new()
        .route("/orders", post(create_order))
        .route("/orders/{id}", get(get_order).delete(delete_order))
        .route("/health", get(|| async { "ok\n" }))
        .route("/boom", get(boom))
        .route("/stream", get(stream))
        .with_state(orders)
        .layer(middleware::from_fn(authenticate))
        .layer(CatchPanicLayer::new())
}

/// The demo's callers: bearer token, tenant, user, requester type.
pub(crate) const CALLERS: &[(&str, &str, &str, &str)] = &[
    ("alice-token", "acme", "alice", "USER"),
    ("bob-token", "acme", "bob", "USER"),
    ("carol-token", "globex", "carol", "USER"),
    ("billing-token", "acme", "billing-service", "SERVICE"),
];

/// The demo's authentication: a known bearer token says who the caller is,
/// and that identity — never the caller's own `tenantId` or
/// `actionLogUserId` headers — is what the audit layer records. An unknown
/// token is refused (401); no token at all is an anonymous caller.
async fn authenticate(mut request: Request, next: Next) -> Response {
    let Some(authorization) = request.headers().get(header::AUTHORIZATION) else {
        return next.run(request).await;
    };
    let token = authorization
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(&(_, tenant, user, kind)) = CALLERS.iter().find(|c| Some(c.0) == token) else {
        let error = json!({"error": "unknown bearer token"});
        return (StatusCode::UNAUTHORIZED, Json(error)).into_response();
    };
    // Trace and transaction ids correlate, they grant nothing: the demo
    // takes them from the request, as its tracing would (a repeated header
    // with different values gives none).
    let correlation = IdentityHeaders::default().extract(
        request
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?))),
    );
    let mut identity = AuditIdentity::new()
        .tenant_id(tenant)
        .user_id(user)
        .user_type(kind);
    identity.trace_id = correlation.trace_id;
    identity.transaction_id = correlation.transaction_id;
    identity.attach_to(request.extensions_mut());
    next.run(request).await
}

/// `POST /orders` with a JSON object: 201 and the stored order.
async fn create_order(
    State(orders): State<Orders>,
    audit: AuditContext,
    identity: Option<Extension<AuditIdentity>>,
    body: Bytes,
) -> Response {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
        let error = json!({"error": "the body must be a JSON object"});
        return (StatusCode::BAD_REQUEST, Json(error)).into_response();
    };
    let identity = identity.map(|Extension(identity)| identity);
    let order = match orders.create(fields, identity.as_ref()).await {
        Ok(order) => order,
        Err(error) => return server_error(&error),
    };
    audit.set_resource_id(order["id"].to_string());
    (StatusCode::CREATED, Json(order)).into_response()
}

/// `GET /orders/{id}`: 200 and the order, or 404.
async fn get_order(
    State(orders): State<Orders>,
    audit: AuditContext,
    Path(id): Path<String>,
) -> Response {
    audit.set_resource_id(&id);
    let Ok(number) = id.parse::<i64>() else {
        return not_found(&id);
    };
    match orders.get(number).await {
        Ok(Some(order)) => Json(order).into_response(),
        Ok(None) => not_found(&id),
        Err(error) => server_error(&error),
    }
}

/// `DELETE /orders/{id}`: 204, or 404.
async fn delete_order(
    State(orders): State<Orders>,
    audit: AuditContext,
    identity: Option<Extension<AuditIdentity>>,
    Path(id): Path<String>,
) -> Response {
    audit.set_resource_id(&id);
    let Ok(number) = id.parse::<i64>() else {
        return not_found(&id);
    };
    let identity = identity.map(|Extension(identity)| identity);
    match orders.delete(number, identity.as_ref()).await {
        Ok(Some(_)) => StatusCode::NO_CONTENT.into_response(),
        Ok(None) => not_found(&id),
        Err(error) => server_error(&error),
    }
}

/// A 500 for a store that failed (the change and its event rolled back).
fn server_error(error: &str) -> Response {
    eprintln!("auditlog demo: {error}");
    let error = json!({"error": "the order store failed"});
    (StatusCode::INTERNAL_SERVER_ERROR, Json(error)).into_response()
}

fn not_found(id: &str) -> Response {
    let error = json!({"error": format!("no order {id}")});
    (StatusCode::NOT_FOUND, Json(error)).into_response()
}

/// `GET /boom`: the handler panics; `CatchPanicLayer` answers 500.
async fn boom() -> &'static str {
    panic!("GET /boom: this handler always panics (the demo's deliberate failure)")
}

/// `GET /stream`: a chunked response, one JSON line per chunk.
async fn stream(State(orders): State<Orders>) -> Response {
    let lines: Vec<Result<Bytes, Infallible>> = match orders.list(100).await {
        Ok(orders) => orders
            .iter()
            .map(|order| Ok(Bytes::from(format!("{order}\n"))))
            .collect(),
        Err(error) => return server_error(&error),
    };
    let mut response = Body::from_stream(futures_util::stream::iter(lines)).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/x-ndjson"),
    );
    response
}
