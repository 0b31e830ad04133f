//! Every hex member a chained line carries (`hash`, `prev`, `link`, and a
//! checkpoint's `head` and `link`) is read as lowercase hex of its exact
//! length only: a digit in another case decodes to the same bytes under a
//! lenient reader, so a line spelled that way must fail, not verify as a
//! second text of the same position.

use super::*;

/// The member `name` of `line`'s `security`.
fn member(line: &str, name: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(line).unwrap();
    value["security"][name].as_str().unwrap().to_owned()
}

/// Spellings of `hex` that no lowercase-only reader takes for it.
fn misspelled(hex: &str) -> Vec<String> {
    let letter = hex.find(|c: char| c.is_ascii_lowercase()).unwrap();
    let last = hex.len() - 1;
    let replaced = |at: usize, with: &str| format!("{}{with}{}", &hex[..at], &hex[at + 1..]);
    let mut spellings = vec![
        // The same value in another case: one digit, and all.
        replaced(letter, &hex[letter..=letter].to_ascii_uppercase()),
        hex.to_ascii_uppercase(),
        // Bytes next to the digits' ranges, and a non-ASCII one.
        replaced(last, "g"),
        replaced(last, "G"),
        replaced(0, ":"),
        replaced(0, "/"),
        replaced(0, "`"),
        replaced(0, "@"),
        replaced(last, "é"),
        // Lengths.
        hex[..last].to_owned(),
        format!("{hex}0"),
        format!("0{hex}"),
        String::new(),
    ];
    spellings.retain(|s| s != hex);
    spellings
}

/// Each misspelling of `name` in line `at` of `lines`: that line (and only
/// it) is reported, and the failure is `expected` (or, for a
/// non-ASCII digit or an empty member, that the line is not in its
/// published form).
fn each_misspelling_fails(
    keys: &Keyring,
    lines: &[String],
    at: usize,
    name: &str,
    expected: &LineFailure,
) {
    let original = &lines[at];
    let value = member(original, name);
    let spelled = format!("\"{name}\":\"{value}\"");
    assert_eq!(original.matches(&spelled).count(), 1, "{name}");
    for wrong in misspelled(&value) {
        let mut tampered = lines.to_vec();
        tampered[at] = original.replace(&spelled, &format!("\"{name}\":\"{wrong}\""));
        let report = verify(keys, &tampered, &[]);
        let failures: Vec<_> = report
            .invalid
            .iter()
            .map(|i| (i.line, &i.failure))
            .collect();
        assert_eq!(failures.len(), 1, "{name} {wrong}: {report}");
        assert_eq!(failures[0].0, at as u64 + 1, "{name} {wrong}: {report}");
        // Strict reading refuses a non-ASCII digit, or an empty member, as
        // not what publishing writes, before it reads it.
        let not_published = matches!(failures[0].1, LineFailure::NotPublishedForm { .. });
        assert!(
            failures[0].1 == expected || (not_published && (wrong.is_empty() || !wrong.is_ascii())),
            "{name} {wrong}: {:?}",
            failures[0].1
        );
    }
}

#[test]
fn hex_members_in_another_case_or_length_never_verify() {
    for key in [
        hmac_key("k1", "secret"),
        ChainKey::ed25519("ed-1", &[7; 32]).unwrap(),
    ] {
        let keys = ring(&[&key]);
        let stream = sealed(3, 2, key);
        // Events 1-3, the checkpoint at 2 and the one at the end.
        let lines: Vec<String> = stream
            .events
            .iter()
            .chain(&stream.checkpoints)
            .cloned()
            .collect();
        assert_eq!(lines.len(), 5);
        let clean = verify(&keys, &lines, &[]);
        assert!(clean.invalid.is_empty(), "{clean}");

        let prev = LineFailure::Malformed("security.prev");
        let head = LineFailure::Malformed("security.head");
        let hash = LineFailure::Seal(VerifyError::HashMismatch);
        // Seq 2: hash, prev and link.
        each_misspelling_fails(&keys, &lines, 1, "hash", &hash);
        each_misspelling_fails(&keys, &lines, 1, "prev", &prev);
        each_misspelling_fails(&keys, &lines, 1, "link", &LineFailure::Link);
        // The checkpoint for two events: head and link.
        let checkpoint = 3;
        assert_eq!(
            member(&lines[checkpoint], "head"),
            member(&lines[1], "hash")
        );
        each_misspelling_fails(&keys, &lines, checkpoint, "head", &head);
        each_misspelling_fails(&keys, &lines, checkpoint, "link", &LineFailure::Link);
        each_misspelling_fails(&keys, &lines, checkpoint, "hash", &hash);
    }
}
