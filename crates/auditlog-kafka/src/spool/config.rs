//! Settings of a spool directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;
/// The smallest segment file worth rolling to.
const MIN_SEGMENT_BYTES: u64 = 4 * KIB;

/// Settings of a durable spool directory, set builder-style (read back
/// what a publisher runs with from the publisher, e.g.
/// [`KafkaPublisher::spool_stats`](crate::KafkaPublisher::spool_stats)).
///
/// ```
/// use std::time::Duration;
/// use auditlog_kafka::{Fsync, KafkaConfig, SpoolConfig, SpoolFull};
///
/// let spool = SpoolConfig::new("/var/spool/audit")
///     .fsync("always".parse::<Fsync>()?)
///     .max_bytes(256 << 20)
///     .when_full(SpoolFull::Wait(Duration::from_millis(200)));
/// assert_eq!(spool.dir(), std::path::Path::new("/var/spool/audit"));
/// let config = KafkaConfig::new("localhost:9092").spool(spool);
/// # let _ = config;
/// # Ok::<(), auditlog_kafka::ParseSettingError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SpoolConfig {
    dir: PathBuf,
    fsync: Fsync,
    max_bytes: u64,
    segment_bytes: u64,
    when_full: SpoolFull,
    write_ahead: bool,
}

/// When spooled records reach the disk (fdatasync).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fsync {
    /// A record is durable once `wait_synced` for it returns; callers
    /// waiting at the same time share one fdatasync (group commit).
    Always,
    /// A background thread fdatasyncs at this interval: a crash of the
    /// machine may lose what was written since the last one. A durable
    /// publish (`publish_durable`) does not wait for the interval: it asks
    /// for an fdatasync at once, shared with other waiters.
    Every(Duration),
}

/// What the publisher does with an event when the spool is full
/// ([`SpoolConfig::max_bytes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpoolFull {
    /// Wait up to this long for room (delivered records free it), then
    /// refuse the event.
    Wait(Duration),
    /// Refuse the event at once (it may still be sent from memory, without
    /// the spool's guarantee).
    DropNewest,
    /// Refuse the event at once with an error.
    Fail,
}

impl SpoolConfig {
    /// A spool in `dir` (created if missing), with defaults: fsync every
    /// 10 ms, at most 1 GiB of segment files in 64 MiB segments, wait up to
    /// 1 s for room when full, every event spooled (write-ahead).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SpoolConfig {
            dir: dir.into(),
            fsync: Fsync::Every(Duration::from_millis(10)),
            max_bytes: GIB,
            segment_bytes: 64 * MIB,
            when_full: SpoolFull::Wait(Duration::from_secs(1)),
            write_ahead: true,
        }
    }

    /// When records are fdatasynced.
    pub fn fsync(mut self, fsync: Fsync) -> Self {
        self.fsync = fsync;
        self
    }

    /// Bound on the total size of the segment files: beyond it, appending
    /// reports the spool full until delivered records are deleted.
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Size at which a segment file is finished and a new one started
    /// (clamped to at most a quarter of `max_bytes`, at least 4 KiB).
    /// Segments are deleted whole, once all their records are delivered.
    pub fn segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = bytes;
        self
    }

    /// What the publisher does with an event when the spool is full.
    pub fn when_full(mut self, policy: SpoolFull) -> Self {
        self.when_full = policy;
        self
    }

    /// `true` (the default): every event is written to the spool before it
    /// is sent. `false`: only events that cannot be sent at once (queue
    /// full, broker away) are.
    pub fn write_ahead(mut self, on: bool) -> Self {
        self.write_ahead = on;
        self
    }

    /// The spool directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// When records are fdatasynced.
    pub(crate) fn fsync_policy(&self) -> Fsync {
        self.fsync
    }

    /// What happens to an event when the spool is full.
    pub(crate) fn full_policy(&self) -> SpoolFull {
        self.when_full
    }

    /// Whether every event is spooled, not only those that cannot be sent at once.
    pub(crate) fn is_write_ahead(&self) -> bool {
        self.write_ahead
    }

    /// Bound on the total size of the segment files, in bytes.
    pub(crate) fn max_bytes_limit(&self) -> u64 {
        self.max_bytes
    }

    /// Size at which a segment is finished, after clamping.
    pub(crate) fn segment_bytes_limit(&self) -> u64 {
        self.segment_bytes
            .min(self.max_bytes / 4)
            .max(MIN_SEGMENT_BYTES)
    }
}
