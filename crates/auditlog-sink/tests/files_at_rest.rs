//! JSON-lines files at rest: owner-only, never written through a planted
//! symbolic link, never another user's file.
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;

use auditlog_core::AuditEvent;
use auditlog_sink::{AuditSink, JsonLinesSink};

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

fn event(n: usize) -> AuditEvent {
    AuditEvent::builder().tenant_id(format!("t-{n:03}")).build()
}

#[tokio::test]
async fn sink_files_and_rotated_files_are_created_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = JsonLinesSink::append_to(&path, None).unwrap();
    sink.publish_durable(event(0)).await.unwrap();
    assert_eq!(mode(&path), 0o600);

    let rotating = dir.path().join("rotating.jsonl");
    let sink = JsonLinesSink::rotating(&rotating, 400, 3, None).unwrap();
    for n in 0..10 {
        sink.publish_durable(event(n)).await.unwrap();
    }
    let mut files = vec![rotating.clone()];
    files.extend((1..=3).map(|n| dir.path().join(format!("rotating.jsonl.{n}"))));
    assert!(files.iter().all(|f| f.exists()), "rotated: {files:?}");
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
}

#[test]
fn a_symlink_at_the_path_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("precious");
    fs::write(&target, "somebody's data").unwrap();
    let link = dir.path().join("audit.jsonl");
    symlink(&target, &link).unwrap();
    for error in [
        JsonLinesSink::append_to(&link, None).unwrap_err(),
        JsonLinesSink::rotating(&link, 1000, 3, None).unwrap_err(),
    ] {
        let message = error.to_string();
        assert!(
            message.contains("symbolic link") && message.contains("audit.jsonl"),
            "{message}"
        );
    }
    assert_eq!(fs::read_to_string(&target).unwrap(), "somebody's data");
}

#[test]
fn a_directory_at_the_path_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let message = JsonLinesSink::append_to(dir.path(), None)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );
}

/// Another user's file (here: one this test gives away when it runs as
/// root) could be read or rewritten by that user: refused.
#[test]
fn another_users_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    fs::write(&path, "").unwrap();
    let me = fs::metadata(&path).unwrap().uid();
    if me != 0 {
        return; // only root can give a file away
    }
    std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
    let message = JsonLinesSink::append_to(&path, None)
        .unwrap_err()
        .to_string();
    assert!(message.contains("owned by uid 65534"), "{message}");
}
