//! Random sequences of append, take, release, retry, reopen and torn tails
//! against a model: after every step the spool holds exactly what was
//! appended and not released, hands it out in order, and replays it after
//! a reopen.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::record::{self, HEADER_LEN};
use super::*;

#[derive(Debug, Clone)]
enum Op {
    Append {
        key: Option<Vec<u8>>,
        len: usize,
        sent: bool,
    },
    Take(usize),
    /// Of any outstanding record (taken or not).
    Release(usize),
    /// Of a taken record.
    Retry(usize),
    Reopen,
    /// Cut this many bytes (at most all but one) of the last record.
    TearTail(u64),
    /// Append garbage to the last segment.
    Garbage(Vec<u8>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
            0..1500usize,
            any::<bool>(),
        )
            .prop_map(|(key, len, sent)| Op::Append { key, len, sent }),
        3 => (1..20usize).prop_map(Op::Take),
        4 => any::<usize>().prop_map(Op::Release),
        1 => any::<usize>().prop_map(Op::Retry),
        1 => Just(Op::Reopen),
        1 => (1..64u64).prop_map(Op::TearTail),
        1 => proptest::collection::vec(any::<u8>(), 1..40).prop_map(Op::Garbage),
    ]
}

type Data = (Option<Vec<u8>>, Vec<u8>);

/// What the spool should hold.
#[derive(Debug, Default)]
struct Model {
    /// Outstanding records.
    data: BTreeMap<u64, Data>,
    file_unsent: BTreeSet<u64>,
    retry: BTreeSet<u64>,
    taken: BTreeSet<u64>,
    next_seq: u64,
    /// Seq and encoded size of the last record appended, while it is the
    /// last one in the last segment.
    last: Option<(u64, u64)>,
}

impl Model {
    fn reopened(&mut self) {
        self.file_unsent = self.data.keys().copied().collect();
        self.retry.clear();
        self.taken.clear();
    }
}

fn last_segment(dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    files.sort();
    files.pop().expect("an active segment")
}

fn wal_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .map(|p| p.metadata().unwrap().len())
        .sum()
}

fn check(spool: &Spool, model: &Model, dir: &Path) {
    let stats = spool.stats();
    assert_eq!(stats.outstanding, model.data.len() as u64);
    assert_eq!(
        stats.unsent,
        (model.retry.len() + model.file_unsent.len()) as u64
    );
    assert_eq!(spool.has_unsent(), stats.unsent > 0);
    spool.flush_acks();
    assert_eq!(spool.stats().bytes, wal_bytes(dir));
}

fn reopen(config: &SpoolConfig, model: &mut Model) -> (Spool, Recovery) {
    let (spool, recovery) = Spool::open(config).expect("open");
    assert_eq!(recovery.records, model.data.len() as u64, "{recovery:?}");
    assert!(recovery.corrupt.is_empty(), "{recovery:?}");
    model.reopened();
    (spool, recovery)
}

fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let config = SpoolConfig::new(dir).segment_bytes(4096);
    let mut model = Model {
        next_seq: 1,
        ..Model::default()
    };
    let mut spool = Some(Spool::open(&config).unwrap().0);
    for op in ops {
        let s = spool.as_ref().expect("open");
        match op {
            Op::Append { key, len, sent } => {
                let sent = sent && model.file_unsent.is_empty();
                let seq = model.next_seq;
                let payload: Vec<u8> = (0..len).map(|j| (seq as usize * 7 + j) as u8).collect();
                assert_eq!(
                    s.append(key.as_deref(), &payload, sent).expect("append"),
                    seq
                );
                model.next_seq += 1;
                let size = (HEADER_LEN + record::body_len(key.as_deref(), &payload)) as u64;
                model.last = Some((seq, size));
                model.data.insert(seq, (key, payload));
                if sent {
                    model.taken.insert(seq);
                } else {
                    model.file_unsent.insert(seq);
                }
            }
            Op::Take(n) => {
                let expected: Vec<u64> = model
                    .retry
                    .iter()
                    .chain(&model.file_unsent)
                    .take(n)
                    .copied()
                    .collect();
                let taken = s.take_unsent(n).unwrap();
                assert_eq!(taken.iter().map(|r| r.seq).collect::<Vec<_>>(), expected);
                for record in taken {
                    let (key, payload) = &model.data[&record.seq];
                    assert_eq!((&record.key, &record.payload), (key, payload));
                    model.retry.remove(&record.seq);
                    model.file_unsent.remove(&record.seq);
                    model.taken.insert(record.seq);
                }
            }
            Op::Release(i) => {
                if let Some(&seq) = model.data.keys().nth(i % model.data.len().max(1)) {
                    s.release(seq);
                    model.data.remove(&seq);
                    model.taken.remove(&seq);
                    model.retry.remove(&seq);
                    model.file_unsent.remove(&seq);
                }
            }
            Op::Retry(i) => {
                if let Some(&seq) = model.taken.iter().nth(i % model.taken.len().max(1)) {
                    let (key, payload) = model.data[&seq].clone();
                    s.retry(SpoolRecord { seq, key, payload });
                    model.taken.remove(&seq);
                    model.retry.insert(seq);
                }
            }
            Op::Reopen => {
                drop(spool.take());
                let (s, _) = reopen(&config, &mut model);
                model.last = None; // a new active segment
                spool = Some(s);
            }
            Op::TearTail(cut) => {
                drop(spool.take());
                let segment = last_segment(dir);
                let len = segment.metadata().unwrap().len();
                let torn = match model.last {
                    Some((seq, size)) if len > 0 => {
                        let cut = cut.min(size - 1);
                        OpenOptions::new()
                            .write(true)
                            .open(&segment)
                            .unwrap()
                            .set_len(len - cut)
                            .unwrap();
                        model.data.remove(&seq);
                        model.next_seq = seq; // handed out again
                        Some(size - cut)
                    }
                    _ => None,
                };
                let (s, recovery) = reopen(&config, &mut model);
                assert_eq!(recovery.torn_tails, u64::from(torn.is_some()));
                assert_eq!(recovery.torn_bytes, torn.unwrap_or(0));
                model.last = None;
                spool = Some(s);
            }
            Op::Garbage(bytes) => {
                drop(spool.take());
                let segment = last_segment(dir);
                OpenOptions::new()
                    .append(true)
                    .open(&segment)
                    .unwrap()
                    .write_all(&bytes)
                    .unwrap();
                let (s, recovery) = reopen(&config, &mut model);
                assert_eq!(
                    (recovery.torn_tails, recovery.torn_bytes),
                    (1, bytes.len() as u64)
                );
                model.last = None;
                spool = Some(s);
            }
        }
        check(spool.as_ref().unwrap(), &model, dir);
    }
    drop(spool);
    let (spool, _) = reopen(&config, &mut model);
    let replayed = spool.take_unsent(usize::MAX).unwrap();
    let expected: Vec<SpoolRecord> = model
        .data
        .into_iter()
        .map(|(seq, (key, payload))| SpoolRecord { seq, key, payload })
        .collect();
    assert_eq!(replayed, expected);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_spool_holds_what_was_appended_and_not_released(ops in proptest::collection::vec(op(), 1..80)) {
        run(ops);
    }
}
