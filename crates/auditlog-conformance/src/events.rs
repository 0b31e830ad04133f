//! Checks of events a service captured (JSON lines): each fits the schema,
//! verifies (hash, and signature when a key is given) in its strict
//! published form, and keeps the promises of the routes the service stated.

use auditlog_core::AuditEvent;
use auditlog_seal::{verify_json, SigningKey};

use crate::routes::{route_problems, Route};
use crate::schema::{load, Schema};
use crate::Verdict;

/// Captured events checked so far, and which stated routes they exercised.
pub(crate) struct EventChecks<'a> {
    schema: &'a Schema,
    key: Option<&'a SigningKey>,
    routes: &'a [Route],
    /// Events seen per stated route, by index into `routes`.
    seen: Vec<usize>,
}

impl<'a> EventChecks<'a> {
    pub(crate) fn new(
        schema: &'a Schema,
        key: Option<&'a SigningKey>,
        routes: &'a [Route],
    ) -> Self {
        EventChecks {
            schema,
            key,
            routes,
            seen: vec![0; routes.len()],
        }
    }

    /// Checks every line of `text`, one event per line, each a case named
    /// `{prefix}line N`; blank lines are skipped. Returns how many events
    /// there were.
    pub(crate) fn check_lines(
        &mut self,
        text: &[u8],
        prefix: &str,
        verdict: &mut Verdict,
    ) -> usize {
        let mut events = 0;
        for (index, line) in text.split(|&b| b == b'\n').enumerate() {
            let name = format!("{prefix}line {}", index + 1);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Ok(line) = std::str::from_utf8(line) else {
                events += 1;
                verdict.record(&name, vec!["not UTF-8".into()]);
                continue;
            };
            if line.trim().is_empty() {
                continue;
            }
            events += 1;
            verdict.record(&name, self.check_line(line));
        }
        events
    }

    fn check_line(&mut self, line: &str) -> Vec<String> {
        let mut problems = Vec::new();
        // Strict: the line must be exactly its published form, so no member
        // goes unauthenticated.
        if let Err(e) = verify_json(line, self.key) {
            problems.push(e.to_string());
        }
        if let Ok(value) = load(line) {
            problems.extend(
                self.schema
                    .errors(&value)
                    .into_iter()
                    .map(|e| format!("schema: {e}")),
            );
        }
        if let Ok(parsed) = AuditEvent::parse(line) {
            let (route, route_problems) = route_problems(self.routes, &parsed.event);
            if let Some(route) = route {
                self.seen[route] += 1;
            }
            problems.extend(route_problems);
        }
        problems
    }

    /// Records each stated route as a case: passed when some captured event
    /// exercised it.
    pub(crate) fn record_coverage(&self, verdict: &mut Verdict) {
        for (route, seen) in self.routes.iter().zip(&self.seen) {
            let problems = match seen {
                0 => vec!["no captured event: exercise it in the service's tests".to_owned()],
                _ => Vec::new(),
            };
            verdict.record(&format!("route {}", route.label()), problems);
        }
    }
}

#[cfg(test)]
mod tests {
    use auditlog_seal::seal;

    use super::*;

    fn check(lines: &[u8], key: Option<&SigningKey>, routes: &[Route]) -> Verdict {
        let schema = Schema::new().unwrap();
        let mut checks = EventChecks::new(&schema, key, routes);
        let mut verdict = Verdict::default();
        checks.check_lines(lines, "", &mut verdict);
        checks.record_coverage(&mut verdict);
        verdict
    }

    #[test]
    fn events_mode_flags_tampered_unsigned_and_unknown_lines() {
        let key = SigningKey::new("service-key").unwrap();
        let mut event = AuditEvent::builder()
            .tenant_id("tenant-0")
            .action_name("orders.create")
            .build();
        seal(&mut event, Some(&key));
        let good = event.published_json();
        let tampered = good.replace("tenant-0", "tenant-1");
        let unknown = good.replacen('{', r#"{"approved":true,"#, 1);
        let mut unsigned_event = event.clone();
        seal(&mut unsigned_event, None);
        let unsigned = unsigned_event.published_json();
        let lines = [
            good.as_str(),
            "",
            tampered.as_str(),
            unknown.as_str(),
            unsigned.as_str(),
            "{not json",
        ]
        .join("\n")
        .into_bytes();

        let verdict = check(&lines, Some(&key), &[]);
        assert_eq!((verdict.passed, verdict.failed), (1, 4), "{verdict:?}");
        let failures = verdict.failures.join("\n");
        assert!(
            failures.contains("FAIL line 3: hash mismatch"),
            "{failures}"
        );
        assert!(
            failures.contains("FAIL line 4: not in published form: differs from byte 3"),
            "{failures}"
        );
        assert!(failures.contains("FAIL line 4: schema: / "), "{failures}");
        assert!(failures.contains("FAIL line 5: no signature"), "{failures}");
        assert!(
            failures.contains("FAIL line 6: event: malformed JSON"),
            "{failures}"
        );

        // Without a key only the hashes are checked.
        let verdict = check(&lines, None, &[]);
        assert_eq!((verdict.passed, verdict.failed), (2, 3), "{verdict:?}");
    }

    #[test]
    fn stated_routes_are_matched_required_and_covered() {
        let sealed = |builder: auditlog_core::EventBuilder| {
            let mut event = builder.build();
            seal(&mut event, None);
            event.published_json()
        };
        let created = sealed(
            AuditEvent::builder()
                .method("POST")
                .action_name("/orders")
                .status("SUCCESS")
                .tenant_id("acme"),
        );
        let anonymous = sealed(
            AuditEvent::builder()
                .method("POST")
                .action_name("/orders")
                .status("SUCCESS"),
        );
        let raw_path = sealed(
            AuditEvent::builder()
                .method("GET")
                .action_name("/orders/42")
                .status("SUCCESS"),
        );
        let lines = [created, anonymous, raw_path].join("\n").into_bytes();
        let routes = [
            Route::new("POST", "/orders").tenant_id(),
            Route::new("GET", "/orders/{id}"),
        ];
        let verdict = check(&lines, None, &routes);
        assert_eq!(
            verdict.failures,
            [
                "FAIL line 2: POST /orders: a successful event has no tenantid",
                "FAIL line 3: `GET /orders/42` is no stated route (a raw path instead of a route template, or a route to state)",
                "FAIL route GET /orders/{id}: no captured event: exercise it in the service's tests",
            ]
        );
        // Line 1 and the route POST /orders pass.
        assert_eq!((verdict.passed, verdict.failed), (2, 3));
    }
}
