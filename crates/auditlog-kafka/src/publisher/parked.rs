//! Messages librdkafka refused for lack of queue space (`QueueFull`),
//! waiting for delivery progress on a thread of their own.
//!
//! The gate keeps librdkafka's queue (sized at twice the capacity) from
//! filling, unless its own limits (`queue.buffering.max.messages`,
//! `queue.buffering.max.kbytes`) are set lower. A refused message is
//! already accepted, and sealed into the chain if there is one, so it is
//! neither dropped nor spun on: it is parked here, in order, and later
//! messages queue behind it. The publisher returns at once; the parking
//! thread (started on the first refusal) sends them when a delivery report
//! says librdkafka made room — never holding the chain lock, never on a
//! runtime's worker. A message still parked after `message.timeout.ms`
//! fails, counted, as it would have in librdkafka's queue.
//!
//! With a spool the spool is that backlog: refused records go back to it
//! and its feeder sends them on delivery progress.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::message::OwnedHeaders;

use crate::lock::lock;

/// After a refusal with no delivery report since, look again after this
/// long: librdkafka frees a message a moment after its report.
const RECHECK: Duration = Duration::from_millis(10);
/// How often an idle parking thread checks that its publisher still lives.
const IDLE: Duration = Duration::from_secs(1);

/// The parked messages, in order.
#[derive(Debug, Default)]
pub(super) struct Parked {
    queue: Mutex<VecDeque<Message>>,
    /// `queue`'s length, readable without the lock.
    len: AtomicUsize,
    /// Signalled by delivery reports while messages are parked.
    progress: Condvar,
    /// Whether the parking thread was started.
    pub(super) started: AtomicBool,
}

/// One refused message, owned.
#[derive(Debug)]
pub(super) struct Message {
    pub(super) json: Vec<u8>,
    pub(super) key: Option<Vec<u8>>,
    pub(super) headers: Option<OwnedHeaders>,
    pub(super) ticket: usize,
    /// When it fails if still here.
    pub(super) deadline: Instant,
}

/// The parked queue, locked; its length is published when it is dropped.
pub(super) struct ParkedQueue<'a> {
    queue: MutexGuard<'a, VecDeque<Message>>,
    len: &'a AtomicUsize,
}

impl Parked {
    pub(super) fn is_empty(&self) -> bool {
        self.len.load(Relaxed) == 0
    }

    /// Locks the queue: what is parked stays in order while it is held.
    pub(super) fn lock(&self) -> ParkedQueue<'_> {
        ParkedQueue {
            queue: lock(&self.queue),
            len: &self.len,
        }
    }

    /// A delivery report came: librdkafka has (or soon has) room.
    pub(super) fn progress(&self) {
        if !self.is_empty() {
            self.progress.notify_one();
        }
    }

    /// Wakes the parking thread: a message was parked.
    pub(super) fn wake(&self) {
        self.progress.notify_one();
    }

    /// Takes every parked message out (at shutdown's deadline).
    pub(super) fn take_all(&self) -> Vec<Message> {
        self.lock().queue.drain(..).collect()
    }

    /// Waits for a delivery report, or a while: a short one while messages
    /// wait, a long one when none do.
    pub(super) fn wait_for_progress(&self) {
        let queue = lock(&self.queue);
        // Decided under the lock: a message parked since is not left
        // waiting for the idle period.
        let wait = if queue.is_empty() { IDLE } else { RECHECK };
        let _ = self
            .progress
            .wait_timeout(queue, wait)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
    }
}

impl std::ops::Deref for ParkedQueue<'_> {
    type Target = VecDeque<Message>;

    fn deref(&self) -> &Self::Target {
        &self.queue
    }
}

impl std::ops::DerefMut for ParkedQueue<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.queue
    }
}

impl Drop for ParkedQueue<'_> {
    fn drop(&mut self) {
        self.len.store(self.queue.len(), Relaxed);
    }
}
