//! The database unavailable to a recording service, over real HTTP and a
//! real PostgreSQL server that is stopped and started under it: the
//! caller's transaction fails as a whole (no order without its event, no
//! event without its order), and the layer's write-ahead policy decides the
//! response of a route that only audits.

use std::net::SocketAddr;
use std::time::Duration;

use auditlog_axum::{AuditLayer, WriteAhead, WriteAheadFailure, WriteAheadLayer};
use auditlog_core::AuditEvent;
use auditlog_seal::{ChainKey, Keyring, SigningKey, StreamVerifier};
use auditlog_sql::{AuditRecorder, SqlSink};
use auditlog_testkit::TestPostgres;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn key() -> ChainKey {
    ChainKey::hmac("k-2026", SigningKey::new("test-secret").unwrap()).unwrap()
}

#[derive(Clone)]
struct Shop {
    pool: PgPool,
    orders: AuditRecorder,
}

/// Creates an order and records its event in one transaction: 201, or 500
/// when any step fails (and then neither exists).
async fn create_order(State(shop): State<Shop>) -> StatusCode {
    let attempt = async {
        let mut tx = shop.pool.begin().await?;
        let id: i64 = sqlx::query_scalar("INSERT INTO orders DEFAULT VALUES RETURNING id")
            .fetch_one(&mut *tx)
            .await?;
        let event = AuditEvent::builder()
            .action_name("orders.create")
            .resource("order")
            .resource_id(id.to_string())
            .build();
        shop.orders.record(&mut tx, event).await?;
        tx.commit().await?;
        Ok::<_, auditlog_sql::Error>(())
    };
    match attempt.await {
        Ok(()) => StatusCode::CREATED,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Serves the shop: the layer records every request's event in the
/// `http` stream through a [`SqlSink`], write-ahead required (fail closed)
/// except on `/open`, which fails open.
async fn serve(pool: PgPool) -> (SocketAddr, AuditLayer) {
    let sink = SqlSink::new(pool.clone(), AuditRecorder::new("http", key()).unwrap());
    let layer =
        AuditLayer::new(sink).write_ahead(WriteAhead::required().timeout(Duration::from_secs(3)));
    let shop = Shop {
        pool,
        orders: AuditRecorder::new("orders", key()).unwrap(),
    };
    let open = WriteAhead::required()
        .timeout(Duration::from_secs(3))
        .on_failure(WriteAheadFailure::FailOpen);
    let app = Router::new()
        .route("/orders", post(create_order))
        .route("/closed", get(|| async { "read" }))
        .route(
            "/open",
            get(|| async { "read" }).layer(WriteAheadLayer::new(open)),
        )
        .with_state(shop)
        .layer(layer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    (addr, layer)
}

/// One HTTP/1.1 request over a fresh TCP connection; the status code.
async fn status(addr: SocketAddr, method: &str, path: &str) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: shop\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_fails_the_transaction_whole_and_write_ahead_decides_the_rest() {
    let mut server = tokio::task::spawn_blocking(TestPostgres::start_cluster)
        .await
        .unwrap();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(2))
        .connect(server.url())
        .await
        .unwrap();
    auditlog_sql::migrate(&pool).await.unwrap();
    sqlx::query("CREATE TABLE orders (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY)")
        .execute(&pool)
        .await
        .unwrap();
    let (addr, layer) = serve(pool.clone()).await;

    assert_eq!(status(addr, "POST", "/orders").await, 201);
    assert_eq!(status(addr, "GET", "/closed").await, 200);

    let server = tokio::task::spawn_blocking(move || {
        server.stop_server();
        server
    })
    .await
    .unwrap();
    let post = status(addr, "POST", "/orders").await;
    assert!(
        post >= 500,
        "an order taken while the database is down: {post}"
    );
    assert_eq!(
        status(addr, "GET", "/closed").await,
        503,
        "write-ahead required, failing closed"
    );
    assert_eq!(
        status(addr, "GET", "/open").await,
        200,
        "write-ahead required, failing open"
    );
    let during = layer.stats();
    assert_eq!(
        during.write_ahead_failed, 3,
        "each failed write-ahead is counted: {during:?}"
    );

    let server = tokio::task::spawn_blocking(move || {
        let mut server = server;
        server.start_server();
        server
    })
    .await
    .unwrap();
    // The same pool reconnects.
    assert_eq!(status(addr, "POST", "/orders").await, 201);
    assert_eq!(status(addr, "GET", "/closed").await, 200);

    // Orders and their events: one each per successful POST, and nothing
    // from the outage.
    assert_eq!(count(&pool, "SELECT count(*) FROM orders").await, 2);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM audit_events WHERE stream = 'orders' AND NOT is_checkpoint"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM audit_events e \
             WHERE e.stream = 'orders' AND e.resource_id = o.id::text)"
        )
        .await,
        0,
        "every order has its event"
    );
    let mut keys = Keyring::new();
    keys.add(key()).unwrap();
    let report = auditlog_sql::verify_table(&pool, StreamVerifier::new(&keys))
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
    drop(server);
}
