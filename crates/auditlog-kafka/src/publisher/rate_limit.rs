//! At most one warning per interval: a broker that is away for minutes
//! must not flood the log with one line per event.

use std::time::{Duration, Instant};

/// How often a warning of one kind may go out.
const WARN_INTERVAL: Duration = Duration::from_secs(1);

/// At most one warning per interval; the rest are counted into the next.
#[derive(Debug, Default)]
pub(super) struct RateLimit {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimit {
    /// `Some(suppressed since the last warning)` when a warning may go out.
    pub(super) fn allow(&mut self) -> Option<u64> {
        let now = Instant::now();
        match self.last {
            Some(last) if now.duration_since(last) < WARN_INTERVAL => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_limited_and_the_rest_counted_into_the_next() {
        let mut limit = RateLimit::default();
        assert_eq!(limit.allow(), Some(0));
        assert_eq!(limit.allow(), None);
        assert_eq!(limit.allow(), None);
        // As if the interval had passed.
        limit.last = Instant::now().checked_sub(WARN_INTERVAL);
        assert_eq!(limit.allow(), Some(2));
        assert_eq!(limit.allow(), None);
    }
}
