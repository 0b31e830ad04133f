//! `cargo xtask conformance`: the fixtures of `tests/fixtures/conformance/`
//! through `auditlog-core` (parse, canonical text), `auditlog-seal` (hash,
//! signature, seal and verify) and `docs/schema/audit-event.schema.json`;
//! with `--events FILE`, events captured from a service through the schema
//! and `verify_json`.
//!
//! Output: a line per failed check (`FAIL <fixture>: <check>: <diff>`), then
//! `conformance: N passed, M failed` and, alone on the last line,
//! `N passed, M failed`.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use auditlog_core::AuditEvent;
use auditlog_seal::{compute_hash, seal, sign, verify_json, SigningKey};
use jsonschema::Validator;
use serde_json::Value as Json;

use crate::project_root;

/// Fewer fixtures than this is an error, not a pass.
pub const MIN_VALID: usize = 60;
pub const MIN_INVALID: usize = 15;

/// What a run found: a line per failed check and the counts.
#[derive(Debug, Default)]
pub struct Outcome {
    pub passed: usize,
    pub failed: usize,
    pub failures: Vec<String>,
}

impl Outcome {
    fn record(&mut self, name: &str, problems: Vec<String>) {
        if problems.is_empty() {
            self.passed += 1;
        } else {
            self.failed += 1;
            self.failures
                .extend(problems.into_iter().map(|p| format!("FAIL {name}: {p}")));
        }
    }

    /// Prints the failures and the summary; `Err` when anything failed.
    fn report(&self) -> Result<(), String> {
        for line in &self.failures {
            println!("{line}");
        }
        println!(
            "conformance: {} passed, {} failed",
            self.passed, self.failed
        );
        println!("{} passed, {} failed", self.passed, self.failed);
        if self.failed == 0 {
            Ok(())
        } else {
            Err(format!("{} conformance check(s) failed", self.failed))
        }
    }
}

pub fn fixtures_dir() -> PathBuf {
    project_root().join("tests/fixtures/conformance")
}

pub fn schema_path() -> PathBuf {
    project_root().join("docs/schema/audit-event.schema.json")
}

/// The event schema, itself checked against the draft 2020-12 meta-schema.
pub fn load_schema(path: &Path) -> Result<Validator, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let schema: Json =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    jsonschema::draft202012::new(&schema)
        .map_err(|e| format!("{}: not a valid schema: {e}", path.display()))
}

/// Reads the fixture key: the first line of `KEY`.
fn fixture_key(dir: &Path) -> Result<SigningKey, String> {
    let path = dir.join("KEY");
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    SigningKey::new(text.lines().next().unwrap_or("").trim_end())
        .ok_or_else(|| format!("{}: empty key", path.display()))
}

/// `cargo xtask conformance`.
pub fn run_fixtures_task() -> Result<(), String> {
    let schema = load_schema(&schema_path())?;
    run_fixtures(&fixtures_dir(), &schema)?.report()
}

/// `cargo xtask conformance --events FILE --key-env NAME`.
pub fn run_events_task(file: &Path, key_env: &str) -> Result<(), String> {
    let schema = load_schema(&schema_path())?;
    let key = SigningKey::from_env(key_env).map_err(|e| e.to_string())?;
    if key.is_none() {
        eprintln!("xtask: ${key_env} is not set: checking hashes only, not signatures");
    }
    let text = fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let outcome = check_events(&text, &schema, key.as_ref());
    if outcome.passed + outcome.failed == 0 {
        return Err(format!("{}: no events", file.display()));
    }
    outcome.report()
}

/// One fixture: its input and its expected file.
struct Fixture {
    name: String,
    input: String,
    expected: Json,
}

/// The `*.json` inputs of `dir/kind` with their `*.expected.json`, by name.
fn fixtures(dir: &Path, kind: &str, outcome: &mut Outcome) -> Result<Vec<Fixture>, String> {
    let dir = dir.join(kind);
    let mut names: Vec<String> = fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    names.sort();
    let mut found = Vec::new();
    for name in &names {
        if let Some(stem) = name.strip_suffix(".expected.json") {
            if !names.contains(&format!("{stem}.json")) {
                outcome.record(&format!("{kind}/{name}"), vec!["no input file".into()]);
            }
            continue;
        }
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        let label = format!("{kind}/{name}");
        let read = |path: PathBuf| fs::read_to_string(&path).map_err(|e| format!("{e}"));
        let input = read(dir.join(name));
        let expected = read(dir.join(format!("{stem}.expected.json"))).and_then(|text| {
            serde_json::from_str::<Json>(&text).map_err(|e| format!("expected file: {e}"))
        });
        match (input, expected) {
            (Ok(input), Ok(expected)) => found.push(Fixture {
                name: label,
                input,
                expected,
            }),
            (Err(e), _) => outcome.record(&label, vec![format!("cannot read input: {e}")]),
            (_, Err(e)) => outcome.record(&label, vec![format!("expected file: {e}")]),
        }
    }
    Ok(found)
}

/// Runs every fixture under `dir`. `Err` when the suite itself is broken
/// (a directory missing, too few fixtures), not when a fixture fails.
pub fn run_fixtures(dir: &Path, schema: &Validator) -> Result<Outcome, String> {
    let key = fixture_key(dir)?;
    let mut outcome = Outcome::default();
    let valid = fixtures(dir, "valid", &mut outcome)?;
    let invalid = fixtures(dir, "invalid", &mut outcome)?;
    if valid.len() < MIN_VALID || invalid.len() < MIN_INVALID {
        return Err(format!(
            "{}: found {} valid and {} invalid fixtures; the suite needs at least {MIN_VALID} and {MIN_INVALID}",
            dir.display(),
            valid.len(),
            invalid.len()
        ));
    }
    for fixture in &valid {
        outcome.record(&fixture.name, check_valid(fixture, &key, schema));
    }
    for fixture in &invalid {
        outcome.record(&fixture.name, check_invalid(fixture, schema));
    }
    Ok(outcome)
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
fn check_valid(fixture: &Fixture, key: &SigningKey, schema: &Validator) -> Vec<String> {
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
    let mut event = match AuditEvent::parse(&fixture.input) {
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
        schema_errors(schema, &published)
            .into_iter()
            .map(|e| format!("schema rejects the published form: {e}")),
    );

    // The input itself against the schema.
    match load(&fixture.input) {
        Err(e) => problems.push(format!("cannot load the input for the schema: {e}")),
        Ok(input) => {
            let errors = schema_errors_of(schema, &input);
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
fn check_invalid(fixture: &Fixture, schema: &Validator) -> Vec<String> {
    let mut problems = Vec::new();
    let expected = &fixture.expected;
    let (error, path) = match (
        expected_str(expected, "error"),
        expected_str(expected, "path"),
    ) {
        (Ok(e), Ok(p)) => (e, p),
        (e, p) => return [e.err(), p.err()].into_iter().flatten().collect(),
    };
    match AuditEvent::parse(&fixture.input) {
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
    match (schema_invalid(expected), load(&fixture.input)) {
        (true, Err(e)) => problems.push(format!(
            "schema_invalid is set but it does not load as JSON: {e}"
        )),
        (true, Ok(input)) => {
            if schema.is_valid(&input) {
                problems.push("schema accepts it (schema_invalid is set)".into());
            }
        }
        (false, Ok(input)) => {
            let errors = schema_errors_of(schema, &input);
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

/// JSON text as a schema instance. Read by core's strict parser (so NaN,
/// overflowing doubles and lone surrogates do not load, and doubles are
/// rounded correctly, which serde_json without `float_roundtrip` does not
/// do near the top of the range: it refuses `1.7976931348623158e308`), then
/// handed to serde_json in core's own unambiguous spelling.
fn load(text: &str) -> Result<Json, String> {
    let value = auditlog_core::parse_value(text).map_err(|e| e.to_string())?;
    serde_json::from_str(&value.to_json()).map_err(|e| format!("serde_json: {e}"))
}

fn schema_errors(schema: &Validator, text: &str) -> Vec<String> {
    match load(text) {
        Ok(value) => schema_errors_of(schema, &value),
        Err(e) => vec![format!("not JSON: {e}")],
    }
}

fn schema_errors_of(schema: &Validator, value: &Json) -> Vec<String> {
    schema
        .iter_errors(value)
        .map(|e| {
            let at = e.instance_path.as_str();
            format!("{} {e}", if at.is_empty() { "/" } else { at })
        })
        .collect()
}

/// Checks captured events, one per line: each must load, fit the schema,
/// and verify (hash, and signature when `key` is given) with no
/// unauthenticated members. Blank lines are skipped.
pub fn check_events(text: &[u8], schema: &Validator, key: Option<&SigningKey>) -> Outcome {
    let mut outcome = Outcome::default();
    for (index, line) in text.split(|&b| b == b'\n').enumerate() {
        let name = format!("line {}", index + 1);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Ok(line) = std::str::from_utf8(line) else {
            outcome.record(&name, vec!["not UTF-8".into()]);
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        let mut problems = Vec::new();
        // Strict: the line must be exactly its published form, so no member
        // goes unauthenticated.
        if let Err(e) = verify_json(line, key) {
            problems.push(e.to_string());
        }
        if let Ok(value) = load(line) {
            problems.extend(
                schema_errors_of(schema, &value)
                    .into_iter()
                    .map(|e| format!("schema: {e}")),
            );
        }
        outcome.record(&name, problems);
    }
    outcome
}

/// One line: where `actual` first departs from `expected`, with context.
fn diff(expected: &str, actual: &str) -> String {
    const CONTEXT: usize = 30;
    let at = expected
        .chars()
        .zip(actual.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let window = |s: &str| {
        let start = at.saturating_sub(CONTEXT);
        let chars: Vec<char> = s.chars().collect();
        let end = chars.len().min(at + CONTEXT);
        let mut out = String::new();
        if start > 0 {
            out.push('…');
        }
        for c in chars.get(start..end).unwrap_or_default() {
            if c.is_control() {
                let _ = write!(out, "{}", c.escape_debug());
            } else {
                out.push(*c);
            }
        }
        if end < chars.len() {
            out.push('…');
        }
        out
    };
    format!(
        "differs at char {at}: expected `{}` got `{}`",
        window(expected),
        window(actual)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Validator {
        load_schema(&schema_path()).unwrap()
    }

    /// Plain `cargo test` runs the whole suite.
    #[test]
    fn conformance_fixtures_pass() {
        let outcome = run_fixtures(&fixtures_dir(), &schema()).unwrap();
        assert!(
            outcome.failed == 0,
            "{} failed:\n{}",
            outcome.failed,
            outcome.failures.join("\n")
        );
        assert!(outcome.passed >= MIN_VALID + MIN_INVALID);
    }

    #[test]
    fn a_wrong_expectation_is_reported_with_a_diff() {
        let key = SigningKey::new("k").unwrap();
        let fixture = Fixture {
            name: "valid/x.json".into(),
            input: r#"{"id":"x","eventdata":{"requestpayload":{"a":1e16}}}"#.into(),
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
            input: r#"{"id":2}"#.into(),
            expected: serde_json::json!({"error": "id: wrong", "path": "id"}),
        };
        let problems = check_invalid(&fixture, &schema());
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("error: differs at char 4"));
        assert!(problems[1].starts_with("schema rejects it but schema_invalid is not set"));
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

        let outcome = check_events(&lines, &schema(), Some(&key));
        assert_eq!((outcome.passed, outcome.failed), (1, 4), "{outcome:?}");
        let failures = outcome.failures.join("\n");
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
        let outcome = check_events(&lines, &schema(), None);
        assert_eq!((outcome.passed, outcome.failed), (2, 3), "{outcome:?}");
    }

    #[test]
    fn schema_choices() {
        let schema = schema();
        let ok = |text: &str| schema_errors(&schema, text).is_empty();
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

    #[test]
    fn diff_points_at_the_first_difference() {
        assert_eq!(
            diff("abcdef", "abXdef"),
            "differs at char 2: expected `abcdef` got `abXdef`"
        );
        let long = "x".repeat(100);
        let message = diff(&format!("{long}a"), &format!("{long}b"));
        assert_eq!(
            message,
            format!(
                "differs at char 100: expected `…{0}a` got `…{0}b`",
                "x".repeat(30)
            )
        );
    }
}
