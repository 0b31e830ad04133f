//! A failing, stuck or full sink never changes a response.

use std::time::Duration;

use axum::http::StatusCode;

use crate::support::*;

#[tokio::test]
async fn a_failing_sink_changes_nothing() {
    let layer = layer(Failing);
    let app = app(layer.clone());
    let without = routes();
    for path in ["/orders/1", "/orders/missing", "/stream", "/boom"] {
        let audited = oneshot(&app, get(path)).await;
        let plain = oneshot(&without, get(path)).await;
        assert_eq!(audited, plain, "{path}");
    }
    let error = layer.flush(Duration::from_secs(30)).await.unwrap_err();
    assert!(error.to_string().contains("broker unreachable"), "{error}");
    let stats = layer.stats();
    assert_eq!((stats.queued, stats.failed, stats.published), (4, 4, 0));
}

#[tokio::test]
async fn a_stuck_sink_and_a_full_queue_never_hold_a_request() {
    let layer = layer(Stuck).queue_capacity(2);
    let app = app(layer.clone());
    for _ in 0..50 {
        let (status, body) = oneshot(&app, get("/orders/1")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!body.is_empty());
    }
    let stats = layer.stats();
    // The background task took at most one batch (at most the two queued
    // then) and is stuck publishing its first event; at most two more wait
    // in the queue; the rest are dropped and counted.
    assert_eq!(stats.published + stats.failed, 0);
    assert!(stats.queued <= 4, "{stats:?}");
    assert!(stats.dropped >= 46, "{stats:?}");
    assert_eq!(stats.queued + stats.dropped, 50, "{stats:?}");
    // Flushing gives up after its timeout and says how many are undelivered.
    let error = layer.flush(Duration::from_millis(100)).await.unwrap_err();
    assert!(error.to_string().contains("undelivered"), "{error}");
}
