//! Typed helpers for the audit events people write every day, each mapped
//! consistently onto the v1 wire schema (no new fields on the wire):
//! action name, severity, status, `objectref`, compliance category and
//! payloads. The mapping is documented in `docs/catalogue.md`.

use crate::builder::{EventBuilder, Outcome, Severity};
use crate::model::AuditEvent;
use crate::value::{Map, Value};

/// Compliance categories the catalogue uses.
pub mod category {
    /// Authentication and access control.
    pub const ACCESS: &str = "ACCESS_CONTROL";
    /// Changes to business data.
    pub const DATA: &str = "DATA_CHANGE";
    /// Security incidents and detections.
    pub const SECURITY: &str = "SECURITY";
    /// System and configuration changes.
    pub const CONFIGURATION: &str = "CONFIGURATION";
    /// Spending and quotas.
    pub const FINANCIAL: &str = "FINANCIAL";
}

/// Action names of the catalogue. Events whose name starts with
/// `security.`, `auth.`, `apikey.` or `permission.` are security events.
pub mod action {
    /// A user signed in.
    pub const LOGIN: &str = "auth.login";
    /// A user signed out.
    pub const LOGOUT: &str = "auth.logout";
    /// An API key was created.
    pub const API_KEY_CREATE: &str = "apikey.create";
    /// An API key was deleted.
    pub const API_KEY_DELETE: &str = "apikey.delete";
    /// A permission was granted.
    pub const PERMISSION_GRANT: &str = "permission.grant";
    /// A permission was revoked.
    pub const PERMISSION_REVOKE: &str = "permission.revoke";
    /// Business data was created, changed or deleted.
    pub const DATA_CHANGE: &str = "data.change";
    /// A security incident or detection.
    pub const SECURITY_EVENT: &str = "security.event";
    /// System configuration was changed.
    pub const CONFIG_CHANGE: &str = "config.change";
    /// A budget or quota was exceeded.
    pub const BUDGET_EXCEEDED: &str = "budget.exceeded";
    /// A module was turned on.
    pub const MODULE_ENABLE: &str = "module.enable";
    /// A module was turned off.
    pub const MODULE_DISABLE: &str = "module.disable";
}

const SECURITY_PREFIXES: [&str; 4] = ["security.", "auth.", "apikey.", "permission."];

fn base(
    name: &str,
    severity: Severity,
    outcome: Outcome,
    resource: &str,
    category: &str,
) -> EventBuilder {
    EventBuilder::new()
        .action_name(name)
        .severity(severity)
        .status(outcome)
        .resource(resource)
        .compliance_category(category)
}

fn payload<const N: usize>(members: [(&str, Value); N]) -> Map {
    members
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
}

/// A successful login of `user_id`.
pub fn login_succeeded(user_id: &str) -> EventBuilder {
    base(
        action::LOGIN,
        Severity::Info,
        Outcome::Success,
        "session",
        category::ACCESS,
    )
    .user_id(user_id)
}

/// A failed login of `user_id`; `reason` goes to the request payload.
pub fn login_failed(user_id: &str, reason: &str) -> EventBuilder {
    base(
        action::LOGIN,
        Severity::Warning,
        Outcome::Failure,
        "session",
        category::ACCESS,
    )
    .user_id(user_id)
    .request_payload(payload([("reason", reason.into())]))
}

/// `user_id` logged out.
pub fn logout(user_id: &str) -> EventBuilder {
    base(
        action::LOGOUT,
        Severity::Info,
        Outcome::Success,
        "session",
        category::ACCESS,
    )
    .user_id(user_id)
}

/// `user_id` created the API key `key_id` (never the secret itself).
pub fn api_key_created(user_id: &str, key_id: &str) -> EventBuilder {
    base(
        action::API_KEY_CREATE,
        Severity::Info,
        Outcome::Success,
        "apikey",
        category::ACCESS,
    )
    .user_id(user_id)
    .resource_id(key_id)
    .sensitive(true)
}

/// `user_id` deleted the API key `key_id`.
pub fn api_key_deleted(user_id: &str, key_id: &str) -> EventBuilder {
    base(
        action::API_KEY_DELETE,
        Severity::Info,
        Outcome::Success,
        "apikey",
        category::ACCESS,
    )
    .user_id(user_id)
    .resource_id(key_id)
}

/// `actor` granted `permission` on `grantee` (a user or role id).
pub fn permission_granted(actor: &str, grantee: &str, permission: &str) -> EventBuilder {
    permission_change(action::PERMISSION_GRANT, actor, grantee, permission)
}

/// `actor` revoked `permission` from `grantee`.
pub fn permission_revoked(actor: &str, grantee: &str, permission: &str) -> EventBuilder {
    permission_change(action::PERMISSION_REVOKE, actor, grantee, permission)
}

fn permission_change(name: &str, actor: &str, grantee: &str, permission: &str) -> EventBuilder {
    base(
        name,
        Severity::Warning,
        Outcome::Success,
        "permission",
        category::ACCESS,
    )
    .user_id(actor)
    .resource_id(grantee)
    .request_payload(payload([
        ("grantee", grantee.into()),
        ("permission", permission.into()),
    ]))
}

/// A change to `resource`/`resource_id`: the request payload carries
/// `before`, `after` and `changed` (the sorted keys whose values differ,
/// including keys added or removed).
pub fn data_changed(resource: &str, resource_id: &str, before: Map, after: Map) -> EventBuilder {
    let mut changed: Vec<Value> = before
        .keys()
        .chain(after.keys())
        .filter(|key| before.get(*key) != after.get(*key))
        .map(|key| Value::from(key.as_str()))
        .collect();
    changed.dedup();
    changed.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    changed.dedup();
    base(
        action::DATA_CHANGE,
        Severity::Info,
        Outcome::Success,
        resource,
        category::DATA,
    )
    .resource_id(resource_id)
    .request_payload(payload([
        ("before", Value::Object(before)),
        ("after", Value::Object(after)),
        ("changed", Value::Array(changed)),
    ]))
}

/// A security detection or incident named `name` (e.g. `brute_force`),
/// with its details. Status is `FAILURE`: something went wrong.
pub fn security_event(name: &str, severity: Severity, details: Map) -> EventBuilder {
    let mut body = details;
    body.insert("event".into(), name.into());
    base(
        action::SECURITY_EVENT,
        severity,
        Outcome::Failure,
        "security",
        category::SECURITY,
    )
    .request_payload(body)
    .sensitive(true)
}

/// A system or configuration setting `key` changed from `before` to `after`.
pub fn config_changed(actor: &str, key: &str, before: Value, after: Value) -> EventBuilder {
    base(
        action::CONFIG_CHANGE,
        Severity::Warning,
        Outcome::Success,
        "config",
        category::CONFIGURATION,
    )
    .user_id(actor)
    .resource_id(key)
    .request_payload(payload([("before", before), ("after", after)]))
}

/// Spending on `budget_id` reached `actual` against `limit`.
pub fn budget_exceeded(budget_id: &str, limit: f64, actual: f64) -> EventBuilder {
    base(
        action::BUDGET_EXCEEDED,
        Severity::Warning,
        Outcome::Failure,
        "budget",
        category::FINANCIAL,
    )
    .resource_id(budget_id)
    .request_payload(payload([
        ("limit", Value::from_f64(limit)),
        ("actual", Value::from_f64(actual)),
    ]))
}

/// `actor` enabled the module `module`.
pub fn module_enabled(actor: &str, module: &str) -> EventBuilder {
    base(
        action::MODULE_ENABLE,
        Severity::Info,
        Outcome::Success,
        "module",
        category::CONFIGURATION,
    )
    .user_id(actor)
    .resource_id(module)
}

/// `actor` disabled the module `module`.
pub fn module_disabled(actor: &str, module: &str) -> EventBuilder {
    base(
        action::MODULE_DISABLE,
        Severity::Warning,
        Outcome::Success,
        "module",
        category::CONFIGURATION,
    )
    .user_id(actor)
    .resource_id(module)
}

impl AuditEvent {
    /// The event's severity, when it is one of the known levels.
    pub fn severity(&self) -> Option<Severity> {
        self.action
            .as_ref()
            .and_then(|a| a.severity.as_deref())
            .and_then(Severity::parse)
    }

    /// Authentication, API keys, permissions and security detections.
    pub fn is_security_event(&self) -> bool {
        let name = self.action.as_ref().and_then(|a| a.name.as_deref());
        let category = self
            .eventdata
            .as_ref()
            .and_then(|d| d.metadata.as_ref())
            .and_then(|m| m.compliancecategory.as_deref());
        name.is_some_and(|n| SECURITY_PREFIXES.iter().any(|p| n.starts_with(p)))
            || category == Some(category::SECURITY)
    }

    /// `ERROR` or `CRITICAL`.
    pub fn is_high_severity(&self) -> bool {
        self.severity().is_some_and(|s| s >= Severity::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(members: &[(&str, i64)]) -> Map {
        members
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect()
    }

    #[test]
    fn login_failure_is_a_warning_security_event() {
        let event = login_failed("alice", "bad password").build();
        let action = event.action.as_ref().unwrap();
        assert_eq!(action.name.as_deref(), Some("auth.login"));
        assert_eq!(action.status.as_deref(), Some("FAILURE"));
        assert_eq!(event.severity(), Some(Severity::Warning));
        assert!(event.is_security_event());
        assert!(!event.is_high_severity());
        assert!(event
            .canonical_json()
            .contains(r#""requestpayload":{"reason":"bad password"}"#));
    }

    #[test]
    fn data_change_lists_changed_added_and_removed_keys() {
        let before = map(&[("a", 1), ("b", 2), ("gone", 3)]);
        let after = map(&[("a", 1), ("b", 5), ("new", 4)]);
        let event = data_changed("orders", "o-1", before, after).build();
        let canonical = event.canonical_json();
        assert!(
            canonical.contains(r#""changed":["b","gone","new"]"#),
            "{canonical}"
        );
        assert!(canonical.contains(r#""resourceid":"o-1""#));
        assert!(!event.is_security_event());
    }

    #[test]
    fn every_helper_fills_the_same_sections() {
        let events = [
            login_succeeded("u").build(),
            logout("u").build(),
            api_key_created("u", "k").build(),
            api_key_deleted("u", "k").build(),
            permission_granted("u", "g", "read").build(),
            permission_revoked("u", "g", "read").build(),
            data_changed("r", "1", Map::new(), Map::new()).build(),
            security_event("brute_force", Severity::Critical, Map::new()).build(),
            config_changed("u", "k", Value::from(1), Value::from(2)).build(),
            budget_exceeded("b", 10.0, 12.5).build(),
            module_enabled("u", "m").build(),
            module_disabled("u", "m").build(),
        ];
        for event in &events {
            let action = event.action.as_ref().unwrap();
            assert!(
                action.name.is_some() && action.status.is_some(),
                "{event:?}"
            );
            assert!(event.severity().is_some(), "{event:?}");
            assert!(event.objectref.as_ref().unwrap().resource.is_some());
            let metadata = event.eventdata.as_ref().unwrap().metadata.as_ref().unwrap();
            assert!(metadata.compliancecategory.is_some());
        }
        assert!(events[7].is_high_severity() && events[7].is_security_event());
        assert_eq!(events.iter().filter(|e| e.is_security_event()).count(), 7);
    }
}
