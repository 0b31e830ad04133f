//! Each route, with and without credentials, and what its event says.

use auditlog_core::AuditEvent;

use crate::service::{event, Service};

const ALICE: (&str, &str) = ("authorization", "Bearer alice-token");
const BOB: (&str, &str) = ("authorization", "Bearer bob-token");

fn status(event: &AuditEvent) -> (&str, &str) {
    let action = event.action.as_ref().unwrap();
    (
        action.status.as_deref().unwrap(),
        action.severity.as_deref().unwrap(),
    )
}

fn resource_id(event: &AuditEvent) -> Option<&str> {
    event.objectref.as_ref()?.resourceid.as_deref()
}

#[tokio::test]
async fn an_order_is_created_read_and_deleted() {
    let service = Service::start("an_order_is_created_read_and_deleted").await;
    let (code, body) = service
        .request(
            "POST",
            "/orders",
            &[ALICE],
            r#"{"item":"book","quantity":2}"#,
        )
        .await;
    assert_eq!(code, 201, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"].to_string();
    let path = format!("/orders/{id}");
    assert_eq!(service.request("GET", &path, &[ALICE], "").await.0, 200);
    assert_eq!(service.request("DELETE", &path, &[ALICE], "").await.0, 204);

    let events = service.events().await;
    assert_eq!(events.len(), 3, "{events:#?}");
    for (method, route) in [
        ("POST", "/orders"),
        ("GET", "/orders/{id}"),
        ("DELETE", "/orders/{id}"),
    ] {
        let event = event(&events, method, route);
        assert_eq!(event.tenantid.as_deref(), Some("acme"));
        assert_eq!(
            event.subject.as_ref().unwrap().userid.as_deref(),
            Some("alice")
        );
        assert_eq!(resource_id(event), Some(id.as_str()));
        assert_eq!(status(event), ("SUCCESS", "INFO"));
        let metadata = event.eventdata.as_ref().unwrap().metadata.as_ref().unwrap();
        assert_eq!(metadata.compliancecategory.as_deref(), Some("SOX"));
    }
}

#[tokio::test]
async fn a_request_without_credentials_is_refused_and_audited() {
    let service = Service::start("a_request_without_credentials_is_refused_and_audited").await;
    let (code, _) = service
        .request("POST", "/orders", &[], r#"{"item":"book","quantity":1}"#)
        .await;
    assert_eq!(code, 401);

    let events = service.events().await;
    let refused = event(&events, "POST", "/orders");
    assert_eq!(status(refused), ("FAILURE", "WARNING"));
    assert_eq!(refused.tenantid, None);
}

#[tokio::test]
async fn a_tenant_cannot_reach_another_tenants_order() {
    let service = Service::start("a_tenant_cannot_reach_another_tenants_order").await;
    let (_, body) = service
        .request(
            "POST",
            "/orders",
            &[ALICE],
            r#"{"item":"lamp","quantity":1}"#,
        )
        .await;
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"].to_string();
    let path = format!("/orders/{id}");
    assert_eq!(service.request("DELETE", &path, &[BOB], "").await.0, 404);

    let events = service.events().await;
    let refused = event(&events, "DELETE", "/orders/{id}");
    assert_eq!(refused.tenantid.as_deref(), Some("globex"));
    assert_eq!(resource_id(refused), Some(id.as_str()));
    assert_eq!(status(refused), ("FAILURE", "WARNING"));
}

#[tokio::test]
async fn identity_headers_from_the_client_are_not_believed() {
    let service = Service::start("identity_headers_from_the_client_are_not_believed").await;
    let claim = [
        ALICE,
        ("tenantId", "globex"),
        ("actionLogUserId", "mallory"),
    ];
    let (code, _) = service
        .request("POST", "/orders", &claim, r#"{"item":"pen","quantity":5}"#)
        .await;
    assert_eq!(code, 201);

    let events = service.events().await;
    let created = event(&events, "POST", "/orders");
    assert_eq!(created.tenantid.as_deref(), Some("acme"));
    assert_eq!(
        created.subject.as_ref().unwrap().userid.as_deref(),
        Some("alice")
    );
    // The ignored claim is noted, not believed.
    let note = &created.eventdata.as_ref().unwrap().requestpayload["_identity"];
    assert!(note.to_json().contains("tenantId"), "{}", note.to_json());
}
