//! What each event says about its request, through `oneshot`.

use std::net::SocketAddr;
use std::time::Duration;

use auditlog_axum::{ActionName, IpNetwork};
use auditlog_core::{AuditEvent, IdentityHeaders};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use serde_json::json;

use crate::support::*;

const FLUSH: Duration = Duration::from_secs(30);

async fn one(
    layer_setup: impl FnOnce(auditlog_axum::AuditLayer) -> auditlog_axum::AuditLayer,
    request: Request<Body>,
) -> (StatusCode, AuditEvent) {
    let sink = memory();
    let layer = layer_setup(layer(sink.clone()));
    let (status, _) = oneshot(&app(layer.clone()), request).await;
    layer.flush(FLUSH).await.unwrap();
    let mut events = sink.verified();
    assert_eq!(events.len(), 1, "{:?}", sink.published());
    (status, events.pop().unwrap())
}

#[tokio::test]
async fn the_event_describes_the_request() {
    let request = Request::get("/orders/7?verbose=1")
        .header("TenantId", "acme")
        .header("x-b3-traceid", "b3-trace")
        .header("X-Transaction-Id", "tx-1")
        .header("actionLogUserId", "bob")
        .header("RequesterType", "USER")
        .header("user-agent", "curl/8.5")
        .extension(ConnectInfo(SocketAddr::from(([192, 0, 2, 10], 5555))))
        .body(Body::empty())
        .unwrap();
    let (status, event) = one(|l| l, request).await;
    assert_eq!(status, StatusCode::OK);
    let mut value = json(&event);
    let object = value.as_object_mut().unwrap();
    for generated in ["id", "timestamp", "security"] {
        assert!(object.remove(generated).is_some(), "{generated}");
    }
    assert_eq!(
        value,
        json!({
            "specversion": "1.0",
            "tenantid": "acme",
            "traceid": "b3-trace",
            "transactionid": "tx-1",
            "subject": {"userid": "bob", "type": "USER"},
            "kubernetes": {"namespacename": "shop", "podname": "orders-7d9f"},
            "objectref": {"resource": "orders"},
            "action": {"name": "/orders/{id}", "method": "GET", "severity": "INFO", "status": "SUCCESS"},
            "network": {"sourceip": "192.0.2.10", "useragent": "curl/8.5"}
        })
    );
    assert_eq!(
        uuid_version(event.id.as_deref().unwrap()),
        Some('4'),
        "{:?}",
        event.id
    );
}

fn uuid_version(id: &str) -> Option<char> {
    (id.len() == 36).then(|| id.as_bytes()[14] as char)
}

#[tokio::test]
async fn severity_and_status_follow_the_http_status() {
    for (code, severity, outcome) in [
        (200, "INFO", "SUCCESS"),
        (302, "INFO", "SUCCESS"),
        (400, "WARNING", "FAILURE"),
        (404, "WARNING", "FAILURE"),
        (499, "WARNING", "FAILURE"),
        (500, "ERROR", "FAILURE"),
        (503, "ERROR", "FAILURE"),
    ] {
        let (status, event) = one(|l| l, get(&format!("/status/{code}"))).await;
        assert_eq!(status.as_u16(), code);
        let action = event.action.unwrap();
        assert_eq!(action.severity.as_deref(), Some(severity), "{code}");
        assert_eq!(action.status.as_deref(), Some(outcome), "{code}");
        assert_eq!(action.name.as_deref(), Some("/status/{code}"));
    }
}

#[tokio::test]
async fn unmatched_routes_and_raw_path_names() {
    let (status, event) = one(|l| l, get("/nowhere/9")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(event.action.unwrap().name.as_deref(), Some("/nowhere/9"));

    let (_, event) = one(|l| l.action_name(ActionName::RawPath), get("/orders/7?x=1")).await;
    assert_eq!(event.action.unwrap().name.as_deref(), Some("/orders/7"));
}

#[tokio::test]
async fn skip_paths_match_whole_leading_segments() {
    let sink = memory();
    let layer = layer(sink.clone());
    let app = app(layer.clone());
    for path in ["/health", "/health/live", "/actuator/info", "//health"] {
        oneshot(&app, get(path)).await;
    }
    for path in ["/healthcare", "/orders/health"] {
        oneshot(&app, get(path)).await;
    }
    layer.flush(FLUSH).await.unwrap();
    let names: Vec<_> = sink
        .verified()
        .into_iter()
        .map(|e| e.objectref.unwrap().resource.unwrap())
        .collect();
    assert_eq!(names, ["healthcare", "orders"]);
    assert_eq!(layer.stats().skipped, 4);

    // Custom skip paths replace the defaults.
    let sink = memory();
    let layer = super::support::layer(sink.clone()).skip_paths(["/orders"]);
    let app = super::support::app(layer.clone());
    oneshot(&app, get("/orders/1")).await;
    oneshot(&app, get("/health")).await;
    layer.flush(FLUSH).await.unwrap();
    assert_eq!(sink.verified().len(), 1);
    assert_eq!(
        sink.verified()[0].action.as_ref().unwrap().name.as_deref(),
        Some("/health")
    );
}

#[tokio::test]
async fn identity_header_names_are_configurable() {
    let headers = IdentityHeaders {
        tenant_id: "X-Org".into(),
        user_id: "X-User".into(),
        ..IdentityHeaders::default()
    };
    let request = Request::get("/orders/1")
        .header("x-org", "org-9")
        .header("X-USER", "carol")
        .header("tenantId", "ignored")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .body(Body::empty())
        .unwrap();
    let (_, event) = one(|l| l.identity_headers(headers), request).await;
    assert_eq!(event.tenantid.as_deref(), Some("org-9"));
    assert_eq!(event.subject.unwrap().userid.as_deref(), Some("carol"));
    assert_eq!(
        event.traceid.as_deref(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
}

fn from_peer(peer: [u8; 4], xff: Option<&str>) -> Request<Body> {
    let mut request =
        Request::get("/orders/1").extension(ConnectInfo(SocketAddr::from((peer, 40000))));
    if let Some(xff) = xff {
        request = request.header("x-forwarded-for", xff);
    }
    request.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn forwarded_for_is_believed_from_trusted_proxies_only() {
    let trusted = |l: auditlog_axum::AuditLayer| {
        l.trusted_proxies(["10.0.0.0/8".parse::<IpNetwork>().unwrap()])
    };
    let source = |event: AuditEvent| event.network.unwrap().sourceip.unwrap();

    let (_, event) = one(
        trusted,
        from_peer([10, 1, 1, 1], Some("203.0.113.5, 10.2.2.2")),
    )
    .await;
    assert_eq!(source(event), "203.0.113.5");
    let (_, event) = one(trusted, from_peer([198, 51, 100, 1], Some("203.0.113.5"))).await;
    assert_eq!(source(event), "198.51.100.1");
    let (_, event) = one(|l| l, from_peer([10, 1, 1, 1], Some("203.0.113.5"))).await;
    assert_eq!(source(event), "10.1.1.1");
    let (_, event) = one(trusted, from_peer([10, 1, 1, 1], None)).await;
    assert_eq!(source(event), "10.1.1.1");
    // No peer known: nothing to believe.
    let request = Request::get("/orders/1")
        .header("x-forwarded-for", "203.0.113.5")
        .body(Body::empty())
        .unwrap();
    let (_, event) = one(trusted, request).await;
    assert_eq!(event.network.and_then(|n| n.sourceip), None);
}

#[tokio::test]
async fn handlers_enrich_their_event() {
    let request = Request::delete("/orders/42")
        .header("actionLogUserId", "from-header")
        .body(Body::empty())
        .unwrap();
    let (status, event) = one(|l| l.compliance_category("PCI"), request).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let action = event.action.as_ref().unwrap();
    assert_eq!(action.name.as_deref(), Some("orders.delete"));
    assert_eq!(action.method.as_deref(), Some("DELETE"));
    let objectref = event.objectref.as_ref().unwrap();
    assert_eq!(objectref.resource.as_deref(), Some("orders"));
    assert_eq!(objectref.resourceid.as_deref(), Some("42"));
    assert_eq!(
        event.subject.as_ref().unwrap().userid.as_deref(),
        Some("alice")
    );
    let data = json(&event)["eventdata"].clone();
    assert_eq!(
        data,
        json!({
            "requestpayload": {"reason": "duplicate"},
            "responsepayload": {"password": "[REDACTED]"},
            // Something was redacted: the event is sensitive.
            "metadata": {"compliancecategory": "SOX", "issensitive": true}
        })
    );
}

#[tokio::test]
async fn handlers_can_suppress_their_event() {
    let sink = memory();
    let layer = layer(sink.clone());
    let (status, body) = oneshot(&app(layer.clone()), get("/quiet")).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, &b"not audited"[..]));
    layer.flush(FLUSH).await.unwrap();
    assert!(sink.verified().is_empty());
    assert_eq!(layer.stats().suppressed, 1);
}

#[tokio::test]
async fn a_panic_under_catch_panic_is_a_500_error() {
    let (status, event) = one(|l| l, get("/boom")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let action = event.action.unwrap();
    assert_eq!(action.severity.as_deref(), Some("ERROR"));
    assert_eq!(action.status.as_deref(), Some("FAILURE"));
    assert_eq!(action.name.as_deref(), Some("/boom"));
    assert_eq!(event.eventdata, None, "a caught panic ends normally");
}

#[tokio::test]
async fn sensitivity_and_the_hook() {
    let (_, event) = one(
        |l| {
            l.sensitive(true).on_event(|event: &mut AuditEvent| {
                event
                    .objectref
                    .get_or_insert_with(Default::default)
                    .apiversion = Some("v1".into())
            })
        },
        get("/orders/1"),
    )
    .await;
    let value = json(&event);
    assert_eq!(value["eventdata"]["metadata"], json!({"issensitive": true}));
    assert_eq!(value["objectref"]["apiversion"], "v1");
}

#[tokio::test]
async fn head_requests_and_empty_responses_are_complete() {
    let request = Request::head("/orders/1").body(Body::empty()).unwrap();
    let (status, event) = one(|l| l, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(event.eventdata, None);
    let (status, event) = one(|l| l, get("/status/204")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(event.eventdata, None);
}

#[tokio::test]
async fn a_request_dropped_before_its_response_is_marked() {
    let sink = memory();
    let layer = layer(sink.clone());
    let app = app(layer.clone());
    // The client gives up while the handler still works.
    let outcome =
        tokio::time::timeout(Duration::from_millis(50), oneshot(&app, get("/slow"))).await;
    assert!(outcome.is_err());
    layer.flush(FLUSH).await.unwrap();
    let events = sink.verified();
    assert_eq!(events.len(), 1);
    let value = json(&events[0]);
    assert_eq!(value["action"]["severity"], "WARNING");
    assert_eq!(value["action"]["status"], "FAILURE");
    assert_eq!(
        value["eventdata"]["responsepayload"]["_incomplete"],
        "client disconnected before the response"
    );
}
