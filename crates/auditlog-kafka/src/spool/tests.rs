//! The spool against real files in temporary directories.

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

#[test]
fn records_of_any_size_come_back_identical_and_in_order_after_reopen() {
    let dir = temp();
    let config = SpoolConfig::new(dir.path()).segment_bytes(256 * 1024);
    let sizes = [0, 1, 11, 12, 13, 100, 1000, 4095, 4096, 65_536, 100 * 1024];
    let written: Vec<SpoolRecord> = (0..120)
        .map(|i| record(i as u64 + 1, i, sizes[i % sizes.len()]))
        .collect();
    {
        let (spool, recovery) = open(&config);
        assert_eq!(recovery, Recovery::default());
        for record in &written {
            assert_eq!(append(&spool, record), record.seq);
        }
        // Before any reopen, the same records come out of the files.
        assert_eq!(spool.take_unsent(ALL).unwrap(), written);
        assert!(!spool.has_unsent());
    }
    assert!(wal_files(dir.path()).len() > 2, "small segments roll");
    let (spool, recovery) = open(&config);
    assert_eq!(recovery.records, written.len() as u64);
    assert_eq!(recovery.segments, wal_files(dir.path()).len() as u64 - 1);
    assert!(
        recovery.corrupt.is_empty() && recovery.torn_tails == 0,
        "{recovery:?}"
    );
    assert!(spool.has_unsent());
    let mut replayed = Vec::new();
    loop {
        let batch = spool.take_unsent(7).unwrap();
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 7);
        replayed.extend(batch);
    }
    assert_eq!(replayed, written);
    let stats = spool.stats();
    assert_eq!(
        (stats.outstanding, stats.unsent, stats.last_seq),
        (120, 0, 120)
    );
    assert_eq!(stats.bytes, written.iter().map(encoded_len).sum::<u64>());
}

#[test]
fn released_segments_are_deleted_and_only_unreleased_records_are_replayed() {
    let dir = temp();
    let config = SpoolConfig::new(dir.path()).segment_bytes(4096);
    let written: Vec<SpoolRecord> = (0..40).map(|i| record(i as u64 + 1, i, 500)).collect();
    let (spool, _) = open(&config);
    for record in &written {
        append(&spool, record);
    }
    assert_eq!(spool.take_unsent(ALL).unwrap(), written);
    let files = wal_files(dir.path());
    let (first, second) = (first_seq(&files[0]), first_seq(&files[1]));
    assert_eq!(first, 1);
    // All of the first segment, and every fifth record after it.
    let released: Vec<u64> = (first..second)
        .chain((second..=40).filter(|s| s % 5 == 0))
        .collect();
    for &seq in &released {
        spool.release(seq);
    }
    spool.release(3); // twice: ignored
    spool.release(0);
    spool.release(1_000);
    spool.flush_acks();
    assert!(!files[0].exists(), "the released segment is deleted");
    assert!(!files[0].with_extension("ack").exists());
    assert!(files[1].exists() && files[1].with_extension("ack").exists());
    let stats = spool.stats();
    assert_eq!(stats.released, released.len() as u64);
    assert_eq!(stats.outstanding, 40 - released.len() as u64);
    let on_disk: u64 = wal_files(dir.path())
        .iter()
        .map(|f| f.metadata().unwrap().len())
        .sum();
    assert_eq!(stats.bytes, on_disk);
    assert_eq!(stats.segments, wal_files(dir.path()).len() as u64);
    drop(spool);

    let (spool, recovery) = open(&config);
    let kept: Vec<SpoolRecord> = written
        .iter()
        .filter(|r| !released.contains(&r.seq))
        .cloned()
        .collect();
    assert_eq!(recovery.records, kept.len() as u64);
    assert_eq!(
        recovery.already_released,
        released.iter().filter(|&&s| s >= second).count() as u64
    );
    assert_eq!(spool.take_unsent(ALL).unwrap(), kept);
    assert_eq!(append(&spool, &record(0, 99, 10)), 41);
}

#[test]
fn segments_fully_released_before_a_crash_are_deleted_at_open() {
    let dir = temp();
    let config = SpoolConfig::new(dir.path()).segment_bytes(4096);
    let (spool, _) = open(&config);
    for i in 0..30 {
        append(&spool, &record(0, i, 500));
    }
    spool.take_unsent(ALL).unwrap();
    for seq in 1..=30 {
        spool.release(seq);
    }
    drop(spool); // acks written, segments deleted
    let (spool, recovery) = open(&config);
    assert_eq!((recovery.records, spool.stats().outstanding), (0, 0));
    assert_eq!(wal_files(dir.path()).len(), 1, "only the active segment");
    assert_eq!(
        append(&spool, &record(0, 0, 1)),
        31,
        "seqs continue after deletion"
    );
}

#[test]
fn a_torn_tail_is_cut_and_every_whole_record_recovered() {
    for cut in [1, 5, 12, 13, 300] {
        let dir = temp();
        let config = SpoolConfig::new(dir.path());
        let written: Vec<SpoolRecord> = (0..10).map(|i| record(i as u64 + 1, i, 400)).collect();
        {
            let (spool, _) = open(&config);
            for record in &written {
                append(&spool, record);
            }
        }
        let segment = &wal_files(dir.path())[0];
        let len = segment.metadata().unwrap().len();
        let last = encoded_len(&written[9]);
        OpenOptions::new()
            .write(true)
            .open(segment)
            .unwrap()
            .set_len(len - cut)
            .unwrap();

        let (spool, recovery) = open(&config);
        assert_eq!(
            (recovery.torn_tails, recovery.torn_bytes),
            (1, last - cut),
            "cut {cut}"
        );
        assert!(recovery.corrupt.is_empty());
        assert_eq!(recovery.records, 9);
        assert_eq!(
            segment.metadata().unwrap().len(),
            len - last,
            "cut at the last whole record"
        );
        assert_eq!(spool.take_unsent(ALL).unwrap(), written[..9]);
        assert_eq!(append(&spool, &written[9]), 10);
        drop(spool);

        let (spool, recovery) = open(&config);
        assert_eq!(
            (recovery.torn_tails, recovery.records),
            (0, 10),
            "{recovery:?}"
        );
        assert!(recovery.corrupt.is_empty());
        assert_eq!(spool.take_unsent(ALL).unwrap(), written);
    }
}

#[test]
fn garbage_after_the_last_record_is_a_torn_tail() {
    let dir = temp();
    let config = SpoolConfig::new(dir.path());
    let written: Vec<SpoolRecord> = (0..5).map(|i| record(i as u64 + 1, i, 50)).collect();
    {
        let (spool, _) = open(&config);
        for record in &written {
            append(&spool, record);
        }
    }
    let segment = &wal_files(dir.path())[0];
    // Garbage starting like a record: magic, then nonsense.
    let mut garbage = b"AUDW".to_vec();
    garbage.extend((0..96).map(|i| (i * 13) as u8));
    OpenOptions::new()
        .append(true)
        .open(segment)
        .unwrap()
        .write_all(&garbage)
        .unwrap();

    let (spool, recovery) = open(&config);
    assert_eq!(
        (recovery.torn_tails, recovery.torn_bytes, recovery.records),
        (1, 100, 5)
    );
    assert_eq!(spool.take_unsent(ALL).unwrap(), written);
    drop(spool);
    let (_, recovery) = open(&config);
    assert_eq!((recovery.torn_tails, recovery.records), (0, 5));
}

/// Writes 20 records of 300 bytes in one segment; returns them and the
/// offset of each.
fn twenty_records(config: &SpoolConfig) -> (Vec<SpoolRecord>, Vec<u64>) {
    let written: Vec<SpoolRecord> = (0..20).map(|i| record(i as u64 + 1, i, 300)).collect();
    let (spool, _) = open(config);
    let mut offsets = Vec::new();
    let mut offset = 0;
    for record in &written {
        offsets.push(offset);
        offset += encoded_len(record);
        append(&spool, record);
    }
    (written, offsets)
}

fn patch(path: &Path, offset: u64, bytes: &[u8]) {
    let mut contents = fs::read(path).unwrap();
    contents[offset as usize..offset as usize + bytes.len()].copy_from_slice(bytes);
    fs::write(path, contents).unwrap();
}

#[test]
fn a_corrupt_record_in_the_middle_is_skipped_and_reported() {
    // A flipped payload byte (CRC), a smashed length, a smashed magic.
    let cases: [(u64, &[u8], &str); 3] = [
        (HEADER_LEN as u64 + 12 + 100, &[0xFF], "CRC mismatch"),
        (4, &[0x00, 0xFF, 0xFF, 0x7F], "absurd body length"),
        (0, b"XXXX", "bad magic"),
    ];
    for (at, bytes, reason) in cases {
        let dir = temp();
        let config = SpoolConfig::new(dir.path());
        let (written, offsets) = twenty_records(&config);
        let segment = wal_files(dir.path())[0].clone();
        let before = fs::read(&segment).unwrap();
        let mut smashed = before.clone();
        let at = (offsets[7] + at) as usize;
        for (i, &b) in bytes.iter().enumerate() {
            smashed[at + i] = if b == before[at + i] { b ^ 1 } else { b };
        }
        fs::write(&segment, &smashed).unwrap();

        let (spool, recovery) = open(&config);
        assert_eq!(recovery.corrupt.len(), 1, "{recovery:?}");
        let corrupt = &recovery.corrupt[0];
        assert_eq!(corrupt.segment, segment);
        assert_eq!(corrupt.offset, offsets[7]);
        assert_eq!(corrupt.bytes, encoded_len(&written[7]));
        assert!(corrupt.reason.contains(reason), "{}", corrupt.reason);
        assert_eq!((recovery.records, recovery.torn_tails), (19, 0));
        let expected: Vec<SpoolRecord> = written.iter().filter(|r| r.seq != 8).cloned().collect();
        assert_eq!(spool.take_unsent(ALL).unwrap(), expected);
        assert_eq!(
            fs::metadata(&segment).unwrap().len(),
            before.len() as u64,
            "not truncated"
        );
    }
}

#[test]
fn a_bad_end_of_an_earlier_segment_is_reported_not_cut() {
    let dir = temp();
    let config = SpoolConfig::new(dir.path()).segment_bytes(4096);
    let written: Vec<SpoolRecord> = (0..20).map(|i| record(i as u64 + 1, i, 500)).collect();
    {
        let (spool, _) = open(&config);
        for record in &written {
            append(&spool, record);
        }
    }
    let files = wal_files(dir.path());
    let (first, second) = (&files[0], first_seq(&files[1]));
    let len = first.metadata().unwrap().len();
    let last = encoded_len(&written[second as usize - 2]);
    patch(first, len - last + 20, b"garbage!");

    let (spool, recovery) = open(&config);
    assert_eq!(recovery.torn_tails, 0);
    assert_eq!(recovery.corrupt.len(), 1);
    assert_eq!(
        (recovery.corrupt[0].offset, recovery.corrupt[0].bytes),
        (len - last, last)
    );
    assert_eq!(first.metadata().unwrap().len(), len);
    let expected: Vec<SpoolRecord> = written
        .iter()
        .filter(|r| r.seq != second - 1)
        .cloned()
        .collect();
    assert_eq!(spool.take_unsent(ALL).unwrap(), expected);
}

#[test]
fn empty_and_headerless_files_and_orphan_acks_are_handled() {
    let dir = temp();
    fs::write(dir.path().join("00000000000000000001.wal"), b"AUD").unwrap();
    fs::write(dir.path().join("00000000000000000007.wal"), b"").unwrap();
    fs::write(
        dir.path().join("00000000000000000003.ack"),
        5u64.to_le_bytes(),
    )
    .unwrap();
    fs::write(dir.path().join("notes.txt"), b"not ours").unwrap();
    let config = SpoolConfig::new(dir.path());
    let (spool, recovery) = open(&config);
    assert_eq!(recovery.segments, 2);
    assert_eq!(recovery.corrupt.len(), 1, "{recovery:?}");
    assert_eq!(
        (recovery.corrupt[0].offset, recovery.corrupt[0].bytes),
        (0, 3)
    );
    assert!(recovery.corrupt[0].reason.contains("short read"));
    assert_eq!(recovery.records, 0);
    assert!(!dir.path().join("00000000000000000003.ack").exists());
    assert!(
        !dir.path().join("00000000000000000001.wal").exists(),
        "no records left in it"
    );
    assert!(dir.path().join("notes.txt").exists());
    assert_eq!(
        append(&spool, &record(0, 0, 3)),
        7,
        "the empty segment's name keeps the seq"
    );
    assert_eq!(wal_files(dir.path()).len(), 1);
}

#[tokio::test]
async fn a_full_spool_refuses_then_has_room_once_a_segment_is_released() {
    let dir = temp();
    let config = SpoolConfig::new(dir.path())
        .max_bytes(64 * 1024)
        .segment_bytes(1 << 30);
    assert_eq!(config.segment_bytes_limit(), 16 * 1024);
    let (spool, _) = open(&config);
    let one = record(0, 0, 1000);
    let size = encoded_len(&one);
    let mut appended = 0;
    loop {
        match spool.append(one.key.as_deref(), &one.payload, false) {
            Ok(_) => appended += 1,
            Err(AppendError::Full) => break,
            Err(error) => panic!("{error}"),
        }
        assert!(appended < 1000);
    }
    assert_eq!(appended, 64 * 1024 / size);
    assert!(spool.stats().bytes + size > 64 * 1024);
    let within = |timeout: Duration| tokio::time::Instant::now() + timeout;
    assert!(
        !spool
            .wait_for_room(size, within(Duration::from_millis(50)))
            .await,
        "nothing released"
    );
    let taken = spool.take_unsent(ALL).unwrap();
    assert!(!spool.wait_for_room(size, within(Duration::ZERO)).await);
    for record in &taken[..20] {
        spool.release(record.seq); // the first segment and more
    }
    assert!(
        spool
            .wait_for_room(size, within(Duration::from_secs(30)))
            .await
    );
    spool
        .append(one.key.as_deref(), &one.payload, false)
        .expect("room again");
    assert!(
        !spool.wait_for_room(1 << 20, within(Duration::ZERO)).await,
        "larger than the spool"
    );
}

#[test]
fn fsync_always_group_commit_one_fdatasync_for_waiters_of_the_moment() {
    let dir = temp();
    let config = SpoolConfig::new(dir.path()).fsync(Fsync::Always);
    let (spool, _) = open(&config);
    let spool = Arc::new(spool);
    let syncs_before = spool.fdatasyncs();
    // A slow disk: fdatasyncs wait until every writer has asked for one.
    let gate = spool.core.sync_gate.lock().unwrap();
    let writers = 16;
    let threads: Vec<_> = (0..writers)
        .map(|i| {
            let spool = spool.clone();
            std::thread::spawn(move || {
                let seq = append(&spool, &record(0, i, 100));
                spool.wait_synced(seq).unwrap();
                assert!(spool.stats().synced_seq >= seq);
                seq
            })
        })
        .collect();
    eventually("every writer waits", || {
        spool.core.sync.lock().unwrap().requested == writers as u64
    });
    drop(gate);
    let mut seqs: Vec<u64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    seqs.sort();
    assert_eq!(seqs, (1..=writers as u64).collect::<Vec<_>>());
    let syncs = spool.fdatasyncs() - syncs_before;
    assert!(
        syncs >= 1 && syncs < writers as u64,
        "{syncs} fdatasyncs for {writers} writers"
    );
}

#[test]
fn fsync_always_many_writers_every_seq_synced() {
    let dir = temp();
    let config = SpoolConfig::new(dir.path())
        .fsync(Fsync::Always)
        .segment_bytes(64 * 1024);
    let (spool, _) = open(&config);
    let spool = Arc::new(spool);
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (spool, barrier) = (spool.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..100 {
                    let seq = append(&spool, &record(0, t * 1000 + i, 200));
                    spool.wait_synced(seq).unwrap();
                    assert!(spool.stats().synced_seq >= seq);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let stats = spool.stats();
    assert_eq!((stats.appended, stats.synced_seq), (800, 800));
    assert!(spool.fdatasyncs() <= 800 + stats.segments);
}

#[test]
fn fsync_every_waiters_are_synced_at_once_not_at_the_interval() {
    let dir = temp();
    // An interval no test outlives: only an fdatasync on demand ends a wait.
    let config = SpoolConfig::new(dir.path()).fsync(Fsync::Every(Duration::from_secs(3600)));
    let (spool, _) = open(&config);
    let spool = Arc::new(spool);
    let seq = append(&spool, &record(0, 0, 10));
    let (done, waited) = std::sync::mpsc::channel();
    let waiter = spool.clone();
    std::thread::spawn(move || done.send(waiter.wait_synced(seq)).unwrap());
    waited
        .recv_timeout(Duration::from_secs(60))
        .expect("wait_synced waited for the interval")
        .unwrap();
    assert!(spool.stats().synced_seq >= seq);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let seq = append(&spool, &record(0, 1, 10));
    runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(60), spool.synced(seq)).await })
        .expect("synced waited for the interval")
        .unwrap();
    assert!(spool.stats().synced_seq >= seq);
    runtime.block_on(spool.synced(0)).unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn fsync_always_async_synced_does_not_block_the_runtime() {
    let dir = temp();
    let config = SpoolConfig::new(dir.path()).fsync(Fsync::Always);
    let (spool, _) = open(&config);
    let spool = Arc::new(spool);
    // On one runtime thread, both waits make progress together.
    let a = append(&spool, &record(0, 0, 10));
    let b = append(&spool, &record(0, 1, 10));
    let (ra, rb) = tokio::join!(spool.synced(a), spool.synced(b));
    ra.unwrap();
    rb.unwrap();
    assert!(spool.stats().synced_seq >= b);
}

#[test]
fn a_retried_record_comes_out_again_before_later_ones() {
    let dir = temp();
    let (spool, _) = open(&SpoolConfig::new(dir.path()));
    let written: Vec<SpoolRecord> = (0..6).map(|i| record(i as u64 + 1, i, 20)).collect();
    for record in &written {
        append(&spool, record);
    }
    let taken = spool.take_unsent(3).unwrap();
    assert_eq!(seqs(&taken), [1, 2, 3]);
    spool.retry(taken[1].clone());
    spool.retry(taken[1].clone()); // twice: once
    spool.retry(written[4].clone()); // not taken: ignored
    spool.release(1);
    spool.retry(taken[0].clone()); // released: ignored
    assert_eq!(spool.stats().retried, 1);
    assert_eq!(spool.stats().unsent, 4);
    assert_eq!(
        spool.take_unsent(ALL).unwrap(),
        [&written[1..2], &written[3..]].concat()
    );
    // Failed again after the others were taken: first again.
    spool.retry(written[5].clone());
    spool.retry(written[3].clone());
    assert_eq!(seqs(&spool.take_unsent(1).unwrap()), [4]);
    assert_eq!(seqs(&spool.take_unsent(ALL).unwrap()), [6]);
    assert!(!spool.has_unsent());
}

#[test]
fn sent_records_are_not_taken_but_replayed_after_a_crash_unless_released() {
    let dir = temp();
    let config = SpoolConfig::new(dir.path());
    {
        let (spool, _) = open(&config);
        for i in 0..4 {
            assert!(!spool.has_unsent());
            spool.append(None, &payload(i, 10), true).unwrap();
        }
        assert!(spool.take_unsent(ALL).unwrap().is_empty());
        spool.release(1);
        spool.release(3);
        assert_eq!(spool.stats().outstanding, 2);
    }
    let (spool, recovery) = open(&config);
    assert_eq!((recovery.records, recovery.already_released), (2, 2));
    assert_eq!(seqs(&spool.take_unsent(ALL).unwrap()), [2, 4]);
}

#[test]
fn a_second_open_of_the_same_directory_fails_until_the_first_is_dropped() {
    let dir = temp();
    let config = SpoolConfig::new(dir.path());
    let (spool, _) = open(&config);
    let error = Spool::open(&config).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);
    assert!(
        error
            .to_string()
            .contains(&dir.path().display().to_string()),
        "{error}"
    );
    drop(spool);
    Spool::open(&config).expect("free again");
}

#[test]
fn a_failed_write_leaves_the_segment_valid() {
    let dir = temp();
    let config = SpoolConfig::new(dir.path());
    let written: Vec<SpoolRecord> = (0..3).map(|i| record(i as u64 + 1, i, 100)).collect();
    {
        let (spool, _) = open(&config);
        append(&spool, &written[0]);
        let segment = &wal_files(dir.path())[0];
        let len = segment.metadata().unwrap().len();

        let huge = vec![0; record::MAX_BODY];
        match spool.append(None, &huge, false) {
            Err(AppendError::Io(error)) => {
                assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
                assert!(
                    error.to_string().contains("over the spool's limit"),
                    "{error}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(segment.metadata().unwrap().len(), len);

        spool.fail_next_write_after(30); // a disk full mid-record
        match spool.append(None, &payload(9, 100), false) {
            Err(AppendError::Io(error)) => {
                assert_eq!(error.kind(), std::io::ErrorKind::StorageFull)
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            segment.metadata().unwrap().len(),
            len,
            "the partial record is cut"
        );
        assert_eq!(spool.stats().appended, 1);
        assert_eq!(append(&spool, &written[1]), 2);
        assert_eq!(append(&spool, &written[2]), 3);
    }
    let (spool, recovery) = open(&config);
    assert_eq!((recovery.records, recovery.torn_tails), (3, 0));
    assert!(recovery.corrupt.is_empty());
    assert_eq!(spool.take_unsent(ALL).unwrap(), written);
}

#[test]
fn takers_releasers_and_appenders_at_once_account_for_every_record() {
    let dir = temp();
    let config = SpoolConfig::new(dir.path()).segment_bytes(8192);
    let (spool, _) = open(&config);
    let spool = Arc::new(spool);
    let total = 4 * 500;
    let appenders: Vec<_> = (0..4)
        .map(|t| {
            let spool = spool.clone();
            std::thread::spawn(move || {
                for i in 0..500 {
                    append(&spool, &record(0, t * 500 + i, 100));
                }
            })
        })
        .collect();
    let taker = {
        let spool = spool.clone();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while seen.len() < total {
                let batch = spool.take_unsent(33).unwrap();
                let batch_seqs = seqs(&batch);
                assert!(batch_seqs.windows(2).all(|w| w[0] < w[1]), "in order");
                for seq in batch_seqs {
                    spool.release(seq);
                    seen.push(seq);
                }
                std::thread::yield_now();
            }
            seen
        })
    };
    for appender in appenders {
        appender.join().unwrap();
    }
    let seen = taker.join().unwrap();
    assert_eq!(seen, (1..=total as u64).collect::<Vec<_>>());
    spool.flush_acks();
    let stats = spool.stats();
    assert_eq!(
        (stats.outstanding, stats.unsent, stats.released),
        (0, 0, total as u64)
    );
    assert_eq!(
        wal_files(dir.path()).len(),
        1,
        "every finished segment deleted"
    );
}

#[test]
fn a_read_error_keeps_the_retried_records_taken_before_it() {
    let dir = temp();
    let (spool, _) = open(&SpoolConfig::new(dir.path()).segment_bytes(4096));
    let written: Vec<SpoolRecord> = (0..12).map(|i| record(i as u64 + 1, i, 500)).collect();
    for record in &written {
        append(&spool, record);
    }
    let files = wal_files(dir.path());
    let second = first_seq(&files[1]) as usize;
    assert_eq!(
        spool.take_unsent(second - 1).unwrap(),
        written[..second - 1]
    );
    spool.retry(written[0].clone());
    fs::remove_file(&files[1]).unwrap(); // behind the spool's back
    assert_eq!(
        spool.take_unsent(ALL).unwrap(),
        written[..1],
        "the retried record"
    );
    let error = spool.take_unsent(ALL).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
}
