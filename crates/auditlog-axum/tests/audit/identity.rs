//! Identity a client cannot forge: which source each event's `tenantid`,
//! `subject`, `traceid` and `transactionid` come from, over real TCP.

use std::time::Duration;

use auditlog_axum::{
    AuditContext, AuditIdentity, AuditLayer, IdentitySource, IpNetwork, IDENTITY_KEY,
};
use auditlog_core::AuditEvent;
use auditlog_kafka::mock::EmbeddedKafka;
use auditlog_kafka::{KafkaConfig, KafkaPublisher, StartAt, TopicReader};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::json;

use crate::support::*;

const FLUSH: Duration = Duration::from_secs(60);

/// Every identity header a client could forge, claiming another tenant.
const FORGED: &[(&str, &str)] = &[
    ("tenantId", "globex"),
    ("actionLogUserId", "mallory"),
    ("RequesterType", "SERVICE"),
    ("x-b3-traceid", "forged-trace"),
    ("X-Transaction-Id", "forged-tx"),
];

/// The header names of [`FORGED`], as the note lists them.
const FORGED_NAMES: [&str; 5] = [
    "tenantId",
    "x-b3-traceid",
    "X-Transaction-Id",
    "actionLogUserId",
    "RequesterType",
];

fn loopback() -> IpNetwork {
    "127.0.0.1".parse().unwrap()
}

/// A layer with `source`, trusting `proxies`.
fn with(source: IdentitySource, proxies: &[IpNetwork]) -> (MemorySink, AuditLayer) {
    let sink = memory();
    let layer = AuditLayer::new(sink.clone())
        .identity_source(source)
        .trusted_proxies(proxies.iter().copied());
    (sink, layer)
}

/// `GET /orders/1` on `addr` with `headers` (repeated names are sent
/// repeated), over TCP; the status, and the one event it made.
async fn one(
    layer: &AuditLayer,
    sink: &MemorySink,
    app: Router,
    headers: &[(&str, &str)],
) -> (StatusCode, AuditEvent) {
    let addr = serve(app).await;
    let mut request = Request::get(format!("http://{addr}/orders/1"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let (status, _, _) = send(&client(), request.body(Body::empty()).unwrap()).await;
    layer.flush(FLUSH).await.unwrap();
    let mut events = sink.verified();
    assert_eq!(events.len(), 1, "{:?}", sink.published());
    (status, events.pop().unwrap())
}

/// The `_identity` note of an event's request payload, if any.
fn note(event: &AuditEvent) -> Option<serde_json::Value> {
    json(event)["eventdata"]["requestpayload"]
        .get(IDENTITY_KEY)
        .cloned()
}

fn assert_no_identity(event: &AuditEvent) {
    assert_eq!(event.tenantid, None);
    assert_eq!(event.subject, None);
    assert_eq!(event.traceid, None);
    assert_eq!(event.transactionid, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_headers_from_an_untrusted_peer_are_not_used() {
    // The default, and trusted-proxy headers from a peer that is not one.
    let elsewhere: IpNetwork = "10.0.0.0/8".parse().unwrap();
    for (source, proxies) in [
        (IdentitySource::default(), vec![loopback()]),
        (IdentitySource::TrustedProxyHeaders, vec![elsewhere]),
        (IdentitySource::TrustedProxyHeaders, vec![]),
    ] {
        let (sink, layer) = with(source, &proxies);
        let (status, event) = one(&layer, &sink, app(layer.clone()), FORGED).await;
        assert_eq!(status, StatusCode::OK);
        assert_no_identity(&event);
        // Visible: the header names (not the claims) are noted and counted.
        assert_eq!(
            note(&event),
            Some(json!({"ignored": FORGED_NAMES})),
            "{source:?}"
        );
        assert_eq!(layer.stats().identity_ignored, 1);
        assert_eq!(layer.stats().published, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_headers_from_a_trusted_proxy_are_used() {
    let (sink, layer) = with(IdentitySource::TrustedProxyHeaders, &[loopback()]);
    let (_, event) = one(&layer, &sink, app(layer.clone()), FORGED).await;
    assert_eq!(event.tenantid.as_deref(), Some("globex"));
    let subject = event.subject.as_ref().unwrap();
    assert_eq!(subject.userid.as_deref(), Some("mallory"));
    assert_eq!(subject.user_type.as_deref(), Some("SERVICE"));
    assert_eq!(event.traceid.as_deref(), Some("forged-trace"));
    assert_eq!(event.transactionid.as_deref(), Some("forged-tx"));
    assert_eq!(note(&event), None);
    assert_eq!(layer.stats().identity_ignored, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_from_any_peer_keep_the_python_behaviour() {
    // No trusted proxy at all: the unverified source believes anyone.
    let (sink, layer) = with(IdentitySource::UnverifiedHeadersFromAnyPeer, &[]);
    let (_, event) = one(&layer, &sink, app(layer.clone()), FORGED).await;
    assert_eq!(event.tenantid.as_deref(), Some("globex"));
    assert_eq!(
        event.subject.as_ref().unwrap().userid.as_deref(),
        Some("mallory")
    );
    assert_eq!(event.transactionid.as_deref(), Some("forged-tx"));
    assert_eq!(note(&event), None);
}

/// The service's authentication: `Bearer alice-token` is alice of acme;
/// another token is refused with 401; no token passes anonymously.
async fn authenticate(mut request: Request, next: Next) -> Response {
    let authorization = request.headers().get(header::AUTHORIZATION).cloned();
    match authorization {
        Some(value) if value == "Bearer alice-token" => {
            AuditIdentity::new()
                .tenant_id("acme")
                .user_id("alice")
                .user_type("USER")
                .group("buyers")
                .trace_id("trace-from-auth")
                .attach_to(request.extensions_mut());
        }
        Some(_) => return StatusCode::UNAUTHORIZED.into_response(),
        None => {}
    }
    next.run(request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attached_identity_is_used_and_headers_are_ignored() {
    let alice: Vec<(&str, &str)> = FORGED
        .iter()
        .copied()
        .chain([("authorization", "Bearer alice-token")])
        .collect();
    for source in [
        IdentitySource::Extension,
        IdentitySource::TrustedProxyHeaders,
        IdentitySource::UnverifiedHeadersFromAnyPeer,
    ] {
        // Authentication inside the audit layer (its rejections audited
        // too), and outside it.
        for inside in [true, false] {
            let (sink, layer) = with(source, &[loopback()]);
            let auth = middleware::from_fn(authenticate);
            let app = match inside {
                true => routes().layer(auth).layer(layer.clone()),
                false => app(layer.clone()).layer(auth),
            };
            let (status, event) = one(&layer, &sink, app, &alice).await;
            let case = format!("{source:?}, inside: {inside}");
            assert_eq!(status, StatusCode::OK, "{case}");
            assert_eq!(event.tenantid.as_deref(), Some("acme"), "{case}");
            let subject = event.subject.as_ref().unwrap();
            assert_eq!(subject.userid.as_deref(), Some("alice"), "{case}");
            assert_eq!(subject.user_type.as_deref(), Some("USER"), "{case}");
            assert_eq!(subject.groups, ["buyers"], "{case}");
            assert_eq!(event.traceid.as_deref(), Some("trace-from-auth"), "{case}");
            // Nothing from the headers, though they were present.
            assert_eq!(event.transactionid, None, "{case}");
            // Noted as ignored when the identity was there on arrival; from
            // inside, the headers a believing source read were replaced.
            let noted = match (inside, source) {
                (true, IdentitySource::Extension) | (false, _) => {
                    Some(json!({"ignored": FORGED_NAMES}))
                }
                (true, _) => None,
            };
            assert_eq!(note(&event), noted, "{case}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_caller_is_audited_without_an_identity() {
    let (sink, layer) = with(IdentitySource::default(), &[]);
    let app = routes()
        .layer(middleware::from_fn(authenticate))
        .layer(layer.clone());
    let headers = [("authorization", "Bearer stolen"), ("tenantId", "acme")];
    let (status, event) = one(&layer, &sink, app, &headers).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_no_identity(&event);
    let action = event.action.as_ref().unwrap();
    assert_eq!(action.status.as_deref(), Some("FAILURE"));
    assert_eq!(note(&event), Some(json!({"ignored": ["tenantId"]})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_identity_header_is_recorded_as_a_conflict() {
    // A client's tenantId, then the one the gateway appended; a user id
    // repeated alike is no conflict.
    let repeated = [
        ("tenantId", "globex"),
        ("tenantId", "acme"),
        ("actionLogUserId", "alice"),
        ("actionLogUserId", "alice"),
    ];
    for source in [
        IdentitySource::TrustedProxyHeaders,
        IdentitySource::UnverifiedHeadersFromAnyPeer,
    ] {
        let (sink, layer) = with(source, &[loopback()]);
        let (status, event) = one(&layer, &sink, app(layer.clone()), &repeated).await;
        // The request went through and was audited, as a conflict.
        assert_eq!(status, StatusCode::OK);
        assert_eq!(event.tenantid, None, "neither value is picked");
        assert_eq!(
            event.subject.as_ref().unwrap().userid.as_deref(),
            Some("alice")
        );
        assert_eq!(
            note(&event),
            Some(json!({"conflict": {"tenantId": ["globex", "acme"]}}))
        );
        let stats = layer.stats();
        assert_eq!((stats.identity_conflicts, stats.published), (1, 1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_trusted_tenant_keys_the_kafka_message() {
    // The publisher keys each message by `tenantid` (the default), which
    // only a trusted source fills: a forged header never becomes the key.
    let kafka = EmbeddedKafka::start(1).unwrap();
    let topic = "audit-identity";
    kafka.create_topic(topic, 1).unwrap();
    let config = KafkaConfig::new(kafka.bootstrap_servers()).topic(topic);
    let publisher = KafkaPublisher::new(config).unwrap();
    let layer = AuditLayer::new(publisher.clone());
    let app = routes()
        .layer(middleware::from_fn(authenticate))
        .layer(layer.clone());
    let addr = serve(app).await;
    let client = client();
    for headers in [
        vec![("tenantId", "globex")],
        vec![
            ("tenantId", "globex"),
            ("authorization", "Bearer alice-token"),
        ],
    ] {
        let mut request = Request::get(format!("http://{addr}/orders/1"));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        send(&client, request.body(Body::empty()).unwrap()).await;
    }
    layer.flush(FLUSH).await.unwrap();
    assert!(publisher.shutdown(FLUSH).is_complete());

    let reader = TopicReader::new(
        kafka.bootstrap_servers(),
        topic,
        &[],
        None,
        StartAt::Beginning,
        Duration::from_secs(10),
    )
    .unwrap();
    let mut read = Vec::new();
    for _ in 0..600 {
        if read.len() == 2 {
            break;
        }
        if let Some(event) = reader.recv_timeout(Duration::from_millis(100)) {
            read.push(event.unwrap());
        }
    }
    let tenant_header = |headers: &[(String, Vec<u8>)]| {
        headers
            .iter()
            .find(|(name, _)| name == "ce_tenantid")
            .map(|(_, value)| value.clone())
    };
    let got: Vec<_> = read
        .iter()
        .map(|r| (r.key.clone(), tenant_header(&r.headers)))
        .collect();
    assert_eq!(
        got,
        [
            (None, None),
            (Some(b"acme".to_vec()), Some(b"acme".to_vec()))
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_has_the_last_word() {
    let (sink, layer) = with(IdentitySource::default(), &[]);
    let handler = |audit: AuditContext| async move {
        audit.set_user_id("alice@acme.example");
        "ok"
    };
    let app = Router::new()
        .route("/orders/{id}", axum::routing::get(handler))
        .layer(middleware::from_fn(authenticate))
        .layer(layer.clone());
    let headers = [("authorization", "Bearer alice-token")];
    let (_, event) = one(&layer, &sink, app, &headers).await;
    assert_eq!(event.tenantid.as_deref(), Some("acme"));
    let subject = event.subject.unwrap();
    assert_eq!(subject.userid.as_deref(), Some("alice@acme.example"));
    assert_eq!(subject.groups, ["buyers"]);
}
