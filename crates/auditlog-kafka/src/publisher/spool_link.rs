//! The spool as the publisher uses it: its policies, the messages to write
//! back into it, and the signals that wake the feeder.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::lock::lock;
use crate::spool::{Fsync, Recovery, Spool, SpoolConfig, SpoolFull};

/// Room kept free in the spool before an event is sealed: a chained event
/// must not take a number and then find no room.
pub(super) const ROOM_RESERVE: u64 = 64 * 1024;
/// The feeder looks at the spool at least this often.
const FEED_POLL: Duration = Duration::from_millis(10);
/// After a failed delivery, retries wait this long: no hot loop while the
/// broker refuses.
const RETRY_BACKOFF: Duration = Duration::from_secs(1);

/// The spool and how the publisher uses it; shared with the delivery
/// callbacks and the feeder.
pub(super) struct SpoolLink {
    pub(super) spool: Spool,
    pub(super) write_ahead: bool,
    pub(super) fsync_always: bool,
    pub(super) when_full: SpoolFull,
    max_bytes: u64,
    pub(super) recovery: Recovery,
    respill: Mutex<Vec<Respill>>,
    last_failure: Mutex<Option<Instant>>,
    woken: Mutex<bool>,
    wake: Condvar,
    /// Set when the feeder stopped for lack of room (in the gate or in
    /// librdkafka's queue): the next delivery report wakes it.
    pub(super) starved: AtomicBool,
    /// Cleared when shutdown has given up: nothing more is sent.
    pub(super) feeding: AtomicBool,
    pub(super) feeder: Mutex<Option<JoinHandle<()>>>,
}

/// A message sent around the spool whose delivery failed: its key and
/// payload, to be written into the spool.
#[derive(Debug)]
pub(super) struct Respill {
    pub(super) key: Option<Vec<u8>>,
    pub(super) payload: Vec<u8>,
}

impl std::fmt::Debug for SpoolLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpoolLink")
            .field("dir", &self.spool.config().dir())
            .field("write_ahead", &self.write_ahead)
            .field("stats", &self.spool.stats())
            .finish_non_exhaustive()
    }
}

impl SpoolLink {
    pub(super) fn open(config: &SpoolConfig) -> std::io::Result<Self> {
        let (spool, recovery) = Spool::open(config)?;
        Ok(SpoolLink {
            spool,
            write_ahead: config.is_write_ahead(),
            fsync_always: config.fsync_policy() == Fsync::Always,
            when_full: config.full_policy(),
            max_bytes: config.max_bytes_limit(),
            recovery,
            respill: Mutex::new(Vec::new()),
            last_failure: Mutex::new(None),
            woken: Mutex::new(false),
            wake: Condvar::new(),
            starved: AtomicBool::new(false),
            feeding: AtomicBool::new(true),
            feeder: Mutex::new(None),
        })
    }

    /// Whether an event (of any usual size) fits now.
    pub(super) fn has_room(&self) -> bool {
        self.spool.stats().bytes + ROOM_RESERVE <= self.max_bytes
    }

    /// Waits until an event (of any usual size) fits, or `deadline`;
    /// whether it does. Room comes back when a whole segment is delivered.
    pub(super) async fn room_by(&self, deadline: tokio::time::Instant) -> bool {
        self.spool.wait_for_room(ROOM_RESERVE, deadline).await
    }

    pub(super) fn wake(&self) {
        *lock(&self.woken) = true;
        self.wake.notify_one();
    }

    /// Waits to be woken, or `FEED_POLL`.
    fn wait(&self) {
        let woken = lock(&self.woken);
        let (mut woken, _) = self
            .wake
            .wait_timeout_while(woken, FEED_POLL, |woken| !*woken)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *woken = false;
    }

    /// The feeder stopped for lack of room; a delivery report wakes it.
    pub(super) fn starve(&self) {
        self.starved.store(true, Relaxed);
    }

    /// A delivery report came: room for what waits, if the feeder waited.
    pub(super) fn progress(&self) {
        if self.starved.swap(false, Relaxed) {
            self.wake();
        }
    }

    /// Keeps a message sent around the spool, whose delivery failed, to be
    /// written into it by the feeder.
    pub(super) fn respill(&self, key: Option<Vec<u8>>, payload: Vec<u8>) {
        lock(&self.respill).push(Respill { key, payload });
    }

    /// The messages kept by [`respill`](Self::respill) so far.
    pub(super) fn take_respill(&self) -> Vec<Respill> {
        std::mem::take(&mut *lock(&self.respill))
    }

    pub(super) fn delivery_failed(&self) {
        *lock(&self.last_failure) = Some(Instant::now());
        self.wake();
    }

    /// Whether retries wait after a failed delivery.
    pub(super) fn backing_off(&self) -> bool {
        lock(&self.last_failure).is_some_and(|at| at.elapsed() < RETRY_BACKOFF)
    }

    /// Starts the feeder: `feed` runs when woken (or every `FEED_POLL`)
    /// until shutdown stops feeding or `feed` says the publisher is gone.
    pub(super) fn spawn_feeder(
        self: &Arc<Self>,
        mut feed: impl FnMut(&SpoolLink) -> bool + Send + 'static,
    ) -> std::io::Result<()> {
        let link = self.clone();
        let handle = std::thread::Builder::new()
            .name("auditlog-spool-feeder".into())
            .spawn(move || loop {
                link.wait();
                if !link.feeding.load(Relaxed) || !feed(&link) {
                    return;
                }
            })?;
        *lock(&self.feeder) = Some(handle);
        Ok(())
    }
}
