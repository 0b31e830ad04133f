//! The spool's background thread: fdatasyncs (periodically, and on demand
//! for whoever waits for durability, one for every waiter at the time:
//! group commit), writes acks and deletes fully released segments.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

use auditlog_sink::owner_only;

use super::segment;
use super::{Fsync, SpoolCore};
use crate::lock::lock;

/// Acks are written, and deletions done, at least this often.
const TICK: Duration = Duration::from_millis(10);

/// Shared between the thread, the waiters and the writer.
#[derive(Debug, Default)]
pub(super) struct SyncCtl {
    /// Highest seq a waiter wants synced.
    pub(super) requested: u64,
    /// Every seq up to this one is on disk.
    pub(super) synced: u64,
    /// The first fdatasync failure: from then on the spool cannot tell
    /// what reached the disk, so `synced` stops and waiters get this.
    pub(super) failure: Option<(io::ErrorKind, String)>,
    /// Work for the thread: acks or deletions.
    pub(super) maintain: bool,
    pub(super) stop: bool,
}

/// What async waiters watch.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SyncedView {
    pub(super) synced: u64,
    pub(super) failed: bool,
}

/// Ack files kept open by the thread.
#[derive(Debug, Default)]
pub(super) struct Maintenance {
    ack_files: HashMap<u64, File>,
}

impl SpoolCore {
    fn ctl(&self) -> MutexGuard<'_, SyncCtl> {
        lock(&self.sync)
    }

    /// Asks the thread for an fdatasync covering `seq`: with `Fsync::Every`
    /// too, a waiter should not sit out the rest of the period.
    pub(super) fn request_sync(&self, seq: u64) {
        let mut ctl = self.ctl();
        if seq > ctl.requested {
            ctl.requested = seq;
            self.sync_wake.notify_one();
        }
    }

    /// Asks the thread to write acks and delete segments now.
    pub(super) fn request_maintenance(&self) {
        self.ctl().maintain = true;
        self.sync_wake.notify_one();
    }

    pub(super) fn wait_synced(&self, seq: u64) -> io::Result<()> {
        self.request_sync(seq);
        let mut ctl = self.ctl();
        loop {
            if let Some(result) = sync_result(&ctl, seq) {
                return result;
            }
            ctl = self.synced_cv.wait(ctl).unwrap_or_else(|e| e.into_inner());
        }
    }

    pub(super) async fn synced(&self, seq: u64) -> io::Result<()> {
        self.request_sync(seq);
        let mut view = self.synced_tx.subscribe();
        // The sender lives as long as `self`: this cannot fail.
        let _ = view.wait_for(|v| v.synced >= seq || v.failed).await;
        sync_result(&self.ctl(), seq).unwrap_or(Ok(()))
    }

    /// Records the outcome of an fdatasync that covered records up to `seq`.
    pub(super) fn sync_done(&self, seq: u64, result: io::Result<()>) {
        self.fdatasyncs.fetch_add(1, Relaxed);
        let mut ctl = self.ctl();
        match result {
            Ok(()) if ctl.failure.is_none() => ctl.synced = ctl.synced.max(seq),
            Ok(()) => {}
            Err(error) => {
                tracing::error!(
                    target: "auditlog_kafka",
                    "audit spool {}: fdatasync failed, records after {} may not be durable: {error}",
                    self.config.dir().display(),
                    ctl.synced,
                );
                ctl.failure.get_or_insert((error.kind(), error.to_string()));
            }
        }
        let view = SyncedView {
            synced: ctl.synced,
            failed: ctl.failure.is_some(),
        };
        drop(ctl);
        self.synced_cv.notify_all();
        // Two syncs (a roll's and the thread's) may get here in either
        // order: never move the view back.
        self.synced_tx.send_modify(|v| {
            v.synced = v.synced.max(view.synced);
            v.failed |= view.failed;
        });
    }

    /// fdatasyncs the active segment if anything was written since the
    /// last time (finished segments were synced when they were rolled).
    pub(super) fn sync_now(&self) {
        #[cfg(test)]
        let _gate = lock(&self.sync_gate);
        let (file, seq) = {
            let state = self.state();
            (state.active_file.clone(), state.written_seq)
        };
        if seq > self.ctl().synced {
            self.sync_done(seq, file.sync_data());
        }
    }

    fn sync_wanted(&self, ctl: &SyncCtl) -> bool {
        ctl.failure.is_none()
            && ctl.requested > ctl.synced
            && self.written.load(Acquire) > ctl.synced
    }

    /// The thread's body, until `stop`: then a last sync and maintenance.
    pub(super) fn run(&self) {
        let every = match self.config.fsync_policy() {
            Fsync::Every(every) => Some(every.max(Duration::from_millis(1))),
            _ => None,
        };
        let tick = every.map_or(TICK, |every| every.min(TICK));
        let mut last_sync = Instant::now();
        loop {
            let (stop, wanted) = {
                let deadline = Instant::now() + tick;
                let mut ctl = self.ctl();
                while !(ctl.stop || ctl.maintain || self.sync_wanted(&ctl)) {
                    let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                        break;
                    };
                    ctl = self
                        .sync_wake
                        .wait_timeout(ctl, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                ctl.maintain = false;
                (ctl.stop, self.sync_wanted(&ctl))
            };
            let due = every.is_some_and(|every| last_sync.elapsed() >= every);
            if stop || wanted || due {
                last_sync = Instant::now();
                self.sync_now();
            }
            self.maintain();
            if stop {
                return;
            }
        }
    }

    /// Writes pending acks and deletes dead segments.
    pub(super) fn maintain(&self) {
        let mut maintenance = lock(&self.maintenance);
        let (acks, dead) = {
            let mut state = self.state();
            (
                std::mem::take(&mut state.acks),
                std::mem::take(&mut state.dead),
            )
        };
        let mut by_segment: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        for (first, seq) in acks {
            if !dead.iter().any(|&(d, _)| d == first) {
                by_segment
                    .entry(first)
                    .or_default()
                    .extend_from_slice(&seq.to_le_bytes());
            }
        }
        for (first, bytes) in by_segment {
            if let Err(error) = self.write_acks(&mut maintenance, first, &bytes) {
                // Only costs duplicates after a restart.
                tracing::warn!(target: "auditlog_kafka", "audit spool: writing acks of segment {first}: {error}");
            }
        }
        if dead.is_empty() {
            return;
        }
        let dir = self.config.dir();
        let mut freed = 0;
        for &(first, bytes) in &dead {
            maintenance.ack_files.remove(&first);
            match segment::remove(dir, first) {
                Ok(()) => freed += bytes,
                Err(error) => tracing::error!(
                    target: "auditlog_kafka",
                    "audit spool: cannot delete delivered segment {}: {error}",
                    segment::wal_path(dir, first).display(),
                ),
            }
        }
        if let Err(error) = owner_only::sync_dir(dir) {
            tracing::warn!(target: "auditlog_kafka", "audit spool {}: syncing the directory: {error}", dir.display());
        }
        let mut state = self.state();
        state.bytes -= freed;
        state.deleting -= dead.len() as u64;
        drop(state);
        self.room.notify_waiters();
    }

    fn write_acks(
        &self,
        maintenance: &mut Maintenance,
        first: u64,
        bytes: &[u8],
    ) -> io::Result<()> {
        let file = match maintenance.ack_files.entry(first) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => entry.insert(segment::open(
                owner_only::options().create(true).append(true),
                &segment::ack_path(self.config.dir(), first),
            )?),
        };
        file.write_all(bytes)
    }
}

/// `Some` once `seq` is synced or syncing has failed.
fn sync_result(ctl: &SyncCtl, seq: u64) -> Option<io::Result<()>> {
    if ctl.synced >= seq {
        return Some(Ok(()));
    }
    let (kind, message) = ctl.failure.as_ref()?;
    Some(Err(io::Error::new(
        *kind,
        format!("the audit spool could not fdatasync: {message}"),
    )))
}
