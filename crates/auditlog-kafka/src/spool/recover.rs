//! Reading a spool directory back at `open`: records, acks, torn tails,
//! corrupt regions.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, OpenOptions};
use std::io;
use std::path::Path;

use super::record::Scanner;
use super::segment::{self, Segment};
use super::{CorruptRecord, Recovery};

/// The segments found, and what was found in them.
#[derive(Debug)]
pub(super) struct Recovered {
    pub segments: BTreeMap<u64, Segment>,
    /// Highest seq found (in a record, or implied by a segment's name), plus one.
    pub next_seq: u64,
    pub report: Recovery,
}

/// Scans every segment of `dir` in order, truncating a torn tail of the last
/// one and syncing each (what is replayed must be durable first).
pub(super) fn recover(dir: &Path) -> io::Result<Recovered> {
    let (wal, ack) = segment::list(dir)?;
    for orphan in ack.difference(&wal) {
        fs::remove_file(segment::ack_path(dir, *orphan))?;
    }
    let mut report = Recovery {
        segments: wal.len() as u64,
        ..Recovery::default()
    };
    let mut segments = BTreeMap::new();
    let mut last_seq = 0;
    let firsts: Vec<u64> = wal.iter().copied().collect();
    for (i, &first) in firsts.iter().enumerate() {
        let next_first = firsts.get(i + 1).copied();
        let acked = read_acks(dir, first)?;
        let scan = Scan {
            dir,
            first,
            next_first,
            acked: &acked,
        };
        let segment = scan.run(&mut last_seq, &mut report)?;
        segments.insert(first, segment);
    }
    let next_seq = (last_seq + 1).max(firsts.last().copied().unwrap_or(1));
    log(dir, &report);
    Ok(Recovered {
        segments,
        next_seq,
        report,
    })
}

/// Seqs released from segment `first`, as its ack file says (a torn last
/// entry is ignored).
fn read_acks(dir: &Path, first: u64) -> io::Result<HashSet<u64>> {
    match fs::read(segment::ack_path(dir, first)) {
        Ok(bytes) => Ok(bytes
            .chunks_exact(8)
            .map(|seq| u64::from_le_bytes(seq.try_into().expect("8 bytes")))
            .collect()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(HashSet::new()),
        Err(error) => Err(error),
    }
}

struct Scan<'a> {
    dir: &'a Path,
    first: u64,
    /// First seq of the next segment: this one's seqs are below it.
    next_first: Option<u64>,
    acked: &'a HashSet<u64>,
}

impl Scan<'_> {
    fn run(&self, last_seq: &mut u64, report: &mut Recovery) -> io::Result<Segment> {
        let path = segment::wal_path(self.dir, self.first);
        let file = OpenOptions::new().read(true).write(true).open(&path)?;
        let mut len = file.metadata()?.len();
        let mut scanner = Scanner::new(file.try_clone()?, len);
        let mut segment = Segment::new(self.first);
        let corrupt = |offset: u64, bytes: u64, reason: String| CorruptRecord {
            segment: path.clone(),
            offset,
            bytes,
            reason,
        };
        let mut pos = 0;
        while pos < len {
            let frame = scanner.frame(pos)?.map(|f| (f.seq, f.end));
            match frame {
                Ok((seq, end)) if seq <= *last_seq || !self.belongs(seq) => {
                    let reason = format!("seq {seq} out of order (after {})", *last_seq);
                    report.corrupt.push(corrupt(pos, end - pos, reason));
                    segment.skips.push((pos, end - pos));
                    pos = end;
                }
                Ok((seq, end)) => {
                    let released = self.acked.contains(&seq);
                    segment.push(seq, !released);
                    if released {
                        report.already_released += 1;
                    } else {
                        report.records += 1;
                    }
                    *last_seq = seq;
                    pos = end;
                }
                Err(reason) => match scanner.resync(pos + 1)? {
                    Some(next) => {
                        report.corrupt.push(corrupt(pos, next - pos, reason));
                        segment.skips.push((pos, next - pos));
                        pos = next;
                    }
                    None if self.next_first.is_none() => {
                        // Torn by a crash mid-write: cut it so appends and
                        // later opens find a clean end.
                        file.set_len(pos)?;
                        report.torn_tails += 1;
                        report.torn_bytes += len - pos;
                        len = pos;
                    }
                    None => {
                        report.corrupt.push(corrupt(pos, len - pos, reason));
                        segment.skips.push((pos, len - pos));
                        pos = len;
                    }
                },
            }
        }
        file.sync_data()?;
        segment.size = len;
        Ok(segment)
    }

    fn belongs(&self, seq: u64) -> bool {
        seq >= self.first && self.next_first.is_none_or(|next| seq < next)
    }
}

fn log(dir: &Path, report: &Recovery) {
    for corrupt in &report.corrupt {
        tracing::warn!(
            target: "auditlog_kafka",
            "audit spool: corrupt data skipped in {} at offset {} ({} bytes): {}",
            corrupt.segment.display(),
            corrupt.offset,
            corrupt.bytes,
            corrupt.reason,
        );
    }
    if report.torn_tails > 0 {
        tracing::warn!(
            target: "auditlog_kafka",
            "audit spool {}: torn tail of {} bytes cut (a write interrupted by a crash)",
            dir.display(),
            report.torn_bytes,
        );
    }
    if report.records > 0 {
        tracing::info!(
            target: "auditlog_kafka",
            "audit spool {}: {} undelivered records to replay ({} already delivered, skipped)",
            dir.display(),
            report.records,
            report.already_released,
        );
    }
}
