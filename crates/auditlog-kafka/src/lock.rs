//! The crate's one policy for poisoned locks: take the guard anyway.
//!
//! A panic while a lock is held (a bug, or a user's callback) must not turn
//! every later publish into a panic too: that would stop auditing for the
//! life of the process, a blind spot worse than the bug. Each lock here
//! protects state that stays consistent between statements (counters,
//! queues, the chain sealer advances in one step), so the guard of a
//! poisoned lock is used as is. The spool's locks go through it too.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, recovering the guard if a panic poisoned it.
pub(crate) fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
