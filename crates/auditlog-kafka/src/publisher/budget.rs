//! The gate's second bound: bytes of sealed JSON accepted and not yet
//! delivered or failed.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use tokio::sync::Notify;

/// Bytes in flight against a budget. Each message's bytes are taken when
/// it is admitted and given back on its delivery report (or when it fails
/// to be sent), like the event permits of the gate.
#[derive(Debug)]
pub(super) struct ByteGate {
    held: AtomicU64,
    max: u64,
    /// Woken when bytes come back.
    room: Notify,
}

impl ByteGate {
    pub(super) fn new(max: u64) -> Self {
        ByteGate {
            held: AtomicU64::new(0),
            max,
            room: Notify::new(),
        }
    }

    /// Takes `bytes` if they fit in what is left: never past the budget.
    pub(super) fn try_take(&self, bytes: u64) -> bool {
        self.held
            .fetch_update(Relaxed, Relaxed, |held| {
                held.checked_add(bytes).filter(|&total| total <= self.max)
            })
            .is_ok()
    }

    /// Whether anything is left. For chained events, whose size is known
    /// only once sealed into the chain (too late to refuse them): admitted
    /// while this holds, they may pass the budget by one message.
    pub(super) fn has_room(&self) -> bool {
        self.held.load(Relaxed) < self.max
    }

    /// Takes `bytes` whether or not they fit (see [`has_room`](Self::has_room)).
    pub(super) fn take(&self, bytes: u64) {
        self.held.fetch_add(bytes, Relaxed);
    }

    /// Gives back what a message took.
    pub(super) fn give_back(&self, bytes: u64) {
        self.held.fetch_sub(bytes, Relaxed);
        self.room.notify_waiters();
    }

    pub(super) fn held(&self) -> u64 {
        self.held.load(Relaxed)
    }

    /// Waits until `bytes` fit, or `deadline`; whether they fit. Wakes only
    /// when bytes come back: no polling.
    pub(super) async fn wait_for(&self, bytes: u64, deadline: tokio::time::Instant) -> bool {
        if bytes > self.max {
            return false;
        }
        loop {
            let returned = self.room.notified();
            tokio::pin!(returned);
            returned.as_mut().enable();
            if self.held.load(Relaxed) + bytes <= self.max {
                return true;
            }
            if tokio::time::timeout_at(deadline, returned).await.is_err() {
                return self.held.load(Relaxed) + bytes <= self.max;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn exact_admission_never_passes_the_budget() {
        let gate = ByteGate::new(100);
        assert!(gate.try_take(60));
        assert!(!gate.try_take(41));
        assert!(gate.try_take(40));
        assert!(!gate.has_room());
        gate.give_back(60);
        assert!(gate.has_room());
        assert_eq!(gate.held(), 40);
        assert!(!gate.try_take(u64::MAX));
    }

    #[tokio::test]
    async fn a_waiter_wakes_when_bytes_come_back() {
        let gate = std::sync::Arc::new(ByteGate::new(100));
        assert!(gate.try_take(100));
        let later = tokio::time::Instant::now() + Duration::from_secs(60);
        let waiter = tokio::spawn({
            let gate = gate.clone();
            async move { gate.wait_for(30, later).await }
        });
        tokio::task::yield_now().await;
        gate.give_back(50);
        assert!(waiter.await.unwrap());
        let soon = tokio::time::Instant::now() + Duration::from_millis(10);
        assert!(!gate.wait_for(101, soon).await, "never fits");
    }
}
