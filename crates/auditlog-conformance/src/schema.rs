//! The JSON Schema of a published event, compiled in, and how documents are
//! loaded for it.

use jsonschema::Validator;
use serde_json::Value as Json;

use crate::Error;

/// The JSON Schema (draft 2020-12) of a published v1 event, as text: what
/// every captured event must fit. Its `additionalProperties` are false at
/// every level because no hash covers members the v1 model does not know.
pub const SCHEMA: &str = include_str!("../schema/audit-event.schema.json");

/// The compiled [`SCHEMA`].
#[derive(Debug)]
pub(crate) struct Schema {
    validator: Validator,
}

impl Schema {
    /// Compiles [`SCHEMA`], itself checked against the draft 2020-12
    /// meta-schema.
    pub(crate) fn new() -> Result<Self, Error> {
        let broken = |message: String| Error::Suite { message };
        let schema: Json =
            serde_json::from_str(SCHEMA).map_err(|e| broken(format!("schema: {e}")))?;
        let validator = jsonschema::draft202012::new(&schema)
            .map_err(|e| broken(format!("not a valid schema: {e}")))?;
        Ok(Schema { validator })
    }

    /// Whether `value` fits.
    pub(crate) fn accepts(&self, value: &Json) -> bool {
        self.validator.is_valid(value)
    }

    /// Every way `value` does not fit, each as `<instance path> <message>`.
    pub(crate) fn errors(&self, value: &Json) -> Vec<String> {
        self.validator
            .iter_errors(value)
            .map(|e| {
                let at = e.instance_path.as_str();
                format!("{} {e}", if at.is_empty() { "/" } else { at })
            })
            .collect()
    }

    /// Every way the JSON `text` does not fit, or why it does not load.
    pub(crate) fn text_errors(&self, text: &str) -> Vec<String> {
        match load(text) {
            Ok(value) => self.errors(&value),
            Err(e) => vec![format!("not JSON: {e}")],
        }
    }
}

/// JSON text as a schema instance. Read by core's strict parser (so NaN,
/// overflowing doubles and lone surrogates do not load, and doubles are
/// rounded correctly, which serde_json without `float_roundtrip` does not
/// do near the top of the range: it refuses `1.7976931348623158e308`), then
/// handed to serde_json in core's own unambiguous spelling.
pub(crate) fn load(text: &str) -> Result<Json, String> {
    let value = auditlog_core::parse_value(text).map_err(|e| e.to_string())?;
    serde_json::from_str(&value.to_json()).map_err(|e| format!("serde_json: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_choices() {
        let schema = Schema::new().unwrap();
        let ok = |text: &str| schema.text_errors(text).is_empty();
        let hex = "0123456789abcdef".repeat(4);
        assert!(ok(&format!(
            r#"{{"security":{{"hash":"{hex}","signature":"{hex}"}}}}"#
        )));
        assert!(!ok(&format!(
            r#"{{"security":{{"hash":"{}"}}}}"#,
            hex.to_uppercase()
        )));
        assert!(!ok(r#"{"security":{"hash":"abc"}}"#));
        assert!(ok(&format!(
            r#"{{"security":{{"link":"{hex}{hex}","seq":1}}}}"#
        )));
        assert!(!ok(r#"{"security":{"seq":1.5}}"#));
        // Any string for severity and status, as the Python model takes.
        assert!(ok(r#"{"action":{"severity":"DEBUG","status":"PENDING"}}"#));
        // Members no hash covers are refused, at every level.
        assert!(!ok(r#"{"approved":true}"#));
        assert!(!ok(r#"{"eventdata":{"metadata":{"owner":"x"}}}"#));
        // Payloads are free-form objects.
        assert!(ok(
            r#"{"eventdata":{"requestpayload":{"anything":[{"goes":null}]}}}"#
        ));
        // Not JSON for the schema either.
        assert!(!ok(r#"{"eventdata":{"requestpayload":{"x":NaN}}}"#));
    }
}
