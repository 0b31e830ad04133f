//! Allow-list capture: only the named fields of a body are kept.

use std::collections::BTreeMap;
use std::sync::Arc;

use auditlog_core::{Map, Value};

/// Captures only the named fields of a route's request and response bodies
/// (with [capture](crate::AuditLayer::capture_payloads) on); everything else
/// is left out of the event. Added as the route's layer, inside the audit
/// layer, or for one request with
/// [`AuditContext::capture_only`](crate::AuditContext::capture_only).
///
/// A field is a key of the body's top-level object, or a dotted path into
/// nested objects (`customer.id`); a path through an array applies to each
/// of its elements. The kept values are still [redacted](crate#redaction).
/// A form body is filtered like an object; a body that is neither (a bare
/// JSON scalar, text, a truncated body) is described, never stored, and raw
/// text is never stored on such a route.
///
/// ```
/// use auditlog_axum::{AuditLayer, CaptureOnly};
/// use auditlog_sink::MemorySink;
/// use axum::{routing::post, Router};
///
/// let app: Router = Router::new()
///     .route(
///         "/payments",
///         post(|| async { "paid" }).layer(CaptureOnly::fields(["amount", "currency", "payee.id"])),
///     )
///     .layer(AuditLayer::new(MemorySink::default()).capture_payloads(true));
/// # let _ = app;
/// ```
#[derive(Debug, Clone)]
pub struct CaptureOnly {
    fields: Arc<Fields>,
}

/// Field names, each with the fields kept under it (none: all of it).
#[derive(Debug, Default)]
struct Fields(BTreeMap<String, Fields>);

impl CaptureOnly {
    /// Keeps only `fields` (dotted paths for nested fields).
    pub fn fields<I, F>(fields: I) -> Self
    where
        I: IntoIterator<Item = F>,
        F: AsRef<str>,
    {
        let mut root = Fields::default();
        for field in fields {
            let mut node = &mut root;
            for segment in field.as_ref().split('.') {
                node = node.0.entry(segment.to_owned()).or_default();
            }
        }
        CaptureOnly {
            fields: Arc::new(root),
        }
    }

    /// Keeps the named fields of `map`, dropping the rest.
    pub(crate) fn filter_map(&self, map: Map) -> Map {
        self.fields.filter_map(map)
    }

    /// A non-object body filtered: arrays element by element; `None` for a
    /// scalar, which names no field.
    pub(crate) fn filter_value(&self, value: Value) -> Option<Value> {
        self.fields.filter(value)
    }
}

impl Fields {
    fn filter_map(&self, mut map: Map) -> Map {
        let mut kept = Map::new();
        for (name, below) in &self.0 {
            let Some(value) = map.remove(name) else {
                continue;
            };
            let value = if below.0.is_empty() {
                Some(value)
            } else {
                below.filter(value)
            };
            if let Some(value) = value {
                kept.insert(name.clone(), value);
            }
        }
        kept
    }

    fn filter(&self, value: Value) -> Option<Value> {
        match value {
            Value::Object(map) => Some(Value::Object(self.filter_map(map))),
            Value::Array(items) => Some(Value::Array(
                items.into_iter().filter_map(|v| self.filter(v)).collect(),
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auditlog_core::parse_value;

    #[test]
    fn only_named_paths_are_kept() {
        let only = CaptureOnly::fields(["amount", "payee.id", "items.sku"]);
        let body = parse_value(
            r#"{"amount":5,"note":"n","payee":{"id":"p","iban":"x"},"items":[{"sku":"a","price":1},2]}"#,
        )
        .unwrap();
        let kept = only.filter_value(body).unwrap();
        assert_eq!(
            kept.to_json(),
            r#"{"amount":5,"items":[{"sku":"a"}],"payee":{"id":"p"}}"#
        );
        assert_eq!(only.filter_value(Value::from("x")), None);
    }
}
