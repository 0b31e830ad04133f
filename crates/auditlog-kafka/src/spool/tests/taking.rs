//! Taking, retrying and releasing records, room in a full spool, and
//! failures on the way.

use super::*;

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
