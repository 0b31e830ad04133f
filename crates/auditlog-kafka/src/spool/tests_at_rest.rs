//! The spool's files at rest, against real files: modes, planted symbolic
//! links, directories others could write to.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;

use super::*;

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// `<first seq>.wal` of the first segment, and its ack file.
const FIRST_WAL: &str = "00000000000000000001.wal";
const FIRST_ACK: &str = "00000000000000000001.ack";

/// An empty spool directory as the spool itself would make it (`0700`).
fn spool_dir(parent: &Path) -> std::path::PathBuf {
    let dir = parent.join("spool");
    fs::create_dir(&dir).unwrap();
    set_mode(&dir, 0o700);
    dir
}

#[test]
fn the_directory_is_created_0700_and_every_file_in_it_0600() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("var").join("spool");
    let config = SpoolConfig::new(&dir).segment_bytes(4096);
    let (spool, _) = Spool::open(&config).unwrap();
    for i in 0..50u8 {
        spool.append(Some(b"k"), &[i; 200], false).unwrap();
    }
    spool.release(1);
    spool.flush_acks();
    let names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().filter(|n| n.ends_with(".wal")).count() > 1);
    assert!(names.iter().any(|n| n == FIRST_ACK) && names.iter().any(|n| n == "LOCK"));
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(
        mode(&temp.path().join("var")),
        0o700,
        "a missing parent too"
    );
    for name in &names {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
}

#[test]
fn files_an_older_version_left_readable_are_made_owner_only() {
    let temp = tempfile::tempdir().unwrap();
    let dir = spool_dir(temp.path());
    let config = SpoolConfig::new(&dir);
    let (spool, _) = Spool::open(&config).unwrap();
    spool.append(None, b"one", false).unwrap();
    spool.append(None, b"two", false).unwrap();
    spool.release(1);
    spool.flush_acks();
    drop(spool);
    for name in [FIRST_WAL, FIRST_ACK, "LOCK"] {
        set_mode(&dir.join(name), 0o644);
    }
    let (_spool, recovery) = Spool::open(&config).unwrap();
    assert_eq!((recovery.records, recovery.already_released), (1, 1));
    for name in [FIRST_WAL, FIRST_ACK, "LOCK"] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
}

#[test]
fn a_symlink_named_like_a_segment_is_moved_aside_and_its_target_untouched() {
    let temp = tempfile::tempdir().unwrap();
    let dir = spool_dir(temp.path());
    let target = temp.path().join("precious.db");
    fs::write(&target, b"not a segment: somebody's data").unwrap();
    symlink(&target, dir.join(FIRST_WAL)).unwrap();

    let (spool, recovery) = Spool::open(&SpoolConfig::new(&dir)).unwrap();
    assert_eq!(
        fs::read(&target).unwrap(),
        b"not a segment: somebody's data"
    );
    let [moved] = &recovery.moved_aside[..] else {
        panic!("one file moved aside: {recovery:?}");
    };
    assert_eq!(moved.from, dir.join(FIRST_WAL));
    assert_eq!(moved.to, dir.join(format!("{FIRST_WAL}.corrupt")));
    assert!(moved.reason.contains("symbolic link"), "{}", moved.reason);
    assert!(fs::symlink_metadata(&moved.to).unwrap().is_symlink());
    assert_eq!((recovery.records, recovery.torn_tails), (0, 0));

    // New records go to a new file of the spool's own, not through the link.
    let seq = spool.append(None, b"event", false).unwrap();
    spool.wait_synced(seq).unwrap();
    assert_eq!(
        fs::read(&target).unwrap(),
        b"not a segment: somebody's data"
    );
    assert!(fs::symlink_metadata(dir.join(FIRST_WAL)).unwrap().is_file());
    assert_eq!(seqs(&spool.take_unsent(usize::MAX).unwrap()), [seq]);
}

fn seqs(records: &[SpoolRecord]) -> Vec<u64> {
    records.iter().map(|r| r.seq).collect()
}

#[test]
fn a_directory_named_like_a_segment_is_moved_aside_not_a_failed_open() {
    let temp = tempfile::tempdir().unwrap();
    let dir = spool_dir(temp.path());
    fs::create_dir(dir.join(FIRST_WAL)).unwrap();
    let (spool, recovery) = Spool::open(&SpoolConfig::new(&dir)).unwrap();
    assert_eq!(recovery.moved_aside.len(), 1, "{recovery:?}");
    assert!(dir.join(format!("{FIRST_WAL}.corrupt")).is_dir());
    spool.append(None, b"event", false).unwrap();
}

/// A symlinked ack file would otherwise say which records were delivered:
/// read through, any file's bytes could release undelivered records.
#[test]
fn a_symlinked_ack_file_releases_nothing_and_is_never_written_through() {
    let temp = tempfile::tempdir().unwrap();
    let dir = spool_dir(temp.path());
    let config = SpoolConfig::new(&dir);
    let (spool, _) = Spool::open(&config).unwrap();
    for payload in [b"one", b"two"] {
        spool.append(None, payload, false).unwrap();
    }
    drop(spool);
    // Bytes that read as acks of seqs 1 and 2.
    let forged = temp.path().join("forged");
    fs::write(&forged, [1u64.to_le_bytes(), 2u64.to_le_bytes()].concat()).unwrap();
    symlink(&forged, dir.join(FIRST_ACK)).unwrap();

    let (spool, recovery) = Spool::open(&config).unwrap();
    assert_eq!((recovery.records, recovery.already_released), (2, 0));
    assert_eq!(recovery.moved_aside.len(), 1, "{recovery:?}");
    assert_eq!(seqs(&spool.take_unsent(usize::MAX).unwrap()), [1, 2]);

    // Planted while the spool runs: acks are not appended through it.
    let sink = temp.path().join("sink");
    fs::write(&sink, b"").unwrap();
    let _ = fs::remove_file(dir.join(FIRST_ACK));
    symlink(&sink, dir.join(FIRST_ACK)).unwrap();
    spool.release(1);
    spool.flush_acks();
    assert_eq!(fs::read(&sink).unwrap(), b"");
}

#[test]
fn a_spool_directory_others_or_its_group_can_write_to_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let dir = spool_dir(temp.path());
    for (mode, who) in [(0o777, "others"), (0o1733, "others"), (0o770, "its group")] {
        set_mode(&dir, mode);
        let error = Spool::open(&SpoolConfig::new(&dir)).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains(&format!("writable by {who} (mode {mode:04o})"))
                && message.contains(&dir.display().to_string())
                && message.contains("chmod 700"),
            "{message}"
        );
        assert_eq!(error.kind(), io::ErrorKind::PermissionDenied);
        assert!(!dir.join("LOCK").exists(), "nothing created in it");
    }
    set_mode(&dir, 0o750); // readable by the group: its files are 0600
    Spool::open(&SpoolConfig::new(&dir)).unwrap();
}

#[test]
fn a_spool_directory_another_user_owns_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let dir = spool_dir(temp.path());
    let me = fs::metadata(&dir).unwrap().uid(); // made by this process
    let dir = if me == 0 {
        std::os::unix::fs::chown(&dir, Some(65534), None).unwrap();
        dir
    } else {
        // root's, and not writable by us: refused before anything is tried.
        Path::new("/").to_path_buf()
    };
    let message = Spool::open(&SpoolConfig::new(&dir))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("is owned by uid")
            && message.contains(&format!("not by this process (uid {me})")),
        "{message}"
    );
    assert!(!dir.join("LOCK").exists(), "nothing created in it");
}

#[test]
fn a_symlinked_lock_is_refused_naming_it() {
    let temp = tempfile::tempdir().unwrap();
    let dir = spool_dir(temp.path());
    let target = temp.path().join("elsewhere");
    fs::write(&target, b"x").unwrap();
    symlink(&target, dir.join("LOCK")).unwrap();
    let message = Spool::open(&SpoolConfig::new(&dir))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("LOCK") && message.contains("symbolic link"),
        "{message}"
    );
    assert_eq!(fs::read(&target).unwrap(), b"x");
}
