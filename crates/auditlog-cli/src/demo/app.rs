//! The demo's order service: a small, realistic app to audit.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};

use auditlog_axum::AuditContext;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use tower_http::catch_panic::CatchPanicLayer;

/// The most orders kept; older ones are forgotten (order 1 stays), so a
/// load test cannot grow the demo without bound.
const MAX_ORDERS: usize = 10_000;

#[derive(Debug, Clone)]
pub struct Orders {
    inner: Arc<Mutex<Store>>,
}

#[derive(Debug)]
struct Store {
    next_id: u64,
    orders: BTreeMap<u64, Value>,
}

impl Orders {
    /// The store with order 1 in it.
    pub fn new() -> Self {
        let mut orders = BTreeMap::new();
        orders.insert(
            1,
            json!({"id": 1, "item": "espresso machine", "quantity": 1, "customer": "alice"}),
        );
        Orders {
            inner: Arc::new(Mutex::new(Store { next_id: 2, orders })),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The routes, with tower-http's `CatchPanicLayer` so a panicking handler
/// answers 500. The audit layer goes on top, outside it.
pub fn routes(orders: Orders) -> Router {
    Router::new()
        .route("/orders", post(create_order))
        .route("/orders/{id}", get(get_order).delete(delete_order))
        .route("/health", get(|| async { "ok\n" }))
        .route("/boom", get(boom))
        .route("/stream", get(stream))
        .with_state(orders)
        .layer(CatchPanicLayer::new())
}

/// `POST /orders` with a JSON object: 201 and the stored order.
async fn create_order(State(orders): State<Orders>, audit: AuditContext, body: Bytes) -> Response {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
        let error = json!({"error": "the body must be a JSON object"});
        return (StatusCode::BAD_REQUEST, Json(error)).into_response();
    };
    let order = orders.with(|store| {
        let id = store.next_id;
        store.next_id += 1;
        let mut order = Map::new();
        order.insert("id".into(), id.into());
        order.extend(fields.into_iter().filter(|(k, _)| k != "id"));
        let order = Value::Object(order);
        store.orders.insert(id, order.clone());
        while store.orders.len() > MAX_ORDERS {
            let oldest = store.orders.keys().copied().find(|&id| id != 1);
            oldest.map(|id| store.orders.remove(&id));
        }
        order
    });
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
    let order = id
        .parse::<u64>()
        .ok()
        .and_then(|id| orders.with(|store| store.orders.get(&id).cloned()));
    match order {
        Some(order) => Json(order).into_response(),
        None => not_found(&id),
    }
}

/// `DELETE /orders/{id}`: 204, or 404.
async fn delete_order(
    State(orders): State<Orders>,
    audit: AuditContext,
    Path(id): Path<String>,
) -> Response {
    audit.set_resource_id(&id);
    let removed = id
        .parse::<u64>()
        .ok()
        .and_then(|id| orders.with(|store| store.orders.remove(&id)));
    match removed {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => not_found(&id),
    }
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
    let lines: Vec<Result<Bytes, Infallible>> = orders.with(|store| {
        store
            .orders
            .values()
            .take(100)
            .map(|order| Ok(Bytes::from(format!("{order}\n"))))
            .collect()
    });
    let mut response = Body::from_stream(futures_util::stream::iter(lines)).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/x-ndjson"),
    );
    response
}
