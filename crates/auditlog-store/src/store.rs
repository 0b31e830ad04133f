//! A bounded, shareable in-memory store of sealed events.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use auditlog_core::AuditEvent;
use auditlog_seal::SigningKey;
use auditlog_sink::{owner_only, AuditSink, SinkError};

use crate::Query;

/// A ring buffer of sealed events: the newest `capacity` are kept, older
/// ones are evicted and counted. Cheap to clone (shared), safe across threads.
///
/// It is an [`AuditSink`], so it is what a service's own tests publish to
/// when they assert "this request emitted this event".
#[derive(Debug, Clone)]
pub struct MemoryStore {
    inner: Arc<StoreState>,
}

#[derive(Debug)]
struct StoreState {
    capacity: usize,
    key: Option<SigningKey>,
    events: RwLock<VecDeque<Arc<AuditEvent>>>,
    inserted: AtomicU64,
    evicted: AtomicU64,
    subscribers: Mutex<Vec<Subscriber>>,
    next_subscriber: AtomicU64,
}

#[derive(Debug)]
struct Subscriber {
    id: u64,
    sender: SyncSender<Arc<AuditEvent>>,
    dropped: Arc<AtomicU64>,
}

/// Counters of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreStats {
    /// Events held now.
    pub len: usize,
    /// Events ever inserted.
    pub inserted: u64,
    /// Events evicted to make room.
    pub evicted: u64,
    /// Live subscriptions.
    pub subscribers: usize,
}

impl MemoryStore {
    /// A store keeping the newest `capacity` events (at least one), sealed
    /// without a signature.
    pub fn new(capacity: usize) -> Self {
        Self::build(capacity, None)
    }

    /// As [`new`](Self::new), signing each event with `key`.
    pub fn with_signing_key(capacity: usize, key: SigningKey) -> Self {
        Self::build(capacity, Some(key))
    }

    fn build(capacity: usize, key: Option<SigningKey>) -> Self {
        let capacity = capacity.max(1);
        MemoryStore {
            inner: Arc::new(StoreState {
                capacity,
                key,
                events: RwLock::new(VecDeque::with_capacity(capacity.min(1 << 16))),
                inserted: AtomicU64::new(0),
                evicted: AtomicU64::new(0),
                subscribers: Mutex::new(Vec::new()),
                next_subscriber: AtomicU64::new(0),
            }),
        }
    }

    /// Seals and stores `event`, evicting the oldest when full, and forwards
    /// it to every subscriber without waiting on any of them.
    pub fn insert(&self, mut event: AuditEvent) -> Arc<AuditEvent> {
        auditlog_seal::seal(&mut event, self.inner.key.as_ref());
        let event = Arc::new(event);
        {
            let mut events = write(&self.inner.events);
            if events.len() == self.inner.capacity {
                events.pop_front();
                self.inner.evicted.fetch_add(1, Ordering::Relaxed);
            }
            events.push_back(Arc::clone(&event));
        }
        self.inner.inserted.fetch_add(1, Ordering::Relaxed);
        self.forward(&event);
        event
    }

    fn forward(&self, event: &Arc<AuditEvent>) {
        let mut subscribers = lock(&self.inner.subscribers);
        subscribers.retain(|s| match s.sender.try_send(Arc::clone(event)) {
            Ok(()) => true,
            // A slow subscriber loses events (counted) instead of blocking.
            Err(TrySendError::Full(_)) => {
                s.dropped.fetch_add(1, Ordering::Relaxed);
                true
            }
            // A subscriber that went away is unsubscribed.
            Err(TrySendError::Disconnected(_)) => false,
        });
    }

    /// Events matching `query`, newest first, at most `query.limit`.
    pub fn query(&self, query: &Query) -> Vec<Arc<AuditEvent>> {
        let events = read(&self.inner.events);
        events
            .iter()
            .rev()
            .filter(|e| query.matches(e))
            .take(query.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    /// The newest `n` events, newest first.
    pub fn recent(&self, n: usize) -> Vec<Arc<AuditEvent>> {
        read(&self.inner.events)
            .iter()
            .rev()
            .take(n)
            .cloned()
            .collect()
    }

    /// All events, oldest first.
    pub fn snapshot(&self) -> Vec<Arc<AuditEvent>> {
        read(&self.inner.events).iter().cloned().collect()
    }

    /// How many events it holds.
    pub fn len(&self) -> usize {
        read(&self.inner.events).len()
    }

    /// True when it holds no event.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counters, for metrics and tests.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            len: self.len(),
            inserted: self.inner.inserted.load(Ordering::Relaxed),
            evicted: self.inner.evicted.load(Ordering::Relaxed),
            subscribers: lock(&self.inner.subscribers).len(),
        }
    }

    /// Writes every event, oldest first, as one JSON array of published
    /// events. The file is created `0600` (an existing one is truncated,
    /// made `0600` and rewritten); a symbolic link at `path`, or a file that
    /// is not a regular file of this user, is refused and left as it was.
    pub fn export_json_array(&self, path: impl AsRef<Path>) -> io::Result<usize> {
        self.export(path.as_ref(), b"[", b",", b"]\n")
    }

    /// Writes every event, oldest first, as JSON lines of published events;
    /// the file as with [`export_json_array`](Self::export_json_array).
    pub fn export_json_lines(&self, path: impl AsRef<Path>) -> io::Result<usize> {
        self.export(path.as_ref(), b"", b"", b"")
    }

    fn export(
        &self,
        path: &Path,
        open: &[u8],
        separator: &[u8],
        close: &[u8],
    ) -> io::Result<usize> {
        let events = self.snapshot();
        let mut out = BufWriter::new(create(path)?);
        out.write_all(open)?;
        let mut line = Vec::with_capacity(2048);
        for (i, event) in events.iter().enumerate() {
            if i > 0 {
                out.write_all(separator)?;
            }
            line.clear();
            event.write_published(&mut line);
            if separator.is_empty() {
                line.push(b'\n');
            }
            out.write_all(&line)?;
        }
        out.write_all(close)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(events.len())
    }

    /// Forwards every event inserted from now on; up to `buffer` wait
    /// unread, beyond that the subscription loses them (counted) so that
    /// publishing never waits for it. Dropping the subscription unsubscribes.
    pub fn subscribe(&self, buffer: usize) -> Subscription {
        let (sender, receiver) = mpsc::sync_channel(buffer.max(1));
        let id = self.inner.next_subscriber.fetch_add(1, Ordering::Relaxed);
        let dropped = Arc::new(AtomicU64::new(0));
        lock(&self.inner.subscribers).push(Subscriber {
            id,
            sender,
            dropped: Arc::clone(&dropped),
        });
        Subscription {
            id,
            receiver,
            dropped,
            store: Arc::downgrade(&self.inner),
        }
    }
}

/// An export file: audit data, so readable by its owner only, and never a
/// file someone else chose (a planted symbolic link, another user's file):
/// checked before it is truncated.
fn create(path: &Path) -> io::Result<File> {
    let file = owner_only::open(owner_only::options().write(true).create(true), path)?;
    owner_only::restrict(&file)?;
    file.set_len(0)?;
    Ok(file)
}

/// Events forwarded from a [`MemoryStore`] as they are inserted.
#[derive(Debug)]
pub struct Subscription {
    id: u64,
    receiver: Receiver<Arc<AuditEvent>>,
    dropped: Arc<AtomicU64>,
    store: Weak<StoreState>,
}

impl Subscription {
    /// The next event, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Arc<AuditEvent>> {
        self.receiver.recv_timeout(timeout).ok()
    }

    /// Every event waiting now, without blocking.
    pub fn drain(&self) -> Vec<Arc<AuditEvent>> {
        self.receiver.try_iter().collect()
    }

    /// Events this subscription lost because its buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Stops forwarding; events already buffered can still be drained.
    pub fn unsubscribe(&self) {
        if let Some(store) = self.store.upgrade() {
            lock(&store.subscribers).retain(|s| s.id != self.id);
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.unsubscribe();
    }
}

#[async_trait]
impl AuditSink for MemoryStore {
    async fn publish(&self, event: AuditEvent) -> Result<(), SinkError> {
        self.insert(event);
        Ok(())
    }

    async fn flush(&self, _timeout: Duration) -> Result<(), SinkError> {
        Ok(())
    }
}

// A panic elsewhere while holding a lock leaves consistent data here (every
// critical section is a single push/pop/retain), so poisoning is ignored.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}
