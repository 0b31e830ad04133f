//! Segment files (names, creation, opening, deletion, setting aside) and
//! what is known of each one in memory: its size and which of its records
//! are still outstanding.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use auditlog_sink::owner_only;

/// `<first seq, 20 digits>.wal`.
pub(super) fn wal_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:020}.wal"))
}

/// `<first seq, 20 digits>.ack`: seqs (u64 LE) of the segment's released records.
pub(super) fn ack_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:020}.ack"))
}

/// The segments and ack files in `dir`, by first seq.
pub(super) fn list(dir: &Path) -> io::Result<(BTreeSet<u64>, BTreeSet<u64>)> {
    let (mut wal, mut ack) = (BTreeSet::new(), BTreeSet::new());
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some((stem, ext)) = name.to_str().and_then(|n| n.split_once('.')) else {
            continue;
        };
        if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(first) = stem.parse() else { continue };
        match ext {
            "wal" => wal.insert(first),
            "ack" => ack.insert(first),
            _ => false,
        };
    }
    Ok((wal, ack))
}

/// A new, empty segment (`0600`) opened for appending; the directory is synced.
pub(super) fn create(dir: &Path, first: u64) -> io::Result<File> {
    let file = owner_only::open(
        owner_only::options().append(true).create_new(true),
        &wal_path(dir, first),
    )?;
    owner_only::sync_dir(dir)?;
    Ok(file)
}

/// Opens a file of the spool (segment, ack file, `LOCK`) with `options`
/// (from [`owner_only::options`]): never through a symbolic link, only a
/// regular file of this user, made `0600` if it was not (an older version
/// created them `0644`).
pub(super) fn open(options: &OpenOptions, path: &Path) -> io::Result<File> {
    let file = owner_only::open(options, path)?;
    owner_only::restrict(&file)?;
    Ok(file)
}

/// Renames `path` to `<path>.corrupt` (or `.corrupt.1`, ... when taken): it
/// is kept for inspection, and its name no longer looks like a spool file.
/// Renaming a symbolic link renames the link, never its target.
pub(super) fn move_aside(path: &Path) -> io::Result<PathBuf> {
    for n in 0u32.. {
        let mut name = path.as_os_str().to_owned();
        name.push(match n {
            0 => ".corrupt".to_owned(),
            n => format!(".corrupt.{n}"),
        });
        let to = PathBuf::from(name);
        match fs::symlink_metadata(&to) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                fs::rename(path, &to).map_err(|error| {
                    io::Error::new(
                        error.kind(),
                        format!("cannot move {} aside: {error}", path.display()),
                    )
                })?;
                return Ok(to);
            }
            Err(error) => return Err(error),
            Ok(_) => {}
        }
    }
    unreachable!("a free .corrupt name among 2^32")
}

/// Deletes a segment, then its ack file (a crash in between leaves an
/// orphan ack file, which recovery deletes; the other order would replay
/// the whole segment).
pub(super) fn remove(dir: &Path, first: u64) -> io::Result<()> {
    for path in [wal_path(dir, first), ack_path(dir, first)] {
        match fs::remove_file(&path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
    }
    Ok(())
}

/// One segment in memory. Its records have increasing seqs from `first`,
/// one bit each (set: outstanding, not released).
#[derive(Debug)]
pub(super) struct Segment {
    pub(super) first: u64,
    /// Bytes in the file.
    pub(super) size: u64,
    bits: Vec<u64>,
    /// Seqs `first..first + span` belong here.
    span: u64,
    /// Set bits.
    pub(super) live: u64,
    /// Corrupt regions found at recovery (offset, bytes): the reader jumps them.
    pub(super) skips: Vec<(u64, u64)>,
}

impl Segment {
    pub(super) fn new(first: u64) -> Self {
        Segment {
            first,
            size: 0,
            bits: Vec::new(),
            span: 0,
            live: 0,
            skips: Vec::new(),
        }
    }

    pub(super) fn contains(&self, seq: u64) -> bool {
        seq >= self.first && seq - self.first < self.span
    }

    /// Adds record `seq` (above every seq so far), outstanding or not.
    pub(super) fn push(&mut self, seq: u64, outstanding: bool) {
        debug_assert!(seq >= self.first + self.span);
        self.span = seq - self.first + 1;
        let words = self.span.div_ceil(64) as usize;
        if self.bits.len() < words {
            self.bits.resize(words, 0);
        }
        if outstanding {
            let i = seq - self.first;
            self.bits[(i / 64) as usize] |= 1 << (i % 64);
            self.live += 1;
        }
    }

    pub(super) fn is_live(&self, seq: u64) -> bool {
        self.contains(seq) && {
            let i = seq - self.first;
            self.bits[(i / 64) as usize] & (1 << (i % 64)) != 0
        }
    }

    /// Clears `seq`'s bit; whether it was set.
    pub(super) fn clear(&mut self, seq: u64) -> bool {
        if !self.is_live(seq) {
            return false;
        }
        let i = seq - self.first;
        self.bits[(i / 64) as usize] &= !(1 << (i % 64));
        self.live -= 1;
        true
    }

    /// Outstanding records with seqs in `seqs`.
    pub(super) fn count_live(&self, seqs: Range<u64>) -> u64 {
        seqs.filter(|&seq| self.is_live(seq)).count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_follow_pushes_and_clears() {
        let mut segment = Segment::new(100);
        for seq in 100..300 {
            segment.push(seq, seq % 3 != 0);
        }
        segment.push(305, true); // a gap: 300..305 were corrupt
        assert!(segment.contains(302) && !segment.is_live(302) && !segment.contains(306));
        assert_eq!(segment.live, segment.count_live(0..1000));
        assert!(segment.clear(101) && !segment.clear(101) && !segment.clear(102));
        assert!(!segment.clear(99) && !segment.clear(400));
        assert_eq!(segment.live, segment.count_live(100..306));
    }
}
