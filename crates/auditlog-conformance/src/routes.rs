//! What a service states about the events of each of its routes, checked
//! against the events it captured.

use std::fmt;
use std::sync::Arc;

use auditlog_core::AuditEvent;

/// A route of the service and what its events must carry.
///
/// Stating routes makes three promises checkable: every captured event is
/// of a stated route — its `action.name` is the route *template*
/// (`/orders/{id}`, not `/orders/42`) and `action.method` the method — so
/// no event is named after a raw path; every stated route was exercised by
/// the capture; and each route's events carry what it requires.
///
/// [`tenant_id`](Self::tenant_id), [`user_id`](Self::user_id) and
/// [`resource_id`](Self::resource_id) are required of the route's
/// *successful* events (`action.status` `SUCCESS`): a request refused before
/// the caller is known (a 401) is audited too, without them.
/// [`check`](Self::check) applies to every event of the route.
///
/// ```
/// use auditlog_conformance::Route;
///
/// let routes = [
///     Route::new("GET", "/orders/{id}").resource_id(),
///     Route::new("POST", "/orders").tenant_id().user_id(),
///     Route::new("DELETE", "/orders/{id}")
///         .tenant_id()
///         .check("is at least a warning", |event| {
///             event.action.as_ref().and_then(|a| a.severity.as_deref()) != Some("INFO")
///         }),
/// ];
/// # drop(routes);
/// ```
#[derive(Clone)]
pub struct Route {
    method: String,
    template: String,
    required: Vec<Required>,
    checks: Vec<Check>,
}

/// A field the route's successful events must carry, not empty: its wire
/// name and how to read it.
#[derive(Clone, Copy)]
struct Required {
    field: &'static str,
    value: fn(&AuditEvent) -> Option<&str>,
}

impl fmt::Debug for Required {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.field)
    }
}

/// A condition, named, on every event of a route.
#[derive(Clone)]
struct Check {
    description: String,
    holds: Arc<dyn Fn(&AuditEvent) -> bool + Send + Sync>,
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let checks: Vec<&str> = self.checks.iter().map(|c| c.description.as_str()).collect();
        f.debug_struct("Route")
            .field("method", &self.method)
            .field("template", &self.template)
            .field("required", &self.required)
            .field("checks", &checks)
            .finish()
    }
}

impl Route {
    /// The route `method template`, as its events name it: `action.method`
    /// (e.g. `POST`) and `action.name` (the route template, e.g.
    /// `/orders/{id}`).
    pub fn new(method: impl Into<String>, template: impl Into<String>) -> Self {
        Route {
            method: method.into(),
            template: template.into(),
            required: Vec::new(),
            checks: Vec::new(),
        }
    }

    /// Its successful events carry a `tenantid`.
    pub fn tenant_id(mut self) -> Self {
        self.required.push(Required {
            field: "tenantid",
            value: |event| event.tenantid.as_deref(),
        });
        self
    }

    /// Its successful events carry a `subject.userid`.
    pub fn user_id(mut self) -> Self {
        self.required.push(Required {
            field: "subject.userid",
            value: |event| event.subject.as_ref()?.userid.as_deref(),
        });
        self
    }

    /// Its successful events carry an `objectref.resourceid`.
    pub fn resource_id(mut self) -> Self {
        self.required.push(Required {
            field: "objectref.resourceid",
            value: |event| event.objectref.as_ref()?.resourceid.as_deref(),
        });
        self
    }

    /// Every event of the route satisfies `holds`; `description` names the
    /// condition in failures.
    pub fn check(
        mut self,
        description: impl Into<String>,
        holds: impl Fn(&AuditEvent) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.checks.push(Check {
            description: description.into(),
            holds: Arc::new(holds),
        });
        self
    }

    /// `METHOD template`, as failures name the route.
    pub(crate) fn label(&self) -> String {
        format!("{} {}", self.method, self.template)
    }

    /// Whether `event` is one of this route's.
    pub(crate) fn matches(&self, event: &AuditEvent) -> bool {
        let action = event.action.as_ref();
        action.and_then(|a| a.method.as_deref()) == Some(self.method.as_str())
            && action.and_then(|a| a.name.as_deref()) == Some(self.template.as_str())
    }

    /// What `event`, one of this route's, lacks.
    pub(crate) fn problems(&self, event: &AuditEvent) -> Vec<String> {
        let mut problems = Vec::new();
        let successful = event.action.as_ref().and_then(|a| a.status.as_deref()) == Some("SUCCESS");
        if successful {
            for required in &self.required {
                if (required.value)(event).is_none_or(str::is_empty) {
                    problems.push(format!(
                        "{}: a successful event has no {}",
                        self.label(),
                        required.field
                    ));
                }
            }
        }
        for check in &self.checks {
            if !(check.holds)(event) {
                problems.push(format!("{}: not {}", self.label(), check.description));
            }
        }
        problems
    }
}

/// The problems of `event` against the stated `routes`, and which route it
/// matched; nothing when no route is stated.
pub(crate) fn route_problems(routes: &[Route], event: &AuditEvent) -> (Option<usize>, Vec<String>) {
    if routes.is_empty() {
        return (None, Vec::new());
    }
    match routes.iter().position(|route| route.matches(event)) {
        Some(index) => (Some(index), routes[index].problems(event)),
        None => {
            let action = event.action.as_ref();
            let method = action
                .and_then(|a| a.method.as_deref())
                .unwrap_or("(no method)");
            let name = action
                .and_then(|a| a.name.as_deref())
                .unwrap_or("(no action.name)");
            (
                None,
                vec![format!(
                    "`{method} {name}` is no stated route (a raw path instead of a route template, or a route to state)"
                )],
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(method: &str, name: &str, status: &str) -> AuditEvent {
        AuditEvent::builder()
            .method(method)
            .action_name(name)
            .status(status)
            .build()
    }

    #[test]
    fn events_are_matched_by_method_and_template() {
        let routes = [
            Route::new("GET", "/orders/{id}"),
            Route::new("POST", "/orders").tenant_id().user_id(),
        ];
        let (matched, problems) = route_problems(&routes, &event("GET", "/orders/{id}", "SUCCESS"));
        assert_eq!((matched, problems.len()), (Some(0), 0));
        let (matched, problems) = route_problems(&routes, &event("GET", "/orders/42", "SUCCESS"));
        assert_eq!(matched, None);
        assert!(
            problems[0].starts_with("`GET /orders/42` is no stated route"),
            "{problems:?}"
        );
        assert_eq!(
            route_problems(&[], &event("GET", "/x", "SUCCESS")),
            (None, vec![])
        );
    }

    #[test]
    fn required_fields_bind_successful_events_and_checks_every_event() {
        let route = Route::new("POST", "/orders")
            .tenant_id()
            .user_id()
            .resource_id()
            .check("a POST", |e| {
                e.action.as_ref().unwrap().method.as_deref() == Some("POST")
            });
        assert_eq!(
            route.problems(&event("POST", "/orders", "SUCCESS")),
            [
                "POST /orders: a successful event has no tenantid",
                "POST /orders: a successful event has no subject.userid",
                "POST /orders: a successful event has no objectref.resourceid",
            ]
        );
        // A refusal (the caller unknown) need not carry them.
        assert!(route
            .problems(&event("POST", "/orders", "FAILURE"))
            .is_empty());
        let full = AuditEvent::builder()
            .method("POST")
            .action_name("/orders")
            .status("SUCCESS")
            .tenant_id("acme")
            .user_id("alice")
            .resource_id("7")
            .build();
        assert!(route.problems(&full).is_empty());
        let failing = route.clone().check("never", |_| false);
        assert_eq!(failing.problems(&full), ["POST /orders: not never"]);
        assert!(format!("{failing:?}").contains("\"never\""));
    }
}
