//! `take_unsent`: the retry queue first, then the segment files from the
//! read cursor, read outside the state lock.

use std::io;

use super::record::Scanner;
use super::segment;
use super::state::Cursor;
use super::{SpoolCore, SpoolRecord};
use crate::lock::lock;

/// Bytes read per pass at most (beyond one record), to bound the time
/// between two looks at the state.
const PASS_BYTES: u64 = 4 << 20;

/// The file the cursor is in, kept open between calls.
#[derive(Debug, Default)]
pub(super) struct Reader {
    open: Option<(u64, Scanner)>,
}

/// What one pass reads: from `cursor`, up to `end` of its segment.
struct Plan {
    cursor: Cursor,
    epoch: u64,
    end: u64,
    /// The last seq written when `end` was taken.
    written: u64,
    finished: bool,
    skips: Vec<(u64, u64)>,
}

/// What one pass read.
struct Batch {
    records: Vec<SpoolRecord>,
    /// Offset after the last byte read, and the seq after the last record.
    offset: u64,
    next_seq: u64,
}

impl SpoolCore {
    pub(super) fn take_unsent(&self, max: usize) -> io::Result<Vec<SpoolRecord>> {
        let mut out = Vec::new();
        let mut reader = lock(&self.reader);
        {
            let mut state = self.state();
            while out.len() < max {
                let Some((_, record)) = state.retry.pop_first() else {
                    break;
                };
                out.push(record);
            }
        }
        while out.len() < max {
            let plan = {
                let state = self.state();
                if state.file_unsent == 0 {
                    break;
                }
                let segment = &state.segments[&state.cursor.segment];
                Plan {
                    cursor: state.cursor,
                    epoch: state.epoch,
                    end: segment.size,
                    written: state.written_seq,
                    finished: segment.first != state.active,
                    skips: segment.skips.clone(),
                }
            };
            if plan.cursor.offset >= plan.end {
                let mut state = self.state();
                if (state.cursor, state.epoch) != (plan.cursor, plan.epoch) {
                    continue;
                }
                if plan.finished {
                    state.next_segment();
                } else {
                    // Records counted but not found (the file changed under
                    // us): `advance` reports them and stops counting them.
                    state.advance(plan.end, plan.written + 1, 0);
                    if state.file_unsent > 0 && state.written_seq == plan.written {
                        // Counted without a bit behind it: never spin on it.
                        tracing::error!(target: "auditlog_kafka", "audit spool: unsent count off by {}", state.file_unsent);
                        state.file_unsent = 0;
                        state.snap();
                    }
                }
                continue;
            }
            let batch = match reader.read(self.config.dir(), &plan, max - out.len()) {
                Ok(batch) => batch,
                Err(error) => {
                    reader.open = None;
                    if out.is_empty() {
                        return Err(error);
                    }
                    // What is already taken goes out; the error comes again next time.
                    break;
                }
            };
            let mut state = self.state();
            if (state.cursor, state.epoch) != (plan.cursor, plan.epoch) {
                continue; // jumped meanwhile: read again from where it is
            }
            let before = out.len();
            out.extend(batch.records.into_iter().filter(|r| state.is_live(r.seq)));
            state.advance(batch.offset, batch.next_seq, (out.len() - before) as u64);
        }
        Ok(out)
    }
}

impl Reader {
    fn read(&mut self, dir: &std::path::Path, plan: &Plan, max: usize) -> io::Result<Batch> {
        let first = plan.cursor.segment;
        if self.open.as_ref().is_none_or(|(open, _)| *open != first) {
            let file = segment::open(
                auditlog_sink::owner_only::options().read(true),
                &segment::wal_path(dir, first),
            )?;
            self.open = Some((first, Scanner::new(file, plan.end)));
        }
        let (_, scanner) = self.open.as_mut().expect("opened");
        scanner.set_limit(plan.end);
        let mut batch = Batch {
            records: Vec::new(),
            offset: plan.cursor.offset,
            next_seq: plan.cursor.seq,
        };
        let stop = plan.cursor.offset.saturating_add(PASS_BYTES);
        while batch.records.len() < max && batch.offset < plan.end && batch.offset < stop {
            let pos = batch.offset;
            if let Some(&(_, bytes)) = plan.skips.iter().find(|(at, _)| *at == pos) {
                batch.offset += bytes; // corrupt, reported at recovery
                continue;
            }
            match scanner.frame(pos)? {
                Ok(frame) => {
                    batch.next_seq = frame.seq + 1;
                    batch.offset = frame.end;
                    batch.records.push(SpoolRecord {
                        seq: frame.seq,
                        key: frame.key.map(<[u8]>::to_vec),
                        payload: frame.payload.to_vec(),
                    });
                }
                Err(reason) => {
                    let next = scanner.resync(pos + 1)?.unwrap_or(plan.end);
                    tracing::error!(
                        target: "auditlog_kafka",
                        "audit spool: {} changed on disk, {} bytes at offset {pos} skipped: {reason}",
                        segment::wal_path(dir, first).display(),
                        next - pos,
                    );
                    batch.offset = next;
                }
            }
        }
        Ok(batch)
    }
}
