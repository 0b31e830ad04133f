//! The link tag as the verifier reads it: decoded without allocating and
//! compared, between copies of a position, by its bytes (HMAC) or its hash
//! (Ed25519). Every change to a tag is still a broken link, and two copies
//! that differ only in their tags are still a conflict.

use super::*;

fn link_of(line: &str) -> String {
    AuditEvent::from_json(line)
        .unwrap()
        .security
        .unwrap()
        .link
        .unwrap()
}

#[test]
fn every_changed_digit_or_length_of_a_tag_breaks_the_link() {
    for key in [
        hmac_key("k1", "secret"),
        ChainKey::ed25519("ed-1", &[7; 32]).unwrap(),
    ] {
        let keys = ring(&[&key]);
        let stream = sealed(2, 100, key);
        let line = &stream.events[1];
        let link = link_of(line);
        let mut edits: Vec<String> = (0..link.len())
            .map(|at| {
                let mut digits = link.clone().into_bytes();
                digits[at] = if digits[at] == b'0' { b'f' } else { b'0' };
                String::from_utf8(digits).unwrap()
            })
            .collect();
        edits.push(
            link.to_uppercase()
                .replace(|c: char| c.is_ascii_digit(), "A"),
        );
        edits.push(link[..link.len() - 1].to_owned());
        edits.push(format!("{link}0"));
        edits.push(format!("{link}00"));
        edits.push(format!("{}g", &link[..link.len() - 1]));
        for edited in edits {
            let tampered = line.replace(&link, &edited);
            assert_ne!(&tampered, line);
            let report = verify(&keys, &[tampered], &[]);
            assert_eq!(report.invalid.len(), 1, "{edited}: {report}");
            assert_eq!(report.invalid[0].failure, LineFailure::Link, "{edited}");
        }
    }
}

#[test]
fn copies_that_differ_only_in_their_tags_conflict_and_exact_copies_do_not() {
    let (k1, k2) = (hmac_key("k1", "secret"), hmac_key("k2", "secret 2"));
    let keys = ring(&[&k1, &k2]);
    let honest = sealed(3, 100, k1);
    // The same events, the same hashes and prevs, linked under another key.
    let relinked = sealed(3, 100, k2);
    assert_ne!(link_of(&honest.events[2]), link_of(&relinked.events[2]));
    let mut lines = honest.events.clone();
    lines.push(relinked.events[2].clone());
    let report = verify(&keys, &lines, &[]);
    assert_eq!(report.invalid.len(), 1, "{report}");
    assert_eq!(
        (report.invalid[0].line, &report.invalid[0].failure),
        (4, &LineFailure::Conflict)
    );

    // Exact copies are duplicates, with either kind of tag.
    let ed = ChainKey::ed25519("ed-1", &[9; 32]).unwrap();
    for (key, keys) in [(hmac_key("k1", "secret"), keys), (ed.clone(), ring(&[&ed]))] {
        let stream = sealed(3, 100, key);
        let mut lines = stream.events.clone();
        lines.push(stream.events[1].clone());
        let report = verify(&keys, &lines, &stream.checkpoints);
        assert!(report.invalid.is_empty(), "{report}");
        assert_eq!(
            report.chains[CHAIN].duplicated,
            [Duplicated { seq: 2, extra: 1 }]
        );
    }
}
