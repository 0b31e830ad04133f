//! `auditlog seal --chain` and `auditlog verify --chain`, run as a user runs them.

use crate::support::{auditlog, text};
use std::path::PathBuf;

const KEY: (&str, &str) = ("AUDITLOG_SIGNING_KEY", "k");

fn events(n: usize) -> String {
    (1..=n)
        .map(|i| format!("{{\"id\":\"e{i}\",\"action\":{{\"name\":\"orders.create\"}}}}\n"))
        .collect()
}

/// A scratch directory of this test binary, removed and made again.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_sealed_chain_verifies_and_every_line_still_verifies_alone() {
    let sealed = auditlog(
        &["seal", "--chain", "c1", "--checkpoint-every", "2"],
        &[KEY],
        &events(5),
    );
    assert!(sealed.status.success(), "{}", text(&sealed.stderr));
    let stdout = text(&sealed.stdout);
    // 5 events, checkpoints after 2 and 4 and at the end.
    assert_eq!(stdout.lines().count(), 8, "{stdout}");
    assert!(stdout.lines().next().unwrap().contains(r#""chain":"c1","#));
    assert!(text(&sealed.stderr).contains("chain c1 sealed with hmac-sha256 key default"));

    let report = auditlog(&["verify", "--chain"], &[KEY], &stdout);
    assert_eq!(report.status.code(), Some(0), "{}", text(&report.stdout));
    assert_eq!(
        text(&report.stdout),
        "chain c1: 5 events up to seq 5, 3 checkpoints, the last for 5 events\n\
         OK: 8 lines, 1 chains: 8 valid, 0 invalid, 0 missing, 0 truncated, 0 reordered, 0 duplicated, 0 unchained, 0 unauthenticated, 0 unmet\n"
    );

    // Plain verify knows the chain members: nothing is unauthenticated.
    let plain = auditlog(&["verify"], &[KEY], &stdout);
    assert_eq!(
        text(&plain.stdout),
        "verified 8 events: 8 valid, 0 failed\n"
    );
    // ... and says that it did not check the chain.
    assert!(text(&plain.stderr).contains("only --chain checks their links"));
}

#[test]
fn verify_reports_damage_and_exits_non_zero_but_not_for_duplicates() {
    let sealed = text(&auditlog(&["seal", "--chain", "c1"], &[KEY], &events(6)).stdout);
    let lines: Vec<&str> = sealed.lines().collect();

    let mut redelivered = lines[..4].to_vec();
    redelivered.extend_from_slice(&lines[2..]);
    let output = auditlog(&["verify", "--chain"], &[KEY], &redelivered.join("\n"));
    let report = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(report.contains("duplicated (delivered again, not tampering): seq 3 (+1), 4 (+1)"));
    assert!(report.starts_with("chain c1: 6 events"), "{report}");

    let mut damaged: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    damaged.remove(1);
    damaged.swap(2, 3);
    damaged[0] = damaged[0].replace("orders.create", "orders.delete");
    let output = auditlog(&["verify", "--chain"], &[KEY], &damaged.join("\n"));
    let report = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(report.contains("  MISSING seq 2\n"), "{report}");
    assert!(report.contains("  REORDERED seq "), "{report}");
    assert!(
        report.contains("INVALID line 1 (chain c1, seq 1): hash mismatch"),
        "{report}"
    );

    let output = auditlog(
        &["verify", "--chain", "--json"],
        &[KEY],
        &damaged.join("\n"),
    );
    assert_eq!(output.status.code(), Some(1));
    let json = text(&output.stdout);
    assert!(
        json.starts_with(r#"{"chains":{"c1":{"anchored":true,"checkpointed":6,"#),
        "{json}"
    );
    assert!(json.contains(r#""missing":[[2,2]]"#), "{json}");
    assert!(json.ends_with("}\n") && json.lines().count() == 1, "{json}");

    let wrong_key = auditlog(
        &["verify", "--chain"],
        &[("AUDITLOG_SIGNING_KEY", "other")],
        &sealed,
    );
    assert_eq!(wrong_key.status.code(), Some(1));
    assert!(text(&wrong_key.stdout).contains("link mismatch"));
}

#[test]
fn checkpoints_kept_apart_reveal_a_cut_off_tail() {
    let dir = scratch("checkpoints_apart");
    let checkpoints = dir.join("checkpoints.jsonl");
    let checkpoints = checkpoints.to_str().unwrap();
    let sealed = auditlog(
        &["seal", "--chain", "c1", "--checkpoints", checkpoints],
        &[KEY],
        &events(5),
    );
    assert!(sealed.status.success());
    let stdout = text(&sealed.stdout);
    assert_eq!(stdout.lines().count(), 5);
    let cut: String = stdout.lines().take(3).map(|l| format!("{l}\n")).collect();
    let events_file = dir.join("events.jsonl");
    std::fs::write(&events_file, &cut).unwrap();

    let output = auditlog(
        &[
            "verify",
            "--chain",
            "--checkpoints",
            checkpoints,
            events_file.to_str().unwrap(),
        ],
        &[KEY],
        "",
    );
    let report = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(
        report.contains("  TRUNCATED seq 4-5 (a checkpoint vouches for 5 events)"),
        "{report}"
    );

    // Without the checkpoints the cut cannot be seen, and the report says so.
    let output = auditlog(&["verify", "--chain"], &[KEY], &cut);
    assert_eq!(output.status.code(), Some(0));
    let tail: String = stdout.lines().skip(2).map(|l| format!("{l}\n")).collect();
    let output = auditlog(&["verify", "--chain"], &[KEY], &tail);
    assert_eq!(
        output.status.code(),
        Some(1),
        "read from the middle, 1-2 are missing"
    );
    let output = auditlog(&["verify", "--chain", "--from-the-middle"], &[KEY], &tail);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    assert!(
        text(&output.stdout).contains("note: read from seq 3; the events before are not checked")
    );
    assert!(text(&output.stdout).contains("no checkpoint: a cut-off tail would go unnoticed"));
}

#[test]
fn ed25519_chains_from_a_keyring_verify_with_the_public_key() {
    let dir = scratch("ed25519");
    let keyring = dir.join("keyring.json");
    std::fs::write(
        &keyring,
        format!(
            r#"{{"keys":[{{"kid":"old","type":"hmac-sha256","secret":"k","retired":true}},{{"kid":"ed-1","type":"ed25519","seed":"{}"}}]}}"#,
            "42".repeat(32)
        ),
    )
    .unwrap();
    owner_only(&keyring);
    let keyring = keyring.to_str().unwrap();
    let sealed = auditlog(&["seal", "--chain", "--keyring", keyring], &[], &events(3));
    assert!(sealed.status.success(), "{}", text(&sealed.stderr));
    let stderr = text(&sealed.stderr);
    let public = stderr
        .split("public key ")
        .nth(1)
        .and_then(|rest| rest.get(..64))
        .unwrap_or_else(|| panic!("{stderr}"));
    let stdout = text(&sealed.stdout);
    assert!(!stdout.contains("\"signature\""), "{stdout}");
    assert!(stdout.contains(r#""kid":"ed-1""#));

    let public_file = dir.join("public.hex");
    std::fs::write(&public_file, format!("{public}\n")).unwrap();
    let public_file = public_file.to_str().unwrap();
    let output = auditlog(
        &["verify", "--chain", "--public-key", public_file],
        &[],
        &stdout,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    let output = auditlog(&["verify", "--chain", "--keyring", keyring], &[], &stdout);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));

    std::fs::write(
        dir.join("other.hex"),
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    )
    .unwrap();
    let other = dir.join("other.hex");
    let output = auditlog(
        &["verify", "--chain", "--public-key", other.to_str().unwrap()],
        &[],
        &stdout,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stdout).contains("link mismatch"));
}

#[test]
fn chains_need_a_key_and_keys_never_come_from_the_command_line() {
    let output = auditlog(&["seal", "--chain"], &[], &events(1));
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("a chain needs a key"));
    let output = auditlog(&["verify", "--chain"], &[], &events(1));
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("checking chains needs a key"));
    let output = auditlog(&["verify", "--keyring", "x.json"], &[KEY], "");
    assert_eq!(output.status.code(), Some(2), "--keyring needs --chain");
    let output = auditlog(&["seal", "--checkpoint-every", "5"], &[KEY], "");
    assert_eq!(
        output.status.code(),
        Some(2),
        "--checkpoint-every needs --chain"
    );
}

#[test]
fn a_new_chain_gets_a_fresh_id() {
    let first = text(&auditlog(&["seal", "--chain"], &[KEY], &events(1)).stderr);
    let second = text(&auditlog(&["seal", "--chain"], &[KEY], &events(1)).stderr);
    assert!(first.contains("auditlog: chain "), "{first}");
    assert_ne!(first, second);
}

#[test]
fn a_chain_resumes_after_the_last_checkpoint_kept_apart() {
    let dir = scratch("resume");
    let checkpoints = dir.join("checkpoints.jsonl");
    let checkpoints = checkpoints.to_str().unwrap();
    let args = ["seal", "--chain", "--checkpoints", checkpoints, "--resume"];
    let first = auditlog(&args, &[KEY], &events(3));
    assert!(first.status.success(), "{}", text(&first.stderr));
    let second = auditlog(&args, &[KEY], &events(2));
    assert!(
        text(&second.stderr).contains("resuming chain "),
        "{}",
        text(&second.stderr)
    );
    assert!(text(&second.stderr).contains(" after event 3"));
    let both = text(&first.stdout) + &text(&second.stdout);

    let output = auditlog(
        &["verify", "--chain", "--checkpoints", checkpoints],
        &[KEY],
        &both,
    );
    let report = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(
        report.contains(": 5 events up to seq 5, 2 checkpoints, the last for 5 events"),
        "{report}"
    );

    // A checkpoint that does not verify under the key is not continued.
    let other = auditlog(&args, &[("AUDITLOG_SIGNING_KEY", "other")], &events(1));
    assert_eq!(other.status.code(), Some(2));
    assert!(text(&other.stderr).contains("cannot resume after this checkpoint: link mismatch"));
}

/// A keyring holds secrets, and whoever can write it picks the keys links
/// are checked with: refused unless it is its owner's alone.
#[cfg(unix)]
#[test]
fn a_keyring_others_can_read_or_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("keyring-mode");
    let keyring = dir.join("keyring.json");
    std::fs::write(
        &keyring,
        r#"{"keys":[{"kid":"k-1","type":"hmac-sha256","secret":"k"}]}"#,
    )
    .unwrap();
    let path = keyring.to_str().unwrap();
    for mode in [0o644, 0o640, 0o602] {
        std::fs::set_permissions(&keyring, std::fs::Permissions::from_mode(mode)).unwrap();
        for args in [
            &["seal", "--chain", "--keyring", path][..],
            &["verify", "--chain", "--keyring", path][..],
        ] {
            let output = auditlog(args, &[], &events(1));
            let stderr = text(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{args:?} {mode:o}: {stderr}");
            assert!(
                stderr.contains(&format!(
                    "keyring.json: readable or writable by group or others (mode {mode:04o})"
                )) && stderr.contains("chmod 600"),
                "{stderr}"
            );
        }
    }
    owner_only(&keyring);
    let sealed = auditlog(&["seal", "--chain", "--keyring", path], &[], &events(1));
    assert!(sealed.status.success(), "{}", text(&sealed.stderr));

    // A link to it (planted where a verifier reads its keyring) is not
    // followed, though the target itself is fine.
    let link = dir.join("planted.json");
    std::os::unix::fs::symlink(&keyring, &link).unwrap();
    let output = auditlog(
        &["verify", "--chain", "--keyring", link.to_str().unwrap()],
        &[],
        &events(1),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("symbolic link"),
        "{}",
        text(&output.stderr)
    );
}

/// Mode 0600, as a keyring must be.
fn owner_only(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[test]
fn a_stream_of_many_batches_is_checked_on_all_cores_and_reported_in_order() {
    // Several MiB: more than one batch per core, so lines are checked in
    // parallel and must still be recorded, numbered and reported in order.
    // Files, not pipes: the outputs are larger than a pipe holds.
    let dir = scratch("many-batches");
    let input = dir.join("events.jsonl");
    std::fs::write(&input, events(20_000)).unwrap();
    let sealed = crate::support::command(&["seal", "--chain", "c1"])
        .env(KEY.0, KEY.1)
        .stdin(std::fs::File::open(&input).unwrap())
        .output()
        .unwrap();
    assert!(sealed.status.success(), "{}", text(&sealed.stderr));
    let mut lines: Vec<String> = text(&sealed.stdout).lines().map(String::from).collect();
    assert!(lines.iter().map(String::len).sum::<usize>() > 4 << 20);
    let damaged = 12_345;
    lines[damaged] = lines[damaged].replacen("orders.create", "orders.delete", 1);
    let chained = dir.join("chained.jsonl");
    std::fs::write(&chained, lines.join("\n") + "\n").unwrap();
    let report = crate::support::command(&["verify", "--chain", chained.to_str().unwrap()])
        .env(KEY.0, KEY.1)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = text(&report.stdout);
    assert_eq!(report.status.code(), Some(1), "{stdout}");
    let invalid: Vec<&str> = stdout.lines().filter(|l| l.contains("INVALID")).collect();
    assert_eq!(invalid.len(), 1, "{stdout}");
    assert!(
        invalid[0].starts_with(&format!("INVALID line {} (chain c1, seq ", damaged + 1))
            && invalid[0].contains("hash mismatch"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "{} lines, 1 chains: {} valid, 1 invalid",
            lines.len(),
            lines.len() - 1
        )),
        "{stdout}"
    );
}
