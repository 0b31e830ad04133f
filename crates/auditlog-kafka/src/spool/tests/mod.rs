//! The spool against real files in temporary directories: recovery at
//! open, fsync and group commit, taking and releasing records.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use super::record::{self, HEADER_LEN};
use super::*;

/// Every record at once.
const ALL: usize = usize::MAX;

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn open(config: &SpoolConfig) -> (Spool, Recovery) {
    Spool::open(config).expect("open")
}

/// Distinct bytes for record `i`.
fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 31 + j * 7) as u8).collect()
}

/// No key, an empty key, or a short one.
fn key(i: usize) -> Option<Vec<u8>> {
    match i % 3 {
        0 => None,
        1 => Some(Vec::new()),
        _ => Some(format!("tenant-{i}").into_bytes()),
    }
}

fn record(seq: u64, i: usize, len: usize) -> SpoolRecord {
    SpoolRecord {
        seq,
        key: key(i),
        payload: payload(i, len),
    }
}

fn append(spool: &Spool, record: &SpoolRecord) -> u64 {
    spool
        .append(record.key.as_deref(), &record.payload, false)
        .expect("append")
}

fn encoded_len(record: &SpoolRecord) -> u64 {
    (HEADER_LEN + record::body_len(record.key.as_deref(), &record.payload)) as u64
}

/// Segment files of `dir`, in order.
fn wal_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    files.sort();
    files
}

fn first_seq(path: &Path) -> u64 {
    path.file_stem().unwrap().to_str().unwrap().parse().unwrap()
}

fn seqs(records: &[SpoolRecord]) -> Vec<u64> {
    records.iter().map(|r| r.seq).collect()
}

/// Polls (no timing assertion: panics only if it never happens).
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

mod recovery;
mod sync;
mod taking;
