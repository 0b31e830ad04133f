//! The durable spool: a write-ahead log of audit records on local disk, so
//! that an accepted event is delivered eventually or is still on disk.
//!
//! # Format
//!
//! A directory holding a `LOCK` file (locked while a spool has it open) and
//! segment files `<first seq, 20 digits>.wal`, each a sequence of records:
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `AUDW` |
//! | 4 | body length, `u32` LE (at most 16 MiB) |
//! | 4 | CRC-32 (IEEE) of the body, `u32` LE |
//! | 8 | body: seq, `u64` LE |
//! | 4 | key length, `u32` LE (`u32::MAX`: no key) |
//! | n | key |
//! | rest | payload |
//!
//! Seqs start at 1 and grow by one across segments. A segment is finished
//! (fdatasynced, then the next one is created and the directory synced)
//! when the next record would take it past `segment_bytes`. Released
//! (delivered) seqs are appended, `u64` LE, to `<first seq>.ack` beside
//! their segment, without fsync: a lost ack costs a duplicate, never an
//! event. A segment whose records are all released is deleted with its
//! ack file, once the read cursor is past it.
//!
//! At open, each segment is read in order; records acked are skipped, the
//! others are replayed. A bad record (magic, length, CRC, short read) is
//! skipped up to the next offset where a valid record starts; with none
//! after it, the last segment is cut there (a torn tail), an earlier one
//! keeps the region and reports it.
//!
//! # Files at rest
//!
//! The directory is created `0700` (its parent synced) and refused at open
//! when another user owns it or group or others can write to it; every file
//! in it is created `0600` (older ones are made so at open). No file is
//! opened through a symbolic link, and only regular files of this user are
//! read, written or cut (see [`auditlog_sink::owner_only`]). A segment or
//! ack file that is not one, or cannot be read, is renamed `<name>.corrupt`
//! and reported ([`Recovery::moved_aside`]): its records are not replayed,
//! and nothing it points to is touched.

mod config;
mod read;
mod record;
mod recover;
mod segment;
mod state;
mod sync;
mod write;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(all(test, unix))]
mod tests_at_rest;

use std::fmt;
use std::fs::{self, File, TryLockError};
use std::io;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::lock::lock;
use auditlog_sink::owner_only;
pub use config::{Fsync, SpoolConfig, SpoolFull};
use read::Reader;
pub use recover::{CorruptRecord, MovedAside, Recovery};
use segment::Segment;
use state::{Cursor, State};
use sync::{Maintenance, SyncCtl, SyncedView};
use write::Writer;

/// Counters now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpoolStats {
    /// Bytes of segment files.
    pub bytes: u64,
    /// Segment files.
    pub segments: u64,
    /// Records appended since open.
    pub appended: u64,
    /// Records released (delivered) since open.
    pub released: u64,
    /// Records appended or recovered, not released.
    pub outstanding: u64,
    /// Records waiting to be taken (recovered, spilled or retried).
    pub unsent: u64,
    /// Records handed back by `retry` since open.
    pub retried: u64,
    /// Every record up to this seq is on disk (fdatasynced).
    pub synced_seq: u64,
    /// The last seq appended (or recovered).
    pub last_seq: u64,
}

/// A record as written and replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpoolRecord {
    pub(crate) seq: u64,
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) payload: Vec<u8>,
}

/// Why `append` did not write a record.
#[derive(Debug)]
pub(crate) enum AppendError {
    /// The record would take the spool past `max_bytes`.
    Full,
    /// Writing failed (the segment is left as it was), or the record is
    /// too large.
    Io(io::Error),
}

impl fmt::Display for AppendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppendError::Full => f.write_str("the audit spool is full"),
            AppendError::Io(error) => write!(f, "writing to the audit spool: {error}"),
        }
    }
}

impl std::error::Error for AppendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AppendError::Full => None,
            AppendError::Io(error) => Some(error),
        }
    }
}

/// An open spool directory. `Send + Sync`: share it in an `Arc`.
pub(crate) struct Spool {
    core: Arc<SpoolCore>,
    thread: Option<JoinHandle<()>>,
    /// Held (locked) until the spool is dropped.
    _lock: File,
}

/// What the spool handle, its users and the sync thread share. Lock order:
/// `writer`, `reader` and `maintenance` each before `state`; `sync` is
/// taken last (nothing is locked while it is held).
#[derive(Debug)]
struct SpoolCore {
    config: SpoolConfig,
    writer: Mutex<Writer>,
    state: Mutex<State>,
    /// Notified when segments are deleted (room comes back).
    room: tokio::sync::Notify,
    reader: Mutex<Reader>,
    sync: Mutex<SyncCtl>,
    /// Wakes the thread.
    sync_wake: Condvar,
    /// Wakes `wait_synced` callers.
    synced_cv: Condvar,
    synced_tx: tokio::sync::watch::Sender<SyncedView>,
    maintenance: Mutex<Maintenance>,
    /// The last seq written, for the thread's wake-up test.
    written: AtomicU64,
    /// fdatasyncs done since open (group commit shows as fewer than appends).
    fdatasyncs: AtomicU64,
    /// Held by a test: the thread's fdatasyncs wait, as on a slow disk.
    #[cfg(test)]
    sync_gate: Mutex<()>,
}

impl SpoolCore {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl Spool {
    /// Opens (creating it `0700` if needed) and locks the directory,
    /// recovers what it holds and starts the sync thread. Fails if another
    /// spool, in this process or another, has the directory open, or if
    /// the directory is another user's or writable by group or others.
    pub(crate) fn open(config: &SpoolConfig) -> io::Result<(Spool, Recovery)> {
        let dir = config.dir();
        owner_only::create_dir_all(dir)?;
        owner_only::check_dir(dir)
            .map_err(|error| io::Error::new(error.kind(), format!("audit spool: {error}")))?;
        let lock = lock_dir(dir)?;
        let recover::Recovered {
            mut segments,
            next_seq,
            report,
        } = recover::recover(dir)?;
        let reuse = segments
            .last_key_value()
            .is_some_and(|(&first, s)| first == next_seq && s.size == 0);
        let file = if reuse {
            // Its seqs are handed out again (after a torn tail, maybe seqs
            // acked in a previous life): old acks must not hide them.
            match fs::remove_file(segment::ack_path(dir, next_seq)) {
                // Its removal made durable: an ack back after a crash would
                // release the new records that reuse its seqs (a silent loss).
                Ok(()) => owner_only::sync_dir(dir)?,
                Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
                Err(_) => {}
            }
            segment::open(
                owner_only::options().append(true),
                &segment::wal_path(dir, next_seq),
            )?
        } else {
            segments.insert(next_seq, Segment::new(next_seq));
            segment::create(dir, next_seq)?
        };
        let file = Arc::new(file);
        let last = next_seq - 1;
        let first_unsent = segments.values().find(|s| s.live > 0).map(|s| s.first);
        let start = first_unsent.unwrap_or(next_seq);
        let mut state = State {
            bytes: segments.values().map(|s| s.size).sum(),
            segments,
            active: next_seq,
            active_file: file.clone(),
            written_seq: last,
            cursor: Cursor {
                segment: start,
                offset: 0,
                seq: start,
            },
            epoch: 0,
            file_unsent: report.records,
            retry: Default::default(),
            acks: Vec::new(),
            dead: Vec::new(),
            deleting: 0,
            appended: 0,
            released: 0,
            retried: 0,
            outstanding: report.records,
        };
        state.settle();
        let synced = SyncedView {
            synced: last,
            failed: false,
        };
        let shared = Arc::new(SpoolCore {
            config: config.clone(),
            writer: Mutex::new(Writer::new(file, next_seq, 0, next_seq)),
            state: Mutex::new(state),
            room: tokio::sync::Notify::new(),
            reader: Mutex::new(Reader::default()),
            sync: Mutex::new(SyncCtl {
                requested: last,
                synced: last,
                ..SyncCtl::default()
            }),
            sync_wake: Condvar::new(),
            synced_cv: Condvar::new(),
            synced_tx: tokio::sync::watch::Sender::new(synced),
            maintenance: Mutex::new(Maintenance::default()),
            written: AtomicU64::new(last),
            fdatasyncs: AtomicU64::new(0),
            #[cfg(test)]
            sync_gate: Mutex::new(()),
        });
        shared.maintain(); // segments fully released before this open go now
        let thread = std::thread::Builder::new()
            .name("auditlog-spool-sync".into())
            .spawn({
                let shared = shared.clone();
                move || shared.run()
            })?;
        let spool = Spool {
            core: shared,
            thread: Some(thread),
            _lock: lock,
        };
        Ok((spool, report))
    }

    /// Writes a record (one write syscall) and returns its seq: 1 for the
    /// first ever, then one more each time, across reopens. `sent = true`
    /// says the caller sends it itself (the record counts as taken); only
    /// right when [`has_unsent`](Self::has_unsent) is false, or it is sent
    /// again after the older ones (a duplicate). `Full` when it would take
    /// the spool past `max_bytes`; on a write error the segment is cut
    /// back to its previous length.
    pub(crate) fn append(
        &self,
        key: Option<&[u8]>,
        payload: &[u8],
        sent: bool,
    ) -> Result<u64, AppendError> {
        self.core.append(key, payload, sent)
    }

    /// Whether records wait to be taken (recovered, spilled or retried).
    pub(crate) fn has_unsent(&self) -> bool {
        self.core.state().unsent() > 0
    }

    /// Up to `max` of the oldest unsent records, retried ones first, each
    /// in seq order; they count as taken until `release` or `retry`. Reads
    /// the segment files (the page cache, usually) outside the state lock;
    /// concurrent calls take turns.
    pub(crate) fn take_unsent(&self, max: usize) -> io::Result<Vec<SpoolRecord>> {
        self.core.take_unsent(max)
    }

    /// Hands a taken record back (its delivery failed): `take_unsent`
    /// returns it again, before the other unsent records.
    pub(crate) fn retry(&self, record: SpoolRecord) {
        let seq = record.seq;
        let mut state = self.core.state();
        let taken = seq < state.cursor.seq && !state.retry.contains_key(&seq);
        if !(taken && state.is_live(seq)) {
            tracing::debug!(target: "auditlog_kafka", seq, "spool: retry of a record not taken");
            return;
        }
        state.retried += 1;
        state.retry.insert(seq, record);
    }

    /// Marks a record delivered: it is never replayed. A segment whose
    /// records are all delivered is deleted (by the sync thread, at once).
    /// Unknown seqs and second releases are ignored.
    pub(crate) fn release(&self, seq: u64) {
        if self.core.state().release(seq) {
            self.core.request_maintenance();
        }
    }

    /// Blocks until record `seq` is fdatasynced: one fdatasync is started
    /// at once for every waiter of the moment (group commit), whatever the
    /// policy (`Fsync::Every` only bounds how long a record nobody waits
    /// for stays unsynced). After an fdatasync has
    /// failed, returns that error for every record not synced before.
    pub(crate) fn wait_synced(&self, seq: u64) -> io::Result<()> {
        self.core.wait_synced(seq)
    }

    /// [`wait_synced`](Self::wait_synced) for async callers: does not block
    /// the runtime's thread.
    pub(crate) async fn synced(&self, seq: u64) -> io::Result<()> {
        self.core.synced(seq).await
    }

    /// Waits until a record of `bytes` (as encoded) fits, or `deadline`;
    /// whether it fits. Woken when segments are deleted: no polling.
    pub(crate) async fn wait_for_room(&self, bytes: u64, deadline: tokio::time::Instant) -> bool {
        let max = self.core.config.max_bytes_limit();
        if bytes > max {
            return false;
        }
        let fits = || self.core.state().bytes + bytes <= max;
        loop {
            let freed = self.core.room.notified();
            tokio::pin!(freed);
            // Registered before looking: a deletion in between still wakes it.
            freed.as_mut().enable();
            if fits() {
                return true;
            }
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                return fits();
            }
        }
    }

    /// Counters now.
    pub(crate) fn stats(&self) -> SpoolStats {
        let mut stats = {
            let state = self.core.state();
            SpoolStats {
                bytes: state.bytes,
                segments: state.segments.len() as u64 + state.deleting,
                appended: state.appended,
                released: state.released,
                outstanding: state.outstanding,
                unsent: state.unsent(),
                retried: state.retried,
                synced_seq: 0,
                last_seq: state.written_seq,
            }
        };
        stats.synced_seq = lock(&self.core.sync).synced;
        stats
    }

    /// The settings it was opened with.
    pub(crate) fn config(&self) -> &SpoolConfig {
        &self.core.config
    }

    /// Writes pending acks and deletes released segments now.
    #[cfg(test)]
    pub(crate) fn flush_acks(&self) {
        self.core.maintain();
    }

    /// fdatasyncs of segments done since open.
    #[cfg(test)]
    fn fdatasyncs(&self) -> u64 {
        self.core
            .fdatasyncs
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The next write fails after `bytes`, as with a full disk.
    #[cfg(test)]
    fn fail_next_write_after(&self, bytes: usize) {
        self.core.writer.lock().unwrap().fail_after = Some(bytes);
    }
}

impl Drop for Spool {
    /// Stops the sync thread after a last fdatasync of what was written,
    /// acks written and released segments deleted; then unlocks.
    fn drop(&mut self) {
        lock(&self.core.sync).stop = true;
        self.core.sync_wake.notify_all();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                self.core.sync_now();
                self.core.maintain();
            }
        }
    }
}

impl fmt::Debug for Spool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spool")
            .field("dir", &self.core.config.dir())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Locks `dir/LOCK` for this spool's lifetime.
fn lock_dir(dir: &Path) -> io::Result<File> {
    let file = segment::open(
        owner_only::options().read(true).write(true).create(true),
        &dir.join("LOCK"),
    )?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            format!(
                "the audit spool {} is already open (its LOCK is held by another spool, in this process or another)",
                dir.display()
            ),
        )),
        Err(TryLockError::Error(error)) => Err(io::Error::new(
            error.kind(),
            format!("cannot lock the audit spool {}: {error}", dir.display()),
        )),
    }
}
