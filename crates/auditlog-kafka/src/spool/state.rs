//! What the spool knows in memory: segments, the read cursor, the retry
//! queue, released records waiting to be written to ack files, counters.
//!
//! Every record is in one of three states: unsent (ahead of the cursor in
//! the segment files, or in the retry queue), taken (handed out, awaiting
//! `release` or `retry`), released (its bit cleared).

use std::collections::BTreeMap;
use std::fs::File;
use std::sync::Arc;

use super::segment::Segment;
use super::SpoolRecord;

/// Where `take_unsent` reads next: records at or after `offset` in segment
/// `segment` (and in the later segments) have seqs `>= seq` and were not
/// taken yet; records with lower seqs were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cursor {
    pub(super) segment: u64,
    pub(super) offset: u64,
    pub(super) seq: u64,
}

#[derive(Debug)]
pub(super) struct State {
    /// Live segments by first seq; the last one is the active one.
    pub(super) segments: BTreeMap<u64, Segment>,
    pub(super) active: u64,
    pub(super) active_file: Arc<File>,
    /// The last seq written (to `active_file` or to an earlier segment).
    pub(super) written_seq: u64,
    /// Bytes of segment files, those waiting for deletion included.
    pub(super) bytes: u64,
    pub(super) cursor: Cursor,
    /// Bumped when the cursor jumps (not by reading): a read in progress
    /// started from a stale cursor.
    pub(super) epoch: u64,
    /// Outstanding records ahead of the cursor (set bits with seq >= cursor.seq).
    pub(super) file_unsent: u64,
    /// Taken records whose delivery failed, by seq.
    pub(super) retry: BTreeMap<u64, SpoolRecord>,
    /// (segment, seq) released and not yet written to the ack files.
    pub(super) acks: Vec<(u64, u64)>,
    /// (segment, bytes) fully released and behind the cursor: to delete.
    pub(super) dead: Vec<(u64, u64)>,
    /// Segments buried and not deleted yet (`dead` is emptied before).
    pub(super) deleting: u64,
    pub(super) appended: u64,
    pub(super) released: u64,
    pub(super) retried: u64,
    pub(super) outstanding: u64,
}

impl State {
    pub(super) fn segment_of(&self, seq: u64) -> Option<&Segment> {
        let (_, segment) = self.segments.range(..=seq).next_back()?;
        segment.contains(seq).then_some(segment)
    }

    pub(super) fn is_live(&self, seq: u64) -> bool {
        self.segment_of(seq).is_some_and(|s| s.is_live(seq))
    }

    pub(super) fn unsent(&self) -> u64 {
        self.file_unsent + self.retry.len() as u64
    }

    /// Registers a record just written to the active segment, now `size` long.
    pub(super) fn appended(&mut self, seq: u64, bytes: u64, size: u64, sent: bool) {
        let active = self.segments.get_mut(&self.active).expect("active segment");
        active.size = size;
        active.push(seq, true);
        self.bytes += bytes;
        self.written_seq = seq;
        self.appended += 1;
        self.outstanding += 1;
        if sent && self.file_unsent == 0 {
            // The cursor is at the end (see `snap`): step over the record.
            self.cursor = Cursor {
                segment: self.active,
                offset: size,
                seq: seq + 1,
            };
        } else {
            // Sent while older records wait would make it be sent twice
            // (after them, again): a duplicate, never a loss.
            debug_assert!(!sent, "append(sent = true) while records are unsent");
            self.file_unsent += 1;
        }
    }

    /// A new active segment (the previous one was synced).
    pub(super) fn rolled(&mut self, first: u64, file: Arc<File>) {
        self.segments.insert(first, Segment::new(first));
        self.active = first;
        self.active_file = file;
        if self.file_unsent == 0 {
            self.snap();
        }
    }

    /// With nothing unsent ahead, the cursor moves to the end of what is
    /// written: `append(sent = true)` is then legal and the segments behind
    /// can go.
    pub(super) fn snap(&mut self) {
        debug_assert_eq!(self.file_unsent, 0);
        let size = self.segments.get(&self.active).map_or(0, |s| s.size);
        let end = Cursor {
            segment: self.active,
            offset: size,
            seq: self.written_seq + 1,
        };
        if self.cursor != end {
            self.cursor = end;
            self.epoch += 1;
            self.settle();
        }
    }

    /// Moves fully released segments behind the cursor to `dead`; whether any.
    pub(super) fn settle(&mut self) -> bool {
        let done: Vec<u64> = self
            .segments
            .range(..self.cursor.segment)
            .filter(|(_, s)| s.live == 0)
            .map(|(&first, _)| first)
            .collect();
        for &first in &done {
            self.bury(first);
        }
        !done.is_empty()
    }

    /// Hands a segment to the thread for deletion.
    fn bury(&mut self, first: u64) {
        if let Some(segment) = self.segments.remove(&first) {
            self.dead.push((first, segment.size));
            self.deleting += 1;
        }
    }

    /// Marks `seq` delivered; whether a segment became deletable.
    pub(super) fn release(&mut self, seq: u64) -> bool {
        let Some((&first, segment)) = self.segments.range_mut(..=seq).next_back() else {
            tracing::debug!(target: "auditlog_kafka", seq, "spool: release of an unknown record");
            return false;
        };
        if !segment.clear(seq) {
            tracing::debug!(target: "auditlog_kafka", seq, "spool: release of a record not outstanding");
            return false;
        }
        let segment_done = segment.live == 0;
        self.released += 1;
        self.outstanding -= 1;
        self.acks.push((first, seq));
        if self.retry.remove(&seq).is_none() && seq >= self.cursor.seq {
            // Released before it was taken.
            self.file_unsent -= 1;
            if self.file_unsent == 0 {
                self.snap();
            }
        }
        // (`snap` may have settled it already.)
        if segment_done && first < self.cursor.segment {
            self.bury(first);
        }
        !self.dead.is_empty()
    }

    /// Takes the cursor past records up to `seq` (exclusive) of its segment,
    /// to byte `offset`; `handed` of them were handed out.
    pub(super) fn advance(&mut self, offset: u64, seq: u64, handed: u64) {
        let segment = &self.segments[&self.cursor.segment];
        let passed = segment.count_live(self.cursor.seq..seq);
        if passed > handed {
            // They stay outstanding (on disk, reported at the next open).
            tracing::error!(
                target: "auditlog_kafka",
                segment = segment.first,
                "{} spooled records could not be read back; skipped until the spool is reopened",
                passed - handed,
            );
        }
        self.file_unsent -= passed.min(self.file_unsent);
        self.cursor.offset = offset;
        self.cursor.seq = self.cursor.seq.max(seq);
        if self.file_unsent == 0 {
            self.snap();
        }
    }

    /// Moves the cursor from the end of a finished segment to the next one.
    pub(super) fn next_segment(&mut self) {
        let Some(&next) = self
            .segments
            .range(self.cursor.segment + 1..)
            .next()
            .map(|(f, _)| f)
        else {
            return;
        };
        let size = self.segments[&self.cursor.segment].size;
        self.advance(size, next, 0);
        if self.cursor.segment < next && self.file_unsent > 0 {
            self.cursor = Cursor {
                segment: next,
                offset: 0,
                seq: next,
            };
            self.settle();
        }
    }
}
