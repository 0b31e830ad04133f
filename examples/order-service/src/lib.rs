//! A small order service audited by auditlog: every request to it becomes
//! one sealed audit event, named by its route template, carrying the tenant
//! and user its authentication vouches for.
//!
//! The pieces a service adds (see the README's "Adopting auditlog in a
//! service"): an [`AuditLayer`] over the router, an authentication layer
//! inside it that attaches an [`AuditIdentity`], handlers that name the
//! resource through [`AuditContext`], and — in `xtask/` — the conformance
//! suite over the events its tests capture.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use auditlog_axum::{AuditContext, AuditIdentity, AuditLayer};
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};

/// The service's routes behind its authentication, audited by `audit`.
///
/// The authentication layer sits *inside* the audit layer, so the requests
/// it refuses are audited too (without a tenant: the caller is unknown).
pub fn app(audit: AuditLayer) -> Router {
    Router::new()
        .route("/orders", post(create_order))
        .route("/orders/{id}", get(get_order).delete(delete_order))
        .with_state(Arc::new(Orders::default()))
        .layer(middleware::from_fn(authenticate))
        .layer(audit)
}

/// The bearer tokens this demo accepts: token, tenant, user. A real service
/// asks its identity provider.
const TOKENS: &[(&str, &str, &str)] = &[
    ("alice-token", "acme", "alice"),
    ("bob-token", "globex", "bob"),
];

/// Who the authentication layer found behind a request, for the handlers.
#[derive(Debug, Clone)]
struct Caller {
    tenant: String,
}

/// Refuses requests without a known bearer token; tells the audit layer
/// (and the handlers) who is behind the others. Identity headers a client
/// sends (`tenantId`, ...) are not believed: the audit layer takes only
/// the [`AuditIdentity`] attached here.
async fn authenticate(mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let Some(&(_, tenant, user)) = TOKENS.iter().find(|(known, ..)| Some(*known) == token) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    AuditIdentity::new()
        .tenant_id(tenant)
        .user_id(user)
        .attach_to(request.extensions_mut());
    request.extensions_mut().insert(Caller {
        tenant: tenant.to_owned(),
    });
    next.run(request).await
}

/// The orders of every tenant, in memory.
#[derive(Debug, Default)]
struct Orders {
    by_tenant: Mutex<HashMap<(String, u64), Order>>,
    last_id: AtomicU64,
}

/// An order as the API shows it.
#[derive(Debug, Clone, Serialize)]
struct Order {
    id: u64,
    item: String,
    quantity: u32,
}

/// The body of `POST /orders`.
#[derive(Debug, Deserialize)]
struct NewOrder {
    item: String,
    quantity: u32,
}

impl Orders {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, u64), Order>> {
        // A panic under the lock leaves the map whole: keep serving.
        self.by_tenant
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

async fn create_order(
    State(orders): State<Arc<Orders>>,
    Extension(caller): Extension<Caller>,
    audit: AuditContext,
    Json(new): Json<NewOrder>,
) -> (StatusCode, Json<Order>) {
    let id = orders.last_id.fetch_add(1, Relaxed) + 1;
    audit.set_resource_id(id.to_string());
    let order = Order {
        id,
        item: new.item,
        quantity: new.quantity,
    };
    orders.lock().insert((caller.tenant, id), order.clone());
    (StatusCode::CREATED, Json(order))
}

async fn get_order(
    State(orders): State<Arc<Orders>>,
    Extension(caller): Extension<Caller>,
    audit: AuditContext,
    Path(id): Path<u64>,
) -> Result<Json<Order>, StatusCode> {
    audit.set_resource_id(id.to_string());
    let order = orders.lock().get(&(caller.tenant, id)).cloned();
    order.map(Json).ok_or(StatusCode::NOT_FOUND)
}

async fn delete_order(
    State(orders): State<Arc<Orders>>,
    Extension(caller): Extension<Caller>,
    audit: AuditContext,
    Path(id): Path<u64>,
) -> StatusCode {
    audit.set_resource_id(id.to_string());
    match orders.lock().remove(&(caller.tenant, id)) {
        Some(_) => StatusCode::NO_CONTENT,
        None => StatusCode::NOT_FOUND,
    }
}
