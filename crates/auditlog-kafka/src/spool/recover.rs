//! Reading a spool directory back at `open`: records, acks, torn tails,
//! corrupt regions.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use auditlog_sink::owner_only;

use super::record::Scanner;
use super::segment::{self, Segment};

/// What `open` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Segment files found.
    pub segments: u64,
    /// Records not known to be delivered: replayed, in order.
    pub records: u64,
    /// Records skipped because their ack file says they were delivered.
    pub already_released: u64,
    /// Last segments cut after their last whole record (0 or 1).
    pub torn_tails: u64,
    /// Bytes cut.
    pub torn_bytes: u64,
    /// Regions skipped because they do not hold valid records.
    pub corrupt: Vec<CorruptRecord>,
    /// Files named like segments or ack files that were not regular files of
    /// this user, or could not be read: renamed, not used.
    pub moved_aside: Vec<MovedAside>,
}

/// A file of the spool directory renamed `<name>.corrupt` at open instead
/// of being read: a symbolic link, not a regular file, another user's, or
/// unreadable. The records of a segment moved aside are not replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedAside {
    /// Its name in the spool directory.
    pub from: PathBuf,
    /// Its name now.
    pub to: PathBuf,
    /// Why it could not be used.
    pub reason: String,
}

/// A region of a segment that does not hold valid records: skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptRecord {
    /// The segment file.
    pub segment: PathBuf,
    /// Where the region starts in it.
    pub offset: u64,
    /// Its length.
    pub bytes: u64,
    /// What was wrong with its first bytes (bad magic, CRC mismatch, ...).
    pub reason: String,
}

/// The segments found, and what was found in them.
#[derive(Debug)]
pub(super) struct Recovered {
    pub(super) segments: BTreeMap<u64, Segment>,
    /// Highest seq found (in a record, or implied by a segment's name), plus one.
    pub(super) next_seq: u64,
    pub(super) report: Recovery,
}

/// Scans every segment of `dir` in order, truncating a torn tail of the last
/// one and syncing each (what is replayed must be durable first). A segment
/// or ack file that is not a regular file of this user, or cannot be read,
/// is moved aside, never followed or cut.
pub(super) fn recover(dir: &Path) -> io::Result<Recovered> {
    let (wal, ack) = segment::list(dir)?;
    let orphans: Vec<u64> = ack.difference(&wal).copied().collect();
    for orphan in &orphans {
        fs::remove_file(segment::ack_path(dir, *orphan))?;
    }
    if !orphans.is_empty() {
        // A removed ack back after a crash would release records that a new
        // segment with its name gets.
        owner_only::sync_dir(dir)?;
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
        let acked = read_acks(dir, first, &mut report)?;
        let scan = Scan {
            dir,
            first,
            next_first,
            acked: &acked,
        };
        // Counted only once the whole segment was read.
        let (mut seq, mut found) = (last_seq, Recovery::default());
        match scan.run(&mut seq, &mut found) {
            Ok(segment) => {
                last_seq = seq;
                report.add(found);
                segments.insert(first, segment);
            }
            Err(error) => {
                let path = segment::wal_path(dir, first);
                set_aside(&path, &error, &mut report)?;
                let ack = segment::ack_path(dir, first);
                if fs::symlink_metadata(&ack).is_ok() {
                    // Its acks go with it: a new segment may get its name.
                    let reason = format!("the ack file of {}", path.display());
                    set_aside(&ack, &io::Error::other(reason), &mut report)?;
                }
            }
        }
    }
    if !report.moved_aside.is_empty() {
        owner_only::sync_dir(dir)?;
    }
    // A segment moved aside still counts here: its seqs are not handed out
    // before its first.
    let next_seq = (last_seq + 1).max(firsts.last().copied().unwrap_or(1));
    log(dir, &report);
    Ok(Recovered {
        segments,
        next_seq,
        report,
    })
}

impl Recovery {
    /// Adds what one segment held.
    fn add(&mut self, segment: Recovery) {
        self.records += segment.records;
        self.already_released += segment.already_released;
        self.torn_tails += segment.torn_tails;
        self.torn_bytes += segment.torn_bytes;
        self.corrupt.extend(segment.corrupt);
    }
}

/// Renames `path` to `<path>.corrupt` and reports it.
fn set_aside(path: &Path, error: &io::Error, report: &mut Recovery) -> io::Result<()> {
    let to = segment::move_aside(path)?;
    report.moved_aside.push(MovedAside {
        from: path.to_path_buf(),
        to,
        reason: error.to_string(),
    });
    Ok(())
}

/// Seqs released from segment `first`, as its ack file says (a torn last
/// entry is ignored). An ack file that cannot be used is moved aside: its
/// records are replayed (duplicates, never a loss).
fn read_acks(dir: &Path, first: u64, report: &mut Recovery) -> io::Result<HashSet<u64>> {
    let path = segment::ack_path(dir, first);
    let read = segment::open(owner_only::options().read(true), &path).and_then(|mut file| {
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map(|_| bytes)
    });
    match read {
        Ok(bytes) => Ok(bytes
            .chunks_exact(8)
            .map(|seq| u64::from_le_bytes(seq.try_into().expect("8 bytes")))
            .collect()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(HashSet::new()),
        Err(error) => {
            set_aside(&path, &error, report)?;
            Ok(HashSet::new())
        }
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
        // A symbolic link or another kind of file fails here, before
        // anything is read or cut.
        let file = segment::open(owner_only::options().read(true).write(true), &path)?;
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
    for moved in &report.moved_aside {
        tracing::warn!(
            target: "auditlog_kafka",
            "audit spool: {} moved aside to {} (not replayed): {}",
            moved.from.display(),
            moved.to.display(),
            moved.reason,
        );
    }
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
