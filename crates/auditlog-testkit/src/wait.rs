//! Waiting for something another thread or task does, without timing
//! assertions: a slow machine makes a test slower, never red.

use std::time::{Duration, Instant};

/// How long [`eventually`] and [`VerifyingSink::wait_for`] wait before
/// failing: generous, reached only when something is broken.
///
/// [`VerifyingSink::wait_for`]: crate::VerifyingSink::wait_for
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Polls `done` every millisecond until it returns true.
///
/// # Panics
///
/// When `done` is still false after [`PATIENCE`], naming `what` never
/// happened.
pub fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::eventually;

    #[test]
    fn returns_once_the_condition_holds() {
        let polls = AtomicUsize::new(0);
        eventually("three polls", || polls.fetch_add(1, Ordering::Relaxed) >= 2);
        assert_eq!(polls.load(Ordering::Relaxed), 3);
    }
}
