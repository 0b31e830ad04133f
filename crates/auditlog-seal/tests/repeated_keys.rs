//! A sealed line with a key repeated in one object verifies for no reader:
//! readers disagree on which value counts (Python keeps the last, others
//! the first), so a line whose seal holds for one copy could show another.
//! Refused as not an event, strict or lenient, fresh or recycled, naming
//! the key.

use auditlog_core::{AuditEvent, ParseErrorKind};
use auditlog_seal::{
    seal_to_json, verify_json_as, verify_json_into, SigningKey, Strictness, VerifyJsonError,
};

fn key() -> SigningKey {
    SigningKey::new("repeated-keys-test-key").unwrap()
}

/// A sealed line with a payload, and a second one sealed alike.
fn sealed(id: &str) -> String {
    let mut event = AuditEvent::from_json(&format!(
        r#"{{"id":"{id}","action":{{"name":"refund"}},"eventdata":{{"requestpayload":{{"amount":5,"to":"acct-1"}}}}}}"#
    ))
    .unwrap();
    seal_to_json(&mut event, Some(&key()))
}

#[test]
fn a_sealed_line_with_a_repeated_key_verifies_for_no_reader() {
    let good = sealed("e1");
    let other = sealed("e2");
    let value_of = |line: &str, name: &str| {
        let from = line.find(&format!("\"{name}\":\"")).unwrap() + name.len() + 4;
        line[from..from + line[from..].find('"').unwrap()].to_owned()
    };
    let (hash, signature) = (value_of(&good, "hash"), value_of(&good, "signature"));
    let (forged_hash, forged_signature) = (value_of(&other, "hash"), value_of(&other, "signature"));
    let mut damaged = Vec::new();
    for (name, real, forged) in [
        ("hash", &hash, &forged_hash),
        ("signature", &signature, &forged_signature),
    ] {
        let member = format!("\"{name}\":\"{real}\"");
        for copy in [format!("\"{name}\":\"{forged}\""), member.clone()] {
            // The copy before the real member, and after it.
            damaged.push((
                good.replacen(&member, &format!("{copy},{member}"), 1),
                format!("security.{name}"),
            ));
            damaged.push((
                good.replacen(&member, &format!("{member},{copy}"), 1),
                format!("security.{name}"),
            ));
        }
    }
    // The payload a first-wins reader would show, beside the one sealed.
    let payload = r#""amount":5"#;
    damaged.push((
        good.replacen(payload, r#""amount":500,"amount":5"#, 1),
        "eventdata.requestpayload.amount".into(),
    ));
    damaged.push((
        good.replacen(payload, r#""amount":5,"\u0061mount":5"#, 1),
        "eventdata.requestpayload.amount".into(),
    ));
    damaged.push((
        good.replacen(r#""id":"e1""#, r#""id":"e1","id":"e1""#, 1),
        "id".into(),
    ));
    damaged.push((
        good.replacen(
            r#""name":"refund""#,
            r#""name":"refund","name":"refund""#,
            1,
        ),
        "action.name".into(),
    ));

    let key = key();
    let mut recycled = AuditEvent::default();
    for (line, path) in &damaged {
        assert_ne!(line, &good, "the repeat was put in");
        for strictness in [Strictness::Strict, Strictness::Lenient] {
            // The previous line verified: its event lends the buffers.
            verify_json_into(&mut recycled, &good, Some(&key), strictness)
                .expect("the sealed line verifies");
            for verdict in [
                verify_json_as(line, Some(&key), strictness).map(|_| ()),
                verify_json_into(&mut recycled, line, Some(&key), strictness),
            ] {
                match verdict {
                    Err(VerifyJsonError::Parse(error)) => {
                        assert_eq!(error.kind(), &ParseErrorKind::DuplicateKey, "{line}");
                        assert_eq!(error.path(), path, "{line}");
                    }
                    other => panic!("{line} ({strictness:?}): {other:?}"),
                }
            }
        }
    }
}
