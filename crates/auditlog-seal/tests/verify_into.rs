//! `verify_json_into` (each line read into the previous line's event, as
//! `auditlog verify` does) says exactly what `verify_json_as` says of each
//! line, whatever line came before: the same event, the same error.

use auditlog_core::{AuditEvent, Security};
use auditlog_seal::{
    seal_to_json, verify_json_as, verify_json_into, SigningKey, Strictness, VerifyJsonError,
};
use auditlog_testkit::strategies::event;
use proptest::prelude::*;

fn key() -> SigningKey {
    SigningKey::new("verify-into-test-key").unwrap()
}

/// Lines that verify, and lines that fail each check in a different way.
fn lines_of(events: &[AuditEvent]) -> Vec<String> {
    let key = key();
    let mut lines = Vec::new();
    for e in events {
        let good = seal_to_json(&mut e.clone(), Some(&key));
        // Another spelling of the same event: strict refuses, lenient takes.
        lines.push(good.replacen(':', ": ", 1));
        // A member no hash covers.
        lines.push(good.replacen('{', r#"{"zz":1,"#, 1));
        // Content changed after sealing.
        lines.push(good.replacen(r#""hash":""#, r#""hash":"0"#, 1));
        // Signed with another key, and not signed.
        lines.push(seal_to_json(
            &mut e.clone(),
            Some(&SigningKey::new("other").unwrap()),
        ));
        lines.push(seal_to_json(&mut e.clone(), None));
        // Not JSON, and an event with chain members.
        lines.push(good[..good.len() / 2].to_owned());
        let mut chained = e.clone();
        chained.security = Some(Security {
            seq: Some(3),
            chain: Some("c".into()),
            ..Security::default()
        });
        lines.push(chained.published_json());
        lines.push(good);
    }
    lines
}

fn check(lines: &[String]) -> Result<(), TestCaseError> {
    let key = key();
    for strictness in [Strictness::Strict, Strictness::Lenient] {
        for key in [Some(&key), None] {
            let mut recycled = AuditEvent::default();
            for line in lines {
                let fresh = verify_json_as(line, key, strictness);
                let reused = verify_json_into(&mut recycled, line, key, strictness);
                match (reused, fresh) {
                    (Ok(()), Ok(fresh)) => prop_assert_eq!(&recycled, &fresh.event, "{}", line),
                    (Err(reused), Err(fresh)) => prop_assert_eq!(reused, fresh, "{}", line),
                    (reused, fresh) => {
                        return Err(TestCaseError::fail(format!(
                            "{strictness:?}: recycled {reused:?}, fresh {fresh:?}: {line}"
                        )))
                    }
                }
            }
        }
    }
    Ok(())
}

#[test]
fn the_same_verdicts_as_fresh_reads_for_every_kind_of_failure() {
    let full = AuditEvent::builder()
        .tenant_id("t")
        .trace_id("tr")
        .action_name("orders.create")
        .groups(["a", "b"])
        .build();
    let bare = AuditEvent::builder().build();
    let lines = lines_of(&[full.clone(), bare, full]);
    // Every line verified after every other.
    let mut pairs = Vec::new();
    for a in &lines {
        for b in &lines {
            pairs.push(a.clone());
            pairs.push(b.clone());
        }
    }
    check(&pairs).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn generated_events_verify_alike_into_a_used_event(
        events in proptest::collection::vec(event(), 2..4)
    ) {
        check(&lines_of(&events))?;
    }
}

#[test]
fn a_verdict_is_an_error_that_names_its_check() {
    let mut recycled = AuditEvent::default();
    let line = r#"{"id":"x"}"#;
    assert!(matches!(
        verify_json_into(&mut recycled, line, None, Strictness::Strict),
        Err(VerifyJsonError::Seal(_))
    ));
}
