//! When records reach the disk: fdatasyncs shared by waiters (group
//! commit), on demand and at the interval.

use super::*;

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
