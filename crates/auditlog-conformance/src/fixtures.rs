//! The wire-format fixtures, compiled in from `fixtures/` (see `build.rs`
//! and `fixtures/README.md`), and the checks each one goes through: core
//! (parse, canonical text), seal (hash, signature, seal and verify) and the
//! schema.

use auditlog_core::AuditEvent;
use auditlog_seal::{compute_hash, seal, sign, verify_json, SigningKey};
use serde_json::Value as Json;

use crate::diff::diff;
use crate::schema::{load, Schema};
use crate::{Error, Verdict};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/fixture_files.rs"));
}

/// The fixture signing key: the first line of `fixtures/KEY`.
const KEY: &str = include_str!("../fixtures/KEY");

/// Fewer fixtures than this is a broken suite, not a pass.
const MIN_VALID: usize = 60;
const MIN_INVALID: usize = 15;

/// Runs every embedded fixture. `Err` when the suite itself is broken (the
/// schema or the key unusable, too few fixtures), not when a fixture fails.
pub(crate) fn run_fixtures(schema: &Schema) -> Result<Verdict, Error> {
    let key = SigningKey::new(KEY.lines().next().unwrap_or("").trim_end()).ok_or_else(|| {
        Error::Suite {
            message: "fixtures/KEY is empty".into(),
        }
    })?;
    run_fixture_files(embedded::FILES, &key, schema)
}

/// Runs the fixtures among `files` (`("valid/NAME", text)`, by name).
fn run_fixture_files(
    files: &[(&str, &str)],
    key: &SigningKey,
    schema: &Schema,
) -> Result<Verdict, Error> {
    let mut verdict = Verdict::default();
    let valid = fixtures(files, "valid", &mut verdict);
    let invalid = fixtures(files, "invalid", &mut verdict);
    if valid.len() < MIN_VALID || invalid.len() < MIN_INVALID {
        return Err(Error::Suite {
            message: format!(
                "found {} valid and {} invalid fixtures; the suite needs at least {MIN_VALID} and {MIN_INVALID}",
                valid.len(),
                invalid.len()
            ),
        });
    }
    for fixture in &valid {
        verdict.record(&fixture.name, check_valid(fixture, key, schema));
    }
    for fixture in &invalid {
        verdict.record(&fixture.name, check_invalid(fixture, schema));
    }
    Ok(verdict)
}

/// One fixture: its input and its expected file.
struct Fixture<'a> {
    name: String,
    input: &'a str,
    expected: Json,
}

/// The `kind/*.json` inputs among `files`, each with its
/// `*.expected.json`; an input or expected file without its pair is
/// recorded as a failure.
fn fixtures<'a>(files: &[(&str, &'a str)], kind: &str, verdict: &mut Verdict) -> Vec<Fixture<'a>> {
    let prefix = format!("{kind}/");
    let of_kind: Vec<(&str, &str)> = files
        .iter()
        .filter_map(|(name, text)| Some((name.strip_prefix(&prefix)?, *text)))
        .collect();
    let text_of = |name: &str| of_kind.iter().find(|(n, _)| *n == name).map(|(_, t)| *t);
    let mut found = Vec::new();
    for (name, input) in &of_kind {
        let label = format!("{kind}/{name}");
        if let Some(stem) = name.strip_suffix(".expected.json") {
            if text_of(&format!("{stem}.json")).is_none() {
                verdict.record(&label, vec!["no input file".into()]);
            }
            continue;
        }
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        let expected = text_of(&format!("{stem}.expected.json"))
            .ok_or_else(|| "cannot read it: no such file".to_owned())
            .and_then(|text| serde_json::from_str::<Json>(text).map_err(|e| e.to_string()));
        match expected {
            Ok(expected) => found.push(Fixture {
                name: label,
                input,
                expected,
            }),
            Err(e) => verdict.record(&label, vec![format!("expected file: {e}")]),
        }
    }
    found
}

fn expected_str<'a>(expected: &'a Json, field: &str) -> Result<&'a str, String> {
    expected
        .get(field)
        .and_then(Json::as_str)
        .ok_or_else(|| format!("expected file has no string `{field}`"))
}

fn schema_invalid(expected: &Json) -> bool {
    expected.get("schema_invalid").and_then(Json::as_bool) == Some(true)
}

/// Parse, canonical text, hash, signature, seal/verify round trip, schema.
fn check_valid(fixture: &Fixture<'_>, key: &SigningKey, schema: &Schema) -> Vec<String> {
    let mut problems = Vec::new();
    let expected = &fixture.expected;
    let (canonical, hash, signature) = match (
        expected_str(expected, "canonical"),
        expected_str(expected, "hash"),
        expected_str(expected, "signature"),
    ) {
        (Ok(c), Ok(h), Ok(s)) => (c, h, s),
        (c, h, s) => {
            return [c.err(), h.err(), s.err()].into_iter().flatten().collect();
        }
    };
    let mut event = match AuditEvent::parse(fixture.input) {
        Ok(parsed) => parsed.event,
        Err(e) => return vec![format!("core rejects it: {e}")],
    };
    let actual_canonical = event.canonical_json();
    if actual_canonical != canonical {
        problems.push(format!("canonical: {}", diff(canonical, &actual_canonical)));
    }
    let actual_hash = compute_hash(&event);
    if actual_hash != hash {
        problems.push(format!("hash: {}", diff(hash, &actual_hash)));
    }
    // The signature over the expected hash, so a canonical mismatch is not
    // reported three times.
    let actual_signature = sign(hash, key);
    if actual_signature != signature {
        problems.push(format!("signature: {}", diff(signature, &actual_signature)));
    }

    // Sealed and published, it verifies with the same hash, reads back to
    // the same canonical text and fits the schema.
    seal(&mut event, Some(key));
    let published = event.published_json();
    match verify_json(&published, Some(key)) {
        Ok(verified) => {
            if verified.event.canonical_json() != actual_canonical {
                problems.push("published form reads back to another canonical text".into());
            }
        }
        Err(e) => problems.push(format!("sealed event does not verify: {e}")),
    }
    let sealed_hash = event.security.as_ref().and_then(|s| s.hash.as_deref());
    if sealed_hash != Some(hash) {
        problems.push(format!(
            "seal wrote hash {sealed_hash:?}, expected {hash:?}"
        ));
    }
    problems.extend(
        schema
            .text_errors(&published)
            .into_iter()
            .map(|e| format!("schema rejects the published form: {e}")),
    );

    // The input itself against the schema.
    match load(fixture.input) {
        Err(e) => problems.push(format!("cannot load the input for the schema: {e}")),
        Ok(input) => {
            let errors = schema.errors(&input);
            match (schema_invalid(expected), errors.is_empty()) {
                (false, false) => {
                    problems.push(format!("schema rejects it: {}", errors.join("; ")))
                }
                (true, true) => problems.push("schema accepts it (schema_invalid is set)".into()),
                _ => {}
            }
        }
    }
    problems
}

/// The exact error and path from core; the schema's verdict.
fn check_invalid(fixture: &Fixture<'_>, schema: &Schema) -> Vec<String> {
    let mut problems = Vec::new();
    let expected = &fixture.expected;
    let (error, path) = match (
        expected_str(expected, "error"),
        expected_str(expected, "path"),
    ) {
        (Ok(e), Ok(p)) => (e, p),
        (e, p) => return [e.err(), p.err()].into_iter().flatten().collect(),
    };
    match AuditEvent::parse(fixture.input) {
        Ok(parsed) => problems.push(format!(
            "core accepts it; canonical {}",
            parsed.event.canonical_json()
        )),
        Err(e) => {
            let message = e.to_string();
            if message != error {
                problems.push(format!("error: {}", diff(error, &message)));
            }
            if e.path() != path {
                problems.push(format!("path: {}", diff(path, e.path())));
            }
        }
    }
    // Schema-invalid cases must load and be rejected; the others must either
    // not load as JSON at all or be cases the schema cannot express (then it
    // accepts them, which documents that limit).
    match (schema_invalid(expected), load(fixture.input)) {
        (true, Err(e)) => problems.push(format!(
            "schema_invalid is set but it does not load as JSON: {e}"
        )),
        (true, Ok(input)) => {
            if schema.accepts(&input) {
                problems.push("schema accepts it (schema_invalid is set)".into());
            }
        }
        (false, Ok(input)) => {
            let errors = schema.errors(&input);
            if !errors.is_empty() {
                problems.push(format!(
                    "schema rejects it but schema_invalid is not set: {}",
                    errors.join("; ")
                ));
            }
        }
        (false, Err(_)) => {}
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::new().unwrap()
    }

    /// Plain `cargo test` runs the whole suite.
    #[test]
    fn conformance_fixtures_pass() {
        let verdict = run_fixtures(&schema()).unwrap();
        assert!(
            verdict.failed == 0,
            "{} failed:\n{}",
            verdict.failed,
            verdict.failures.join("\n")
        );
        assert!(verdict.passed >= MIN_VALID + MIN_INVALID);
    }

    #[test]
    fn every_fixture_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut on_disk = Vec::new();
        for kind in ["valid", "invalid"] {
            for entry in std::fs::read_dir(dir.join(kind)).unwrap() {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                on_disk.push(format!("{kind}/{name}"));
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> =
            embedded::FILES.iter().map(|(n, _)| n.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }

    #[test]
    fn too_few_fixtures_is_a_broken_suite_and_a_lone_file_a_failure() {
        let key = SigningKey::new("k").unwrap();
        let files = [
            ("valid/001-x.expected.json", "{}"),
            ("invalid/001-y.json", "{"),
        ];
        let error = run_fixture_files(&files, &key, &schema()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("found 0 valid and 0 invalid fixtures"),
            "{error}"
        );
        let mut verdict = Verdict::default();
        assert!(fixtures(&files, "valid", &mut verdict).is_empty());
        assert!(fixtures(&files, "invalid", &mut verdict).is_empty());
        assert_eq!(
            verdict.failures,
            [
                "FAIL valid/001-x.expected.json: no input file",
                "FAIL invalid/001-y.json: expected file: cannot read it: no such file"
            ]
        );
    }

    #[test]
    fn a_wrong_expectation_is_reported_with_a_diff() {
        let key = SigningKey::new("k").unwrap();
        let fixture = Fixture {
            name: "valid/x.json".into(),
            input: r#"{"id":"x","eventdata":{"requestpayload":{"a":1e16}}}"#,
            expected: serde_json::json!({
                "canonical": r#"{"eventdata":{"requestpayload":{"a":1e16}},"id":"x"}"#,
                "hash": "00",
                "signature": "00",
            }),
        };
        let problems = check_valid(&fixture, &key, &schema());
        assert!(
            problems[0].starts_with(
                "canonical: differs at char 38: expected `…ata\":{\"requestpayload\":{\"a\":1e16}}"
            ),
            "{problems:?}"
        );
        assert!(problems[0].contains("1e+16"), "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("hash:")));
        assert!(problems.iter().any(|p| p.starts_with("signature:")));

        let fixture = Fixture {
            name: "invalid/x.json".into(),
            input: r#"{"id":2}"#,
            expected: serde_json::json!({"error": "id: wrong", "path": "id"}),
        };
        let problems = check_invalid(&fixture, &schema());
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("error: differs at char 4"));
        assert!(problems[1].starts_with("schema rejects it but schema_invalid is not set"));
    }
}
