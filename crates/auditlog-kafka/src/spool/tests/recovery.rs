//! What opening a spool finds: records replayed, released ones skipped,
//! torn tails cut, corrupt records and odd files reported.

use super::*;

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
