//! A sealed line with a key repeated in one object is refused by `auditlog
//! verify` and `verify --chain`, naming the field: JSON readers disagree on
//! which value counts, so such a line must verify for none of them.

use crate::support::{auditlog, text};

const KEY: (&str, &str) = ("AUDITLOG_SIGNING_KEY", "k");

/// Three events sealed in chain `c1`, and its checkpoint: four lines.
fn sealed_chain() -> Vec<String> {
    let events = "{\"id\":\"e1\",\"eventdata\":{\"requestpayload\":{\"a\":1,\"b\":2}}}\n\
                  {\"id\":\"e2\"}\n{\"id\":\"e3\"}\n";
    let sealed = auditlog(&["seal", "--chain", "c1"], &[KEY], events);
    assert!(sealed.status.success(), "{}", text(&sealed.stderr));
    let lines: Vec<String> = text(&sealed.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 4);
    lines
}

/// `line` with `member` added to its object that starts with `opening`,
/// first in it or last.
fn with_member(line: &str, opening: &str, member: &str, first: bool) -> String {
    let at = line.find(opening).expect("the object") + opening.len();
    if first {
        format!("{}{member},{}", &line[..at], &line[at..])
    } else {
        let end = at + line[at..].find('}').expect("its end");
        format!("{},{member}{}", &line[..end], &line[end..])
    }
}

#[test]
fn a_repeated_member_of_a_sealed_line_is_refused_with_its_path() {
    let lines = sealed_chain();
    let second = &lines[1];
    let member = |name: &str| {
        let from = second.find(&format!("\"{name}\":")).expect("the member");
        let end = from + second[from..].find([',', '}']).expect("its end");
        second[from..end].to_owned()
    };
    let mut damaged = Vec::new();
    for name in ["hash", "signature", "seq", "prev", "link", "chain", "kid"] {
        let same = member(name);
        let other = if name == "seq" {
            "\"seq\":9".to_owned()
        } else {
            format!("\"{name}\":\"{}\"", "0".repeat(64))
        };
        let escaped = same.replacen(&name[..1], &format!("\\u{:04x}", name.as_bytes()[0]), 1);
        for repeat in [&same, &other, &escaped] {
            for first in [true, false] {
                let line = with_member(second, "\"security\":{", repeat, first);
                damaged.push((1, line, format!("security.{name}")));
            }
        }
    }
    for id in ["\"id\":\"e2\"", "\"id\":\"e9\""] {
        damaged.push((1, with_member(second, "{", id, true), "id".into()));
        let last = format!("{},{id}}}", &second[..second.len() - 1]);
        damaged.push((1, last, "id".into()));
    }
    for repeat in ["\"a\":1", "\"\\u0061\":1", "\"b\":3"] {
        let payload = "\"requestpayload\":{";
        let line = with_member(&lines[0], payload, repeat, false);
        let key = if repeat.contains('b') { "b" } else { "a" };
        damaged.push((0, line, format!("eventdata.requestpayload.{key}")));
    }
    for (index, line, path) in damaged {
        let mut stream = lines.clone();
        stream[index] = line;
        let stream = stream.join("\n");
        let expected =
            format!("{path}: duplicate key (JSON readers disagree on which value counts)");

        let plain = auditlog(&["verify"], &[KEY], &stream);
        assert_eq!(plain.status.code(), Some(1), "{stream}");
        assert_eq!(
            text(&plain.stdout),
            "verified 4 events: 3 valid, 1 failed\n",
            "{stream}"
        );
        let errors = text(&plain.stderr);
        assert!(
            errors.contains(&format!("line {}: {expected}\n", index + 1)),
            "{stream}\n{errors}"
        );

        let chain = auditlog(&["verify", "--chain"], &[KEY], &stream);
        assert_eq!(chain.status.code(), Some(1), "{stream}");
        let report = text(&chain.stdout);
        assert!(
            report.contains(&format!(
                "INVALID line {}: not an event: {expected}\n",
                index + 1
            )),
            "{stream}\n{report}"
        );
        assert!(report.contains("1 invalid"), "{report}");
    }
    // The lines as sealed verify: the refusals above are the repeats'.
    let whole = lines.join("\n");
    assert_eq!(auditlog(&["verify"], &[KEY], &whole).status.code(), Some(0));
    assert_eq!(
        auditlog(&["verify", "--chain"], &[KEY], &whole)
            .status
            .code(),
        Some(0)
    );
}
